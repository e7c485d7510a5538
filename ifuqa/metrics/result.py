"""The result every metric returns: a value with its unit, the threshold, a verdict, and the data
behind the metric's plot. Pure data; no pytest, no plotting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAIL_SIGMA", "PASS_SIGMA", "VERDICTS", "MetricResult", "verdict_for"]

VERDICTS = ("pass", "fail", "undecided", "skip", "error")
"""``undecided``: the measurement cannot tell whether the limit is met (its uncertainty straddles
it); ``skip``: the metric does not apply to the data; ``error``: no valid value."""

FAIL_SIGMA = 3.0
"""A value fails when it is beyond its limit by more than this many standard uncertainties."""

PASS_SIGMA = 2.0
"""A value passes when its upper (lower) limit, value + this many σ, is within the limit."""


def verdict_for(value: float, threshold: float, sense: str,
                uncertainty: float | None = None) -> str:
    """The verdict of a measured value against its limit, with its uncertainty.

    Without an uncertainty: ``"pass"`` when ``value`` is on the good side of ``threshold``,
    ``"fail"`` otherwise. With a standard uncertainty ``σ`` (upper limit, ``sense="max"``):
    ``"fail"`` when ``value − 3σ > threshold`` (significantly beyond the limit, however noisy
    the data), ``"pass"`` when ``value + 2σ ≤ threshold`` (the upper limit meets it),
    ``"undecided"`` otherwise: the data cannot decide. Mirrored for a lower limit.

    Parameters
    ----------
    value, threshold : float
        Metric value and limit (same unit).
    sense : {"max", "min"}
        ``"max"``: the value must not exceed the threshold; ``"min"``: it must reach it.
    uncertainty : float, optional
        Standard (1σ) uncertainty of ``value``; None or 0: exact.

    Returns
    -------
    str
        One of ``"pass"``, ``"fail"``, ``"undecided"``, ``"error"`` (NaN value).

    Examples
    --------
    >>> verdict_for(1.0, 2.0, "max"), verdict_for(3.0, 2.0, "max"), verdict_for(95.0, 90.0, "min")
    ('pass', 'fail', 'pass')
    >>> verdict_for(float("nan"), 1.0, "max")
    'error'
    >>> verdict_for(2.5, 2.0, "max", 0.1), verdict_for(2.2, 2.0, "max", 0.1)
    ('fail', 'undecided')
    >>> verdict_for(1.7, 2.0, "max", 0.1), verdict_for(1.9, 2.0, "max", 0.1)
    ('pass', 'undecided')
    """
    if value != value:  # NaN
        return "error"
    if sense not in ("max", "min"):
        raise ValueError(f"sense must be 'max' or 'min', not {sense!r}")
    sigma = 0.0 if uncertainty is None or not uncertainty == uncertainty else abs(uncertainty)
    excess = value - threshold if sense == "max" else threshold - value
    if sigma == 0.0:
        return "pass" if excess <= 0 else "fail"
    if excess - FAIL_SIGMA * sigma > 0:
        return "fail"
    if excess + PASS_SIGMA * sigma <= 0:
        return "pass"
    return "undecided"


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
    uncertainty : float or None
        Standard (1σ) uncertainty of ``value`` in ``unit`` (None: exact, or not estimated).
    evidence : dict
        What the verdict rests on, for the record and the report (wavelength bins used, S/N,
        where the threshold comes from, the limit in other units, ...); JSON-serialisable.

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
    uncertainty: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``"pass"``, ``"fail"``, ``"undecided"`` or ``"error"`` (NaN value); see
        :func:`verdict_for`."""
        return verdict_for(float(self.value), float(self.threshold), self.sense,
                           self.uncertainty)

    @property
    def bound(self) -> float:
        """The value's limit on the side that matters: ``value + 2σ`` for an upper limit
        (``value − 2σ`` for a lower one); the value itself when exact."""
        sigma = abs(self.uncertainty or 0.0)
        return float(self.value) + (PASS_SIGMA * sigma if self.sense == "max"
                                    else -PASS_SIGMA * sigma)

    @property
    def passed(self) -> bool:
        """True when the verdict is ``"pass"``."""
        return self.verdict == "pass"

    def describe(self) -> str:
        """``NS-IFU05 wiggle_amplitude = 0.42 % (limit ≤ 1 %): pass — message``; with an
        uncertainty ``0.42 ± 0.1 %``, and for an undecided verdict the limit the data reach."""
        op = "≤" if self.sense == "max" else "≥"
        value = f"{self.value:.4g}"
        if self.uncertainty:
            value += f" ± {self.uncertainty:.2g}"
        verdict = self.verdict
        if verdict == "undecided":
            side = "upper" if self.sense == "max" else "lower"
            verdict = (f"could not decide ({side} limit {self.bound:.4g} {self.unit} at "
                       f"{PASS_SIGMA:g} sigma)")
        return (f"{self.issue} {self.metric} = {value} {self.unit} "
                f"(limit {op} {self.threshold:.4g} {self.unit}): {verdict}"
                + (f" — {self.message}" if self.message else ""))
