"""Completeness of a check on real products: the share of injected defects it catches against
their size, over several positions, and the smallest size caught at 95 %."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.metrics.result import MetricResult
from ifuqa.products import Dataset
from ifuqa.recovery.matrix import injection_size
from ifuqa.recovery.targets import Target
from ifuqa.recovery.trials import injected_dataset, prepared_dataset, run_check

__all__ = ["SIZE_FACTORS", "CompletenessCurve", "completeness", "size_at"]

SIZE_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
"""Injected sizes, in units of the check's threshold."""


@dataclass(frozen=True)
class CompletenessCurve:
    """The share of injections a check catches at each size.

    Attributes
    ----------
    target : Target
        The defect and its check.
    sizes : numpy.ndarray
        Injected sizes (the target's unit).
    fraction : numpy.ndarray
        Share of the positions at which the check failed, at each size.
    threshold : float
        The check's threshold on this dataset (the target's unit, when it has one).
    trials : int
        Positions per size.
    """

    target: Target
    sizes: np.ndarray
    fraction: np.ndarray
    threshold: float
    trials: int

    @property
    def size95(self) -> float:
        """Smallest size caught at ≥ 95 % (linear between the sampled sizes); NaN when never."""
        return size_at(self.sizes, self.fraction, 0.95)

    def as_result(self, dataset: str) -> MetricResult:
        """The curve as a record: the size caught at 95 % against the size the power matrix
        injects (a check with power on these data catches its defect below that)."""
        from ifuqa.recovery.targets import POWER_FACTOR

        limit = POWER_FACTOR * self.threshold
        size95 = self.size95
        value = size95 if np.isfinite(size95) else float(self.sizes.max()) * 2.0
        return MetricResult(
            self.target.issue, f"completeness95_{self.target.injection}", float(value),
            self.target.unit, float(limit),
            message=(f"{self.target.check} catches an injected {self.target.injection} in 95 % "
                     f"of {self.trials} positions from {size95:.3g} {self.target.unit}"
                     if np.isfinite(size95) else
                     f"{self.target.check} does not catch an injected "
                     f"{self.target.injection} in 95 % of {self.trials} positions up to "
                     f"{self.sizes.max():.3g} {self.target.unit}") + f" on {dataset}",
            plot={"sizes": self.sizes, "fraction": self.fraction, "threshold": self.threshold,
                  "size95": size95, "injection": self.target.injection,
                  "unit": self.target.unit},
            evidence={"trials_per_size": self.trials, "sizes": self.sizes.tolist(),
                      "fraction": self.fraction.tolist(), "check": self.target.check})


def size_at(sizes: np.ndarray, fraction: np.ndarray, level: float) -> float:
    """The smallest size from which the detected fraction stays ≥ ``level`` (linear between
    sampled sizes); NaN when it never does.

    Examples
    --------
    >>> size_at(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, 1.0]), 0.95)
    2.9
    >>> size_at(np.array([1.0, 2.0]), np.array([1.0, 1.0]), 0.95)
    1.0
    """
    sizes = np.asarray(sizes, dtype=float)
    fraction = np.asarray(fraction, dtype=float)
    above = fraction >= level
    if not above[-1]:
        return float("nan")
    first = int(np.flatnonzero(~above)[-1]) + 1 if (~above).any() else 0
    if first == 0:
        return float(sizes[0])
    s0, s1 = sizes[first - 1], sizes[first]
    f0, f1 = fraction[first - 1], fraction[first]
    return float(s0 + (level - f0) / (f1 - f0) * (s1 - s0))


def completeness(dataset: Dataset, target: Target, thresholds: Any, workdir: Path, *,
                 factors: tuple[float, ...] = SIZE_FACTORS) -> CompletenessCurve:
    """Inject ``target``'s defect at each size and position and count how often its check fails.

    Parameters
    ----------
    dataset : Dataset
        The products.
    target : Target
        The defect and its check.
    thresholds : Thresholds
        The thresholds.
    workdir : path
        Where the injected copies go.
    factors : tuple of float
        Sizes in units of the check's threshold (for a target with a documented symptom size,
        in units of that size).

    Returns
    -------
    CompletenessCurve
    """
    clean = prepared_dataset(dataset, Path(workdir))
    unit_size = injection_size(target, thresholds, clean, factor=1.0)
    sizes = np.array([f * unit_size for f in factors])
    caught = np.zeros(sizes.size)
    for i, size in enumerate(sizes):
        for params in target.positions:
            injected, _ = injected_dataset(clean, target, float(size), dict(params),
                                           Path(workdir) / "completeness")
            caught[i] += run_check(target.check, injected, thresholds).verdict == "fail"
    return CompletenessCurve(target, sizes, caught / len(target.positions), unit_size,
                             len(target.positions))
