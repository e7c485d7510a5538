"""Which datasets each check runs on: the synthetic catalogue (``--ifuqa``), a user's products
(``--ifuqa-data``) and, with ``--ifuqa-power-matrix``, each known issue's defect dataset
(every check: the ones its row targets expected to fail, the others as cross-talk probes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ifuqa._pytest.options import (
    OPTION_DATA,
    OPTION_DEFECT,
    OPTION_MANIFEST,
    OPTION_RUN,
    active,
    cache_root,
    power_on,
    selected_scenarios,
)
from ifuqa.util.known_issues import ISSUES
from ifuqa.verdicts.power import PowerRow

datasets_key = pytest.StashKey[dict]()


def dataset_params(config: pytest.Config) -> list[tuple[str, Any]]:
    """(id, handle) of every dataset of the run; handles are built lazily by the fixture."""
    cached = config.stash[datasets_key].get("params")
    if cached is not None:
        return cached
    params: list[tuple[str, Any]] = []
    if config.getoption(OPTION_RUN):
        from ifuqa.builds.synthetic import catalogue_spec

        defects = tuple(sorted(config.getoption(OPTION_DEFECT)))
        for name in selected_scenarios(config):
            spec = catalogue_spec(name, defects=defects)
            params.append((spec.label, spec))
        if power_on(config):
            params.extend(_defect_params(config, params))
    for path_group in _user_datasets(config):
        params.append((path_group.name, path_group))
    config.stash[datasets_key]["params"] = params
    return params


def _defect_params(config: pytest.Config, fixed: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The defect datasets of the power matrix for the run's scenarios (see
    :mod:`ifuqa.verdicts.power`); stashes ``power`` (defect label -> row) and ``power_layout``."""
    from ifuqa.builds.power_rows import power_datasets

    labels = {spec.scenario: label for label, spec in fixed}
    rows, layout, extra = {}, [], []
    for row, spec in power_datasets(labels, cache_root(config)):
        rows[spec.label] = row
        layout.append((row, labels[row.scenario], spec.label))
        extra.append((spec.label, spec))
    config.stash[datasets_key].update(power=rows, power_layout=layout)
    return extra


def _user_datasets(config: pytest.Config) -> list[Any]:
    manifest = config.getoption(OPTION_MANIFEST)
    found = []
    if manifest:  # a batch of `ifuqa check` (ifuqa.cluster.checks)
        import json

        from ifuqa.products.dataset import Dataset

        data = json.loads(Path(manifest).read_text(encoding="utf-8"))
        found = [Dataset.from_json(d) for d in data["datasets"]]
    paths = config.getoption(OPTION_DATA)
    if not paths:
        return found
    from ifuqa.products.discovery import discover

    return found + discover([Path(p) for p in paths])


def generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``ifuqa_scenario_name`` and ``ifuqa_dataset``."""
    if "ifuqa_scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("ifuqa_scenario_name", selected_scenarios(metafunc.config))
    if "ifuqa_dataset" in metafunc.fixturenames:
        params = dataset_params(metafunc.config) if active(metafunc.config) else []
        if not params:
            metafunc.parametrize("ifuqa_dataset", [pytest.param(
                None, marks=pytest.mark.skip(reason="no ifuqa datasets: run with --ifuqa or "
                                                    "--ifuqa-data PATH"))], ids=["no-data"])
            return
        power = metafunc.config.stash[datasets_key].get("power")
        if power:  # defect datasets: targets expected to fail, every other check a probe
            params = power_params(metafunc.function.__name__, _issues_of(metafunc), params,
                                  power)
        from ifuqa._pytest.limitations import limitation_params

        params = limitation_params(metafunc.function.__name__, params)  # regression scenes
        metafunc.parametrize("ifuqa_dataset", [h for _, h in params], ids=[i for i, _ in params],
                             indirect=True, scope="session")


def _issues_of(metafunc: pytest.Metafunc) -> set[str]:
    """Known issues of a check, from its ``ns_ifu0N`` markers."""
    names = {m.name for m in metafunc.definition.iter_markers()}
    return {i for i in ISSUES if i.lower().replace("-", "_") in names}


def power_params(check: str, issues: Iterable[str], params: Iterable[tuple[str, Any]],
                 rows: Mapping[str, PowerRow]) -> list[tuple[str, Any]]:
    """The dataset parameters of one check when the power matrix runs.

    Fixed datasets pass through. Every defect dataset (its label a key of ``rows``) is kept
    for every check:

    * a check its row targets is marked ``xfail(strict=True, raises=Failed)``: it must fail its
      metric there — a pass (no power) fails the run, and so does any other exception (a broken
      build is not evidence of power);
    * any other check (another issue's, or one the row exempts) is a cross-talk probe, marked
      ``xfail(strict=False, raises=Failed)`` with a reason starting with
      :data:`ifuqa.verdicts.power.PROBE_REASON`: :class:`ifuqa._pytest.power_hooks.PowerHooks`
      turns its pass into a plain pass and names what failed in the reason of a failure
      (cross-talk, reported in the power matrix); any other exception still fails the run.

    Parameters
    ----------
    check : str
        The check's function name.
    issues : iterable of str
        Its known issues (from its ``ns_ifu0N`` markers).
    params : iterable of (str, handle)
        The run's datasets, (label, handle).
    rows : mapping
        Defect dataset label -> :class:`PowerRow`.

    Returns
    -------
    list of (str, handle or pytest.param)
    """
    import pytest

    from ifuqa.verdicts.power import PROBE_REASON

    issues = set(issues)
    out: list[tuple[str, Any]] = []
    for label, handle in params:
        row = rows.get(label)
        if row is None:
            out.append((label, handle))
            continue
        if any(row.targets_check(check, issue) for issue in issues):
            mark = pytest.mark.xfail(strict=True, raises=pytest.fail.Exception,
                                     reason=f"power matrix: must fail on {label} "
                                            f"({row.defect})")
        else:
            expected = row.crosstalk_reason(check)
            exempt = row.exempt_reason(check) if row.issue in issues else None
            why = (f"expected cross-talk: {expected}" if expected
                   else f"exempt: {exempt}" if exempt else "")
            mark = pytest.mark.xfail(strict=False, raises=pytest.fail.Exception,
                                     reason=f"{PROBE_REASON} on {label} ({row.defect})"
                                            + (f"; {why}" if why else ""))
        out.append((label, pytest.param(handle, marks=mark, id=label)))
    return out
