"""Metric baselines: the file format, atomic writing, reading, and comparing a value with its
baseline.

File format (``--ifuqa-generate-baseline=PATH``; keys sorted, no timestamps, so the same
metrics always give the same bytes)::

    {"format": "ifuqa-baseline/1",
     "versions": {"ifuqa": ..., "jwst": ..., "stcal": ..., "stdatamodels": ..., "numpy": ...,
                  "astropy": ..., "photutils": ..., "crds_context": ...},
     "datasets": {"bright_point_g395h": {"seed": 0}, "my_reduction": {"seed": null}},
     "metrics": {"<check>": {"<dataset>": {"<metric>": {
         "issue": "NS-IFU05", "value": 0.42, "unit": "%", "sense": "max",
         "threshold": 1.0, "verdict": "pass"}}}}}

``<check>`` is the check's test function name, ``<metric>`` the metric name the check recorded
(for an evaluation that skipped: the evaluation's name, with ``value`` null and ``verdict``
``"skip"``). ``seed`` is the scenario seed of a synthetic dataset (null for a user's products).
An ``ifuqa-results/1`` file (``--ifuqa-results``) can be read as a baseline too.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ifuqa.verdicts.tolerances import Tolerance

__all__ = ["FORMAT", "BaselineError", "Comparison", "build_baseline", "compare_values",
           "entries", "read_baseline", "write_baseline"]

FORMAT = "ifuqa-baseline/1"
RESULTS_FORMAT = "ifuqa-results/1"
ENTRY_FIELDS = ("issue", "value", "unit", "sense", "threshold", "verdict")

STATUSES = ("regressed", "lost", "new", "improved", "gained", "same", "skipped", "missing")
"""Comparison outcomes, worst first:

``regressed``
    worse than the baseline by more than the tolerance (fails);
``lost``
    the baseline has a value, the run none (skipped, NaN or an error; fails);
``new``
    not in the baseline (fails in the gate: the baseline must be regenerated);
``improved``
    better than the baseline by more than the tolerance;
``gained``
    a value where the baseline has none;
``same``
    within the tolerance;
``skipped``
    no value in either;
``missing``
    in the baseline (or run A) but not in this run (not run, e.g. deselected).
"""
FAILING = frozenset({"regressed", "lost", "new"})
COMPARED = frozenset({"regressed", "improved", "same"})


class BaselineError(ValueError):
    """A baseline that cannot be used (unreadable, corrupt, wrong format) or written."""


def _entry(record: Mapping[str, Any]) -> dict[str, Any]:
    entry = {k: record.get(k) for k in ENTRY_FIELDS}
    value = entry["value"]
    if isinstance(value, float) and not math.isfinite(value):
        entry["value"] = None
    return entry


def build_baseline(records: Iterable[Mapping[str, Any]], versions: Mapping[str, str]) -> dict:
    """The baseline of a run's metric records.

    Parameters
    ----------
    records : iterable of dict
        Metric records (as in the results file: ``issue``, ``check``, ``dataset``, ``metric``,
        ``value``, ``unit``, ``sense``, ``threshold``, ``verdict``, and ``seed``, ``nodeid``
        when known).
    versions : mapping
        Versions of the software that produced them.

    Returns
    -------
    dict
        The baseline (see the module docstring).

    Raises
    ------
    BaselineError
        When two records share a check, dataset and metric (the baseline could not tell them
        apart).
    """
    metrics: dict[str, dict[str, dict[str, dict]]] = {}
    datasets: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str, str], str] = {}
    for rec in records:
        key = (str(rec["check"]), str(rec["dataset"]), str(rec["metric"]))
        node = str(rec.get("nodeid", "?"))
        if key in origin:
            raise BaselineError(
                f"two records for check {key[0]!r}, dataset {key[1]!r}, metric {key[2]!r} "
                f"({origin[key]} and {node}): give the metrics distinct names")
        origin[key] = node
        metrics.setdefault(key[0], {}).setdefault(key[1], {})[key[2]] = _entry(rec)
        seed = rec.get("seed")
        if key[1] not in datasets or seed is not None:
            datasets[key[1]] = {"seed": seed}
    return {"format": FORMAT, "versions": dict(versions), "datasets": datasets,
            "metrics": metrics}


def write_baseline(path: Path, baseline: Mapping[str, Any]) -> None:
    """Write a baseline atomically: a temporary file in the same folder, flushed to disk, then
    renamed over ``path``. A run killed while writing leaves the previous file intact.

    Parameters
    ----------
    path : path
        Destination.
    baseline : mapping
        From :func:`build_baseline`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(baseline, fh, indent=1, sort_keys=True, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fail(path: Path, reason: str) -> BaselineError:
    return BaselineError(f"{path}: {reason}")


def _validate(path: Path, data: Any) -> dict:
    if not isinstance(data, dict):
        raise _fail(path, "not an ifuqa baseline (a JSON object was expected)")
    fmt = data.get("format")
    if fmt == RESULTS_FORMAT:
        records = data.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise _fail(path, "results file without a valid 'records' list")
        try:
            return build_baseline(records, data.get("versions") or {})
        except KeyError as exc:
            raise _fail(path, f"a record has no {exc}") from None
    if fmt != FORMAT:
        raise _fail(path, f"not an ifuqa baseline: format {fmt!r}, expected {FORMAT!r} "
                          f"(or {RESULTS_FORMAT!r})")
    for key in ("versions", "datasets", "metrics"):
        if not isinstance(data.get(key), dict):
            raise _fail(path, f"'{key}' must be an object")
    for check, per_dataset in data["metrics"].items():
        if not isinstance(per_dataset, dict):
            raise _fail(path, f"metrics[{check!r}] must be an object")
        for dataset, per_metric in per_dataset.items():
            if not isinstance(per_metric, dict):
                raise _fail(path, f"metrics[{check!r}][{dataset!r}] must be an object")
            for metric, entry in per_metric.items():
                where = f"metrics[{check!r}][{dataset!r}][{metric!r}]"
                if not isinstance(entry, dict) or "value" not in entry:
                    raise _fail(path, f"{where} must be an object with a 'value'")
                value = entry["value"]
                if value is not None and (isinstance(value, bool)
                                          or not isinstance(value, int | float)):
                    raise _fail(path, f"{where}: value must be a number or null, got {value!r}")
                if entry.get("sense") not in (None, "max", "min"):
                    raise _fail(path, f"{where}: sense must be 'max' or 'min'")
    return data


def read_baseline(path: Path) -> dict:
    """Read and validate a baseline (or a results file, converted to a baseline).

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    dict
        The baseline (see the module docstring).

    Raises
    ------
    BaselineError
        When the file is missing, unreadable, not JSON (e.g. truncated), or not a baseline.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read it ({exc})") from None
    if not text.strip():
        raise _fail(path, "empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"corrupt or truncated JSON ({exc})") from None
    return _validate(path, data)


def entries(baseline: Mapping[str, Any]) -> dict[tuple[str, str, str], dict]:
    """Every entry of a baseline keyed by (check, dataset, metric).

    Parameters
    ----------
    baseline : mapping
        From :func:`read_baseline` or :func:`build_baseline`.

    Returns
    -------
    dict
    """
    return {(check, dataset, metric): entry
            for check, per_dataset in baseline["metrics"].items()
            for dataset, per_metric in per_dataset.items()
            for metric, entry in per_metric.items()}


@dataclass(frozen=True)
class Comparison:
    """A metric of the run against its baseline.

    Attributes
    ----------
    status : str
        One of :data:`STATUSES`.
    baseline : float or None
        Baseline value.
    value : float or None
        The run's value.
    change : float or None
        ``value - baseline``.
    allowed : float or None
        The change the tolerance allows (metric unit).
    tolerance : str
        Tolerance name and description.
    """

    status: str
    baseline: float | None
    value: float | None
    change: float | None = None
    allowed: float | None = None
    tolerance: str = ""

    @property
    def fails(self) -> bool:
        """True for ``regressed``, ``lost`` and ``new``."""
        return self.status in FAILING

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def compare_values(baseline: float | None, value: float | None, sense: str | None,
                   tolerance: Tolerance, tolerance_name: str = "") -> Comparison:
    """Compare a value with its baseline.

    Parameters
    ----------
    baseline, value : float or None
        Baseline and new value (None: not measured).
    sense : {"max", "min"} or None
        ``"max"``: larger is worse (an upper-limit metric); ``"min"``: smaller is worse.
        None is taken as ``"max"``.
    tolerance : Tolerance
        The allowed change.
    tolerance_name : str
        Name printed with the tolerance.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> compare_values(0.4, 0.6, "max", Tolerance(0.05, 0.1)).status
    'regressed'
    >>> compare_values(90.0, 95.0, "min", Tolerance(1.0)).status
    'improved'
    """
    label = (f"{tolerance_name}: " if tolerance_name else "") + tolerance.describe()
    if baseline is None and value is None:
        return Comparison("skipped", None, None, tolerance=label)
    if value is None:
        return Comparison("lost", baseline, None, tolerance=label)
    if baseline is None:
        return Comparison("gained", None, value, tolerance=label)
    change = value - baseline
    allowed = tolerance.allowed(baseline)
    worse = change if sense != "min" else -change
    beyond = abs(worse) > allowed and not math.isclose(abs(worse), allowed, rel_tol=1e-9,
                                                       abs_tol=1e-12)
    status = "same" if not beyond else "regressed" if worse > 0 else "improved"
    return Comparison(status, baseline, value, change, allowed, label)
