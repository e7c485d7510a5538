"""How close a scene came to failing (:func:`closeness`), and the targets that steer Hypothesis's
targeted phase toward the limits (a hill climb toward breakdowns).
"""

from __future__ import annotations

from collections.abc import Iterable

from ifuqa.verdicts.record import Record

__all__ = ["closeness", "steer"]


def closeness(records: Iterable[Record]) -> float:
    """How close a scene comes to failing: the largest value / threshold of its measured
    metrics (threshold / value for lower limits; 1 is the limit), 0 when nothing was measured.

    Parameters
    ----------
    records : iterable of Record

    Returns
    -------
    float

    Examples
    --------
    >>> from ifuqa.verdicts.record import Record
    >>> closeness([Record("NS-IFU04", "c", "d", "extraction_offset", value=15.0,
    ...                   threshold=30.0, sense="max", verdict="pass"),
    ...            Record("NS-IFU01", "c", "d", "warm_pixel_recall", value=95.0,
    ...                   threshold=90.0, sense="min", verdict="pass")])
    0.947
    """
    return round(max(_ratios(records).values(), default=0.0), 3)


def _ratios(records: Iterable[Record]) -> dict[str, float]:
    """Metric → value / threshold (threshold / value for lower limits), capped at 10; a build
    or check error scores 10."""
    out: dict[str, float] = {}
    for r in records:
        if r.verdict == "error":
            out[f"{r.check}/{r.metric}"] = 10.0
            continue
        if r.value is None or not r.threshold:
            continue
        if r.sense == "min":
            ratio = r.threshold / r.value if r.value > 0 else 10.0
        else:
            ratio = abs(r.value) / r.threshold
        key = f"{r.check}/{r.metric}"
        out[key] = max(out.get(key, 0.0), min(float(ratio), 10.0))
    return out


def steer(issue: str, records: Iterable[Record]) -> None:
    """Tell Hypothesis how close the scene came to failing, per metric (its targeted phase
    then mutates the scenes that came closest to each limit: a hill climb toward
    breakdowns)."""
    from hypothesis import target
    from hypothesis.control import currently_in_test_context

    if not currently_in_test_context():  # the predicate called directly (a benchmark)
        return
    for metric, ratio in sorted(_ratios(records).items()):
        target(ratio, label=f"{issue} {metric} / limit")
