"""The record of one metric of one check on one dataset: what every later stage consumes.

A :class:`Record` is made by the pytest recorder from a
:class:`~ifuqa.metrics.result.MetricResult` (or from a skip or an error), travels from xdist
workers to the controller as JSON, is written to the results file, gated against a baseline,
compared between runs, and drawn in the report. ``to_json`` and ``from_json`` are the one place
that knows its serialised form (the ``records`` of ``ifuqa-results/1``).

Transitional: a record can also be read like the dict it used to be (``record["issue"]``,
``record.get("gate")``, ``"seed" in record``), read-only, for code written against the JSON
form (the HTML report); new code reads the attributes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ifuqa.metrics.result import MetricResult

__all__ = ["VERDICTS", "Record", "RecordError", "as_record"]

REQUIRED = ("issue", "check", "dataset", "metric")
"""The fields every serialised record must have."""

VERDICTS = ("pass", "fail", "undecided", "skip", "error")
"""What a record's verdict can be."""


class RecordError(ValueError):
    """A serialised record that cannot be read (a required field missing, a bad value)."""


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into Python numbers and lists."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Record:
    """One metric of one check on one dataset.

    Attributes
    ----------
    issue : str
        Known issue (``"NS-IFU05"``).
    check : str
        The check's test function name.
    dataset : str
        Dataset label.
    metric : str
        Metric name (for an evaluation that skipped or errored: the evaluation's name).
    value : float or None
        Measured value in ``unit``; None when not measured (skip, error, NaN).
    unit : str
        Unit of ``value`` and ``threshold``.
    threshold : float or None
        The limit the verdict used.
    verdict : {"pass", "fail", "undecided", "skip", "error"}
        ``undecided``: measured, but the uncertainty straddles the limit (could not decide);
        ``skip``: not applicable to the dataset (the message says why).
    message : str
        What was measured, or why it was not.
    sense : {"max", "min"} or None
        ``max``: the threshold is an upper limit; ``min``: a lower limit.
    seed : int or None
        Scenario seed of a synthetic dataset.
    nodeid : str
        The pytest node that recorded it (set by the collector).
    uncertainty : float or None
        1-σ uncertainty of ``value`` (same unit), when the metric has one.
    evidence : dict
        What the verdict rests on (bins used, S/N, the threshold's origin, …).
    gate : dict or None
        The regression gate's comparison with the baseline, in a gated run.
    """

    issue: str
    check: str
    dataset: str
    metric: str
    value: float | None = None
    unit: str = ""
    threshold: float | None = None
    verdict: str = "skip"
    message: str = ""
    sense: str | None = None
    seed: int | None = None
    nodeid: str = ""
    uncertainty: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        self.value = _finite_or_none(self.value)
        self.threshold = _finite_or_none(self.threshold)
        self.uncertainty = _finite_or_none(self.uncertainty)

    @property
    def key(self) -> tuple[str, str, str]:
        """(check, dataset, metric): what identifies a record across runs."""
        return (self.check, self.dataset, self.metric)

    @property
    def measured(self) -> bool:
        """True when the record has a value (not a skip, an error or NaN)."""
        return self.value is not None

    @classmethod
    def from_result(cls, result: MetricResult, *, check: str, dataset: str,
                    seed: int | None = None) -> Record:
        """The record of a metric's result.

        Parameters
        ----------
        result : ifuqa.metrics.MetricResult
            What the metric measured (a NaN value is recorded as None).
        check : str
            The check's test function name.
        dataset : str
            Dataset label.
        seed : int, optional
            Scenario seed of a synthetic dataset.

        Returns
        -------
        Record
        """
        return cls(issue=result.issue, check=check, dataset=dataset, metric=result.metric,
                   value=result.value, unit=result.unit, threshold=result.threshold,
                   verdict=result.verdict, message=result.message, sense=result.sense,
                   seed=seed, uncertainty=result.uncertainty,
                   evidence=_jsonable(dict(result.evidence)))

    @classmethod
    def unmeasured(cls, issue: str, name: str, verdict: str, message: str, *, check: str,
                   dataset: str, seed: int | None = None) -> Record:
        """The record of an evaluation that measured nothing (skipped or errored).

        Parameters
        ----------
        issue : str
            Known issue.
        name : str
            The evaluation's name (it stands in for the metrics it did not measure).
        verdict : {"skip", "error"}
        message : str
            Why nothing was measured.
        check, dataset : str
            As for :meth:`from_result`.
        seed : int, optional
            Scenario seed of a synthetic dataset.

        Returns
        -------
        Record
        """
        if verdict not in ("skip", "error"):
            raise ValueError(f"an unmeasured record is a skip or an error, not {verdict!r}")
        return cls(issue=issue, check=check, dataset=dataset, metric=name, verdict=verdict,
                   message=message, seed=seed)

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (the ``records`` entries of the results file)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        """A record from its JSON form; keys this version does not know are ignored (files
        written by newer ifuqa versions stay readable), missing ones take their defaults.

        Raises
        ------
        RecordError
            When ``issue``, ``check``, ``dataset`` or ``metric`` is missing, or a value is
            invalid (an unknown verdict, a value that is not a number).
        """
        missing = [name for name in REQUIRED if name not in data]
        if missing:
            raise RecordError("a record has no " + ", ".join(map(repr, missing)))
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as exc:
            where = "/".join(str(data[k]) for k in ("check", "dataset", "metric"))
            raise RecordError(f"record {where}: {exc}") from None

    # -- transitional read-only mapping view (see the module docstring) -------------------------

    def __getitem__(self, name: str) -> Any:
        """``record["issue"]``: a field by name (transitional, read-only)."""
        if name not in _FIELDS:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        """``record.get("gate")``: a field by name, or ``default`` (transitional)."""
        return getattr(self, name) if name in _FIELDS else default

    def __contains__(self, name: object) -> bool:
        """``"gate" in record``: whether ``name`` is a field (transitional)."""
        return name in _FIELDS


_FIELDS = frozenset(f.name for f in fields(Record))


def as_record(item: Record | Mapping[str, Any]) -> Record:
    """A :class:`Record` from a record or its JSON form.

    Parameters
    ----------
    item : Record or mapping
        A record, or a dict as in the results file.

    Returns
    -------
    Record

    Raises
    ------
    RecordError
        When a mapping is not a valid record.
    """
    return item if isinstance(item, Record) else Record.from_json(item)
