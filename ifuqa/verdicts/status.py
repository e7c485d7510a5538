"""The one status engine: what a metric did against its baseline (or run A against run B).

The regression gate (``--ifuqa-baseline``, :mod:`ifuqa.verdicts.gate`) and ``ifuqa compare``
(:mod:`ifuqa.verdicts.compare`) both call :func:`classify` for every (check, dataset, metric)
key, so they give a metric the same status. They differ only in what fails: the gate fails
``regressed``, ``lost`` and ``new`` (:data:`FAILING`); ``compare`` exits 1 on ``regressed`` and
``lost`` (with ``--strict`` also ``new`` and ``missing``).

A *pair* is a check on a dataset. Whether the other side ran the pair at all decides between a
metric that was lost and one that was not run (deselected), and between a new metric and a skip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ifuqa.verdicts.record import Record
from ifuqa.verdicts.tolerances import Tolerance

__all__ = ["COMPARED", "FAILING", "STATUSES", "Comparison", "classify", "compare_values"]

STATUSES = ("regressed", "lost", "new", "improved", "gained", "same", "skipped", "missing")
"""Comparison outcomes, worst first:

``regressed``
    worse than the baseline by more than the tolerance (fails);
``lost``
    the baseline has a value, the run none (skipped, NaN, an error, or no longer recorded by a
    check that ran on the dataset; fails);
``new``
    a value (or a dataset, check) not in the baseline (fails in the gate: the baseline must be
    regenerated);
``improved``
    better than the baseline by more than the tolerance;
``gained``
    a value where the baseline has none;
``same``
    within the tolerance;
``skipped``
    no value in either (a skip record of a check the baseline knows on this dataset);
``missing``
    in the baseline (or run A) but not in this run: its check did not run on the dataset
    (deselected), or the baseline has no value for it either.
"""
FAILING = frozenset({"regressed", "lost", "new"})
"""What fails a metric's test in the gate."""
COMPARED = frozenset({"regressed", "improved", "same"})
"""The statuses of metrics whose values were compared."""


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
        """JSON-ready fields (a record's ``gate``)."""
        return asdict(self)


def _label(tolerance: Tolerance, name: str, unit: str | None) -> str:
    return (f"{name}: " if name else "") + tolerance.describe(unit or None)


def compare_values(baseline: float | None, value: float | None, sense: str | None,
                   tolerance: Tolerance, tolerance_name: str = "",
                   unit: str | None = None) -> Comparison:
    """Compare a value with its baseline (both recorded).

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
    unit : str, optional
        The metric's unit, printed with the tolerance (default: the tolerance's).

    Returns
    -------
    Comparison
        ``skipped``, ``lost``, ``gained``, ``same``, ``regressed`` or ``improved``.

    Examples
    --------
    >>> compare_values(0.4, 0.6, "max", Tolerance(0.05, 0.1)).status
    'regressed'
    >>> compare_values(90.0, 95.0, "min", Tolerance(1.0)).status
    'improved'
    """
    label = _label(tolerance, tolerance_name, unit)
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


def classify(entry: Mapping[str, Any] | None, current: Record | None, tolerance: Tolerance, *,
             tolerance_name: str = "", pair_in_baseline: bool = True,
             pair_in_run: bool = True) -> Comparison:
    """The status of one (check, dataset, metric) key.

    Parameters
    ----------
    entry : mapping or None
        The baseline's entry (``value``, ``sense``, ``unit``, … as in
        :func:`ifuqa.verdicts.baseline.entries`), or None when the baseline does not have it.
    current : Record or None
        The run's record of the key, or None when the run did not record it.
    tolerance : Tolerance
        The metric's tolerance.
    tolerance_name : str
        Its name (printed with it).
    pair_in_baseline : bool
        Whether the baseline has any metric of this check on this dataset (used when only the
        run has the key).
    pair_in_run : bool
        Whether the run recorded any metric of this check on this dataset (used when only the
        baseline has the key).

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        When neither side has the key.

    Examples
    --------
    >>> rec = Record("NS-IFU05", "test_wiggles", "alpha", "wiggle_amplitude", 0.6, "%")
    >>> classify({"value": 0.4}, rec, Tolerance(0.05, 0.1)).status
    'regressed'
    >>> classify({"value": 0.4}, None, Tolerance(0.05), pair_in_run=False).status
    'missing'
    >>> classify(None, rec, Tolerance(0.05)).status
    'new'
    """
    unit = (current.unit if current is not None else "") or (entry or {}).get("unit") or None
    label = _label(tolerance, tolerance_name, unit)
    if entry is not None and current is not None:
        return compare_values(entry.get("value"), current.value,
                              current.sense or entry.get("sense"), tolerance, tolerance_name,
                              unit)
    if entry is not None:
        value = entry.get("value")
        status = "lost" if pair_in_run and value is not None else "missing"
        return Comparison(status, value, None, tolerance=label)
    if current is not None:
        status = "skipped" if not current.measured and pair_in_baseline else "new"
        return Comparison(status, None, current.value, tolerance=label)
    raise ValueError("classify needs a baseline entry, a record, or both")
