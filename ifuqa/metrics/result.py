"""The result every metric returns: a value with its unit, the threshold, a verdict, and the data
behind the metric's plot. Pure data; no pytest, no plotting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MetricResult", "verdict_for"]

VERDICTS = ("pass", "fail", "skip", "error")


def verdict_for(value: float, threshold: float, sense: str) -> str:
    """``"pass"`` when ``value`` is on the good side of ``threshold``.

    Parameters
    ----------
    value, threshold : float
        Metric value and limit (same unit).
    sense : {"max", "min"}
        ``"max"``: the value must not exceed the threshold; ``"min"``: it must reach it.

    Examples
    --------
    >>> verdict_for(1.0, 2.0, "max"), verdict_for(3.0, 2.0, "max"), verdict_for(95.0, 90.0, "min")
    ('pass', 'fail', 'pass')
    >>> verdict_for(float("nan"), 1.0, "max")
    'error'
    """
    if value != value:  # NaN
        return "error"
    if sense == "max":
        return "pass" if value <= threshold else "fail"
    if sense == "min":
        return "pass" if value >= threshold else "fail"
    raise ValueError(f"sense must be 'max' or 'min', not {sense!r}")


@dataclass
class MetricResult:
    """What a metric measured.

    Attributes
    ----------
    issue : str
        Known issue the metric tests (e.g. ``"NS-IFU05"``).
    metric : str
        Metric name (e.g. ``"wiggle_amplitude"``).
    value : float
        Measured value, in ``unit``.
    unit : str
        Unit of ``value`` and ``threshold`` (``"%"``, ``"mas"``, ``"mas/um"``, ...).
    threshold : float
        Limit the value is judged against.
    sense : {"max", "min"}
        Whether the threshold is an upper (``"max"``) or lower limit.
    message : str
        One sentence a user can act on.
    plot : dict
        Arrays behind the metric's figure (names documented by each metric).
    details : dict
        Secondary numbers (e.g. slope, per-scale values).

    Examples
    --------
    >>> result = MetricResult("NS-IFU05", "wiggle_amplitude", 0.42, "%", 1.0, message="ok")
    >>> result.passed
    True
    >>> result.describe()
    'NS-IFU05 wiggle_amplitude = 0.42 % (limit ≤ 1 %): pass — ok'
    """

    issue: str
    metric: str
    value: float
    unit: str
    threshold: float
    sense: str = "max"
    message: str = ""
    plot: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``"pass"``, ``"fail"`` or ``"error"`` (NaN value)."""
        return verdict_for(float(self.value), float(self.threshold), self.sense)

    @property
    def passed(self) -> bool:
        """True when the verdict is ``"pass"``."""
        return self.verdict == "pass"

    def describe(self) -> str:
        """``NS-IFU05 wiggle_amplitude = 0.42 % (limit ≤ 1 %): pass — message``."""
        op = "≤" if self.sense == "max" else "≥"
        return (f"{self.issue} {self.metric} = {self.value:.4g} {self.unit} "
                f"(limit {op} {self.threshold:.4g} {self.unit}): {self.verdict}"
                + (f" — {self.message}" if self.message else ""))
