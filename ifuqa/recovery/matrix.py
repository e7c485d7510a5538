"""The real-data power matrix: each truth-free check on a clean product and on the same product
with its defect injected at 2.5 × its threshold, and every other check on that injected product
(cross-talk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifuqa.products import Dataset
from ifuqa.recovery.targets import POWER_FACTOR, Target, targets_for
from ifuqa.recovery.trials import Outcome, injected_dataset, prepared_dataset, run_checks

__all__ = ["PowerEntry", "injection_size", "real_power_matrix"]


@dataclass
class PowerEntry:
    """One target of the real-data power matrix on one product.

    Attributes
    ----------
    target : Target
        The injected defect and its check.
    size : float
        The injected size (in the target's unit).
    clean : Outcome
        The check on the clean product.
    injected : Outcome
        The check on the product with the defect.
    cross_talk : dict
        Every other check on the injected product: check -> Outcome.
    clean_others : dict
        Every check on the clean product.
    """

    target: Target
    size: float
    clean: Outcome
    injected: Outcome
    cross_talk: dict[str, Outcome] = field(default_factory=dict)
    clean_others: dict[str, Outcome] = field(default_factory=dict)

    @property
    def power(self) -> str:
        """``"yes"`` (clean passes, injected fails), ``"no"`` (injected does not fail, or clean
        fails too), ``"not applicable"`` (the check skipped: the reason is in ``clean``)."""
        if self.clean.verdict == "skip" and self.injected.verdict == "skip":
            return "not applicable"
        if self.injected.verdict == "fail" and self.clean.verdict in ("pass", "undecided"):
            return "yes"
        return "no"

    @property
    def cross_failures(self) -> list[str]:
        """Checks of *other* known issues that fail on the injected product but not on the clean
        one (a check that sees a defect that is not its own)."""
        return [check for check, outcome in self.cross_talk.items()
                if outcome.verdict == "fail"
                and self.clean_others.get(check, outcome).verdict != "fail"
                and outcome.issue != self.target.issue]


def injection_size(target: Target, thresholds: Any, dataset: Dataset,
                   factor: float = POWER_FACTOR) -> float:
    """The injection size: ``factor`` × the target check's threshold on this dataset (scaled
    with its PSF for a position), or the target's documented symptom size."""
    from ifuqa.evaluate._common import limit_for
    from ifuqa.products import read_cube

    if target.fixed_size is not None:
        return float(target.fixed_size)
    cube = read_cube(dataset.s3d[0]) if dataset.s3d else None
    return float(factor * limit_for(thresholds, target.threshold, cube).value)


def real_power_matrix(dataset: Dataset, thresholds: Any, workdir: Path, *,
                      targets: list[Target] | None = None) -> list[PowerEntry]:
    """The real-data power matrix of one dataset.

    Parameters
    ----------
    dataset : Dataset
        A user's (or the project's real) products: an s3d, an x1d, or both.
    thresholds : Thresholds
        The thresholds.
    workdir : path
        Where the injected copies are written (the originals are never written).
    targets : list of Target, optional
        Default: every target the dataset's products allow.

    Returns
    -------
    list of PowerEntry
    """
    kinds = {kind for kind in ("s3d", "x1d") if getattr(dataset, kind)}
    chosen = targets if targets is not None else targets_for(kinds)
    clean = prepared_dataset(dataset, Path(workdir))
    clean_outcomes = run_checks(clean, thresholds)
    entries = []
    for target in chosen:
        size = injection_size(target, thresholds, clean)
        injected, _ = injected_dataset(clean, target, size, dict(target.positions[0]),
                                       Path(workdir))
        outcomes = run_checks(injected, thresholds)
        entries.append(PowerEntry(target, size, clean_outcomes[target.check],
                                  outcomes[target.check],
                                  {c: o for c, o in outcomes.items() if c != target.check},
                                  clean_outcomes))
    return entries
