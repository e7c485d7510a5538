"""Results of a run: the JSON file (``--ifuqa-results``) and the terminal summary table.

File format::

    {"format": "ifuqa-results/1",
     "versions": {"ifuqa": ..., "jwst": ..., "stcal": ..., "stdatamodels": ..., "photutils": ...,
                  "numpy": ..., "scipy": ..., "astropy": ..., "crds_context": ...},
     "applicability": {"<dataset>": {"NS-IFU01": {"status": "at risk", "reason": ...}, ...}},
     "records": [{"issue": "NS-IFU05", "check": ..., "dataset": ..., "metric": ...,
                  "value": 0.42, "unit": "%", "threshold": 1.0, "verdict": "pass",
                  "message": ..., "nodeid": ..., "versions": {...}}, ...]}

Each record repeats the run's versions so that records can be pooled across runs. The records
are :class:`ifuqa.verdicts.record.Record` in their JSON form (a record also has ``sense``,
``seed``, ``uncertainty``, ``evidence`` and, in a gated run, ``gate``); files written before
those fields existed read the same.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ifuqa.util.atomic import atomic_write
from ifuqa.util.formatting import format_value
from ifuqa.verdicts.record import Record, as_record

__all__ = ["applicability_lines", "read_records", "read_results", "run_versions",
           "summary_lines", "write_results"]

FORMAT = "ifuqa-results/1"


VERDICT_LABELS = {"pass": "passed", "fail": "failed",
                  "undecided": "could not decide (limit within the uncertainty)",
                  "skip": "not applicable", "error": "error"}
"""How each verdict is counted in the summaries."""


def run_versions() -> dict[str, str]:
    """Versions of the software that produced the metrics (and the CRDS context if set)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("ifuqa", "jwst", "stcal", "stdatamodels", "photutils", "numpy", "scipy",
                 "astropy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    out["crds_context"] = os.environ.get("CRDS_CONTEXT", "none (no reference files used)")
    return out


def _order(record: Record) -> tuple[str, str, str, str]:
    return (record.issue, record.dataset, record.check, record.metric)


def write_results(path: Path, records: Iterable[Record | Mapping[str, Any]],
                  applicability: dict[str, dict] | None = None) -> None:
    """Write the results file atomically (:func:`ifuqa.util.atomic.atomic_write`).

    Parameters
    ----------
    path : path
        Output file.
    records : iterable of Record
        One per (check, dataset, metric) (or their JSON form).
    applicability : dict, optional
        Dataset → issue → ``{"status", "reason"}`` (:mod:`ifuqa.products.applicability`).
    """
    versions = run_versions()
    payload = {"format": FORMAT, "versions": versions,
               "applicability": {k: applicability[k] for k in sorted(applicability or {})},
               "records": [dict(r.to_json(), versions=versions)
                           for r in sorted(map(as_record, records), key=_order)]}
    atomic_write(path, lambda fh: json.dump(payload, fh, indent=1, allow_nan=False))


def read_results(path: Path) -> dict:
    """Read a results file, checking its format.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    dict
        The file's JSON (``records`` as dicts; :func:`read_records` gives Records).

    Raises
    ------
    ValueError
        When the file is not an ``ifuqa-results/1`` file.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not an ifuqa results file (format {FORMAT})")
    return data


def read_records(path: Path) -> list[Record]:
    """The records of a results file.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    list of Record

    Raises
    ------
    ValueError
        When the file is not a results file or a record is invalid
        (:class:`ifuqa.verdicts.record.RecordError`).
    """
    return [Record.from_json(r) for r in read_results(path).get("records", [])]


def summary_lines(records: Iterable[Record | Mapping[str, Any]]) -> list[str]:
    """The summary table as text lines.

    Parameters
    ----------
    records : iterable of Record
        The run's records.

    Returns
    -------
    list of str
        A header, one line per record and the verdict counts.
    """
    records = list(map(as_record, records))
    rows = [("issue", "dataset", "metric", "value", "limit", "verdict")]
    for r in sorted(records, key=lambda r: (r.issue, r.dataset, r.metric)):
        value = format_value(r.value, r.unit)
        if r.uncertainty and r.value is not None:
            value = f"{format_value(r.value)} ± {r.uncertainty:.2g} {r.unit}".rstrip()
        rows.append((r.issue, r.dataset, r.metric, value, format_value(r.threshold),
                     "UNDECIDED" if r.verdict == "undecided" else r.verdict.upper()))
    widths = [min(max(len(row[i]) for row in rows), 48) for i in range(6)]
    lines = ["  ".join(cell[:48].ljust(w) for cell, w in zip(row, widths, strict=True))
             for row in rows]
    counts = {label: sum(r.verdict == v for r in records) for v, label in VERDICT_LABELS.items()}
    lines.append(", ".join(f"{n} {label}" for label, n in counts.items()))
    return lines


_STATUS_TAG = {"affected": "AFFECTED", "at risk": "at risk", "not applicable": "n/a"}


def applicability_lines(applicability: dict[str, dict]) -> list[str]:
    """Per dataset, which known issues can affect it (from headers) and why, as text lines."""
    lines = []
    for dataset in sorted(applicability):
        lines.append(f"{dataset}:")
        for issue, entry in sorted(applicability[dataset].items()):
            tag = _STATUS_TAG.get(entry["status"], entry["status"])
            lines.append(f"  {issue}  {tag:<9} {entry['reason']}")
    return lines
