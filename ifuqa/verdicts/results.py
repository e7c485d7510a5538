"""Results of a run: the JSON file (``--ifuqa-results``) and the terminal summary table.

File format::

    {"format": "ifuqa-results/1",
     "versions": {"ifuqa": ..., "jwst": ..., "stdatamodels": ..., "numpy": ..., ...},
     "applicability": {"<dataset>": {"NS-IFU01": {"status": "at risk", "reason": ...}, ...}},
     "records": [{"issue": "NS-IFU05", "check": ..., "dataset": ..., "metric": ...,
                  "value": 0.42, "unit": "%", "threshold": 1.0, "verdict": "pass",
                  "message": ..., "nodeid": ..., "versions": {...}}, ...]}

Each record repeats the run's versions so that records can be pooled across runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["applicability_lines", "read_results", "run_versions", "summary_lines",
           "write_results"]

FORMAT = "ifuqa-results/1"


def run_versions() -> dict[str, str]:
    """Versions of the software that produced the metrics (and the CRDS context if set)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("ifuqa", "jwst", "stcal", "stdatamodels", "numpy", "astropy", "photutils"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    out["crds_context"] = os.environ.get("CRDS_CONTEXT", "none (no reference files used)")
    return out


def write_results(path: Path, records: list[dict],
                  applicability: dict[str, dict] | None = None) -> None:
    """Write the results file atomically (a temporary file renamed into place).

    Parameters
    ----------
    path : path
        Output file.
    records : list of dict
        One per (check, dataset, metric).
    applicability : dict, optional
        Dataset → issue → ``{"status", "reason"}`` (:mod:`ifuqa.products.applicability`).
    """
    versions = run_versions()
    payload = {"format": FORMAT, "versions": versions,
               "applicability": {k: applicability[k] for k in sorted(applicability or {})},
               "records": [dict(r, versions=versions) for r in sorted(
                   records, key=lambda r: (r["issue"], r["dataset"], r["check"], r["metric"]))]}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=1, allow_nan=False)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_results(path: Path) -> dict:
    """Read a results file, checking its format."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not an ifuqa results file (format {FORMAT})")
    return data


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_lines(records: list[dict]) -> list[str]:
    """The summary table as text lines."""
    rows = [("issue", "dataset", "metric", "value", "limit", "verdict")]
    for r in sorted(records, key=lambda r: (r["issue"], r["dataset"], r["metric"])):
        unit = f" {r['unit']}" if r.get("unit") and r.get("value") is not None else ""
        rows.append((r["issue"], r["dataset"], r["metric"], _fmt(r["value"]) + unit,
                     _fmt(r["threshold"]), r["verdict"].upper()))
    widths = [min(max(len(row[i]) for row in rows), 48) for i in range(6)]
    lines = ["  ".join(cell[:48].ljust(w) for cell, w in zip(row, widths, strict=True))
             for row in rows]
    counts = {v: sum(r["verdict"] == v for r in records) for v in ("pass", "fail", "skip",
                                                                    "error")}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
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
