"""Injection–recovery as a check on a user's own products: with its defect injected into a copy
of the user's s3d or x1d, does each truth-free check fail — from which size, and only that check?
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ifuqa.metrics.result import MetricResult
from ifuqa.products import Dataset
from ifuqa.recovery.completeness import completeness
from ifuqa.recovery.matrix import real_power_matrix
from ifuqa.recovery.targets import TARGETS, Target, targets_for

__all__ = ["injection_recovery", "target_named"]


def target_named(injection: str) -> Target:
    """The :data:`~ifuqa.recovery.targets.TARGETS` entry for one injection kind."""
    for target in TARGETS:
        if target.injection == injection:
            return target
    raise KeyError(f"no injection-recovery target {injection!r}; known: "
                   f"{', '.join(t.injection for t in TARGETS)}")


def injection_recovery(dataset: Dataset, injection: str, thresholds: Any,
                       workdir: Path) -> list[MetricResult]:
    """Completeness and cross-talk of one defect's check on a dataset.

    The defect is injected into copies of the dataset's products (never the originals) at
    :data:`~ifuqa.recovery.completeness.SIZE_FACTORS` × the check's threshold and at each of the
    target's positions; the size caught in 95 % of positions must be below the power matrix's
    2.5 × threshold. At 2.5 × threshold every check of another known issue must give the verdict
    it gives on the clean products (no cross-talk).

    Parameters
    ----------
    dataset : Dataset
        The user's products.
    injection : str
        The defect kind (:data:`ifuqa.inject.DEFECTS`).
    thresholds : Thresholds
        The run's thresholds.
    workdir : path
        Where the injected copies are written.

    Returns
    -------
    list of MetricResult
        ``completeness95_<injection>`` and ``cross_talk_<injection>`` (the number of other
        issues' checks that the defect makes fail).

    Raises
    ------
    ifuqa.evaluate.NotApplicable
        When the dataset's products do not allow the injection, or the clean products do not
        pass the check (a check that fails or skips without the defect has nothing to recover).
    """
    from ifuqa.evaluate import NotApplicable

    target = target_named(injection)
    into = "s3d" if injection == "extraction_offset" else target.product
    kinds = {kind for kind in ("s3d", "x1d") if getattr(dataset, kind)}
    if target not in targets_for(kinds):
        raise NotApplicable(f"the {injection} defect is injected into an {into}; "
                            f"{dataset.name} has {', '.join(sorted(kinds)) or 'no s3d or x1d'}")
    entry, = real_power_matrix(dataset, thresholds, Path(workdir) / "power", targets=[target])
    if entry.clean.verdict not in ("pass", "undecided"):
        raise NotApplicable(f"{target.check} does not pass the clean products "
                            f"({entry.clean.verdict}: {entry.clean.message}); "
                            f"there is nothing to recover")
    curve = completeness(dataset, target, thresholds, Path(workdir) / "curve")
    crossed = entry.cross_failures
    cross = MetricResult(
        target.issue, f"cross_talk_{injection}", float(len(crossed)), "checks", 0.0,
        message=(f"the {injection} injected at {entry.size:.3g} {target.unit} makes "
                 + (f"{', '.join(crossed)} fail as well" if crossed else
                    "no check of another known issue fail")),
        evidence={"injected_size": entry.size, "unit": target.unit,
                  "other_checks": {c: o.verdict for c, o in entry.cross_talk.items()},
                  "clean": {c: o.verdict for c, o in entry.clean_others.items()}})
    return [curve.as_result(dataset.name), cross]
