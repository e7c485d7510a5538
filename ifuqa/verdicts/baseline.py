"""Metric baselines: the file format, building one from a run's records, atomic writing,
reading and validating (the statuses of a metric against its baseline are
:mod:`ifuqa.verdicts.status`).

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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ifuqa.util.atomic import atomic_write
from ifuqa.verdicts.record import Record, RecordError, as_record
from ifuqa.verdicts.status import COMPARED, FAILING, STATUSES, Comparison, compare_values

__all__ = ["COMPARED", "FAILING", "FORMAT", "STATUSES", "BaselineError", "Comparison",
           "build_baseline", "compare_values", "entries", "read_baseline", "write_baseline"]

FORMAT = "ifuqa-baseline/1"
RESULTS_FORMAT = "ifuqa-results/1"
ENTRY_FIELDS = ("issue", "value", "unit", "sense", "threshold", "verdict")
"""The fields of a record a baseline keeps. (The statuses, :class:`Comparison` and
:func:`compare_values` live in :mod:`ifuqa.verdicts.status`; they are re-exported here.)"""


class BaselineError(ValueError):
    """A baseline that cannot be used (unreadable, corrupt, wrong format) or written."""


def _entry(record: Record) -> dict[str, Any]:
    return {k: getattr(record, k) for k in ENTRY_FIELDS}


def build_baseline(records: Iterable[Record | Mapping[str, Any]],
                   versions: Mapping[str, str]) -> dict:
    """The baseline of a run's metric records.

    Parameters
    ----------
    records : iterable of Record
        The run's records (or their JSON form, as in the results file).
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
    ifuqa.verdicts.record.RecordError
        When a mapping is not a valid record.
    """
    metrics: dict[str, dict[str, dict[str, dict]]] = {}
    datasets: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str, str], str] = {}
    for rec in map(as_record, records):
        key = rec.key
        node = rec.nodeid or "?"
        if key in origin:
            raise BaselineError(
                f"two records for check {key[0]!r}, dataset {key[1]!r}, metric {key[2]!r} "
                f"({origin[key]} and {node}): give the metrics distinct names")
        origin[key] = node
        metrics.setdefault(key[0], {}).setdefault(key[1], {})[key[2]] = _entry(rec)
        if key[1] not in datasets or rec.seed is not None:
            datasets[key[1]] = {"seed": rec.seed}
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

    def write(fh: Any) -> None:
        json.dump(baseline, fh, indent=1, sort_keys=True, allow_nan=False)
        fh.write("\n")

    atomic_write(path, write)


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
        except RecordError as exc:
            raise _fail(path, str(exc)) from None
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
