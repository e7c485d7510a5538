"""The regression gate's terminal summary: what the run's metrics did against the baseline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ifuqa.util.formatting import format_value
from ifuqa.verdicts.gate import Gate
from ifuqa.verdicts.record import Record, as_record
from ifuqa.verdicts.status import COMPARED

__all__ = ["summarise"]

VERSION_KEYS = ("jwst", "stcal", "stdatamodels", "numpy", "ifuqa", "astropy", "photutils",
                "scipy", "crds_context")
ORDER = {"regressed": "REGRESSED", "lost": "LOST", "new": "NEW", "improved": "IMPROVED",
         "gained": "GAINED"}
"""The statuses listed one line per metric, in this order, with their labels."""


def _fmt(value: float | None, unit: str = "") -> str:
    return format_value(value, unit, digits=6, none="none")


def _line(label: str, rec: Record) -> str:
    gate = rec.gate or {}
    where = f"{rec.issue} {rec.metric} on {rec.dataset} ({rec.check})"
    if gate.get("status") == "new":
        what = "not in the baseline"
    else:
        what = f"{_fmt(gate.get('baseline'), rec.unit)} → {_fmt(gate.get('value'), rec.unit)}"
        if gate.get("tolerance"):
            what += f" (tolerance {gate['tolerance']})"
    return f"{label:<10} {where}: {what}"


def _unrecorded_line(key: tuple[str, str, str], entry: Mapping[str, Any],
                     instead: list[Record]) -> str:
    check, dataset, metric = key
    why = "".join(f"; {r.metric}: {r.verdict} ({r.message})" for r in instead)
    return (f"{'LOST':<10} {entry.get('issue')} {metric} on {dataset} ({check}): "
            f"{_fmt(entry.get('value'), entry.get('unit') or '')} in the baseline, "
            f"not recorded now{why}")


def summarise(records: Iterable[Record | Mapping[str, Any]],
              gate: Gate) -> tuple[list[str], int]:
    """Summary lines of a gated run and the number of metrics compared.

    Parameters
    ----------
    records : iterable of Record
        The run's metric records, each with its ``gate`` comparison.
    gate : Gate
        The gate (its baseline and where it was read from).

    Returns
    -------
    (list of str, int)
        Lines for the terminal, and how many metrics were compared (``same``, ``improved`` or
        ``regressed``).
    """
    from ifuqa.verdicts.results import run_versions

    records = list(map(as_record, records))
    gated = [r for r in records if isinstance(r.gate, dict)]
    base_versions = gate.baseline.get("versions", {})
    lines = [f"baseline {gate.path} (" + ", ".join(
        f"{k} {base_versions[k]}" for k in VERSION_KEYS[:4] if k in base_versions) + ")"]
    current = run_versions()
    changed = [f"{k} {base_versions[k]} → {current[k]}" for k in VERSION_KEYS
               if k in base_versions and k in current and base_versions[k] != current[k]]
    lines.append("versions changed since the baseline: " + (", ".join(changed) or "none"))
    unrecorded = gate.unrecorded(records)
    lost_now = [k for k, c in unrecorded if c.status == "lost"]
    ordered = sorted(gated, key=lambda r: (r.issue, r.dataset, r.check, r.metric))
    for status, label in ORDER.items():
        lines += [_line(label, r) for r in ordered if r.gate["status"] == status]
        if status == "lost":  # baseline metrics of checks that ran, not recorded by them
            lines += [_unrecorded_line(k, gate.entries[k], [
                r for r in records if r.key[:2] == k[:2] and not r.measured]) for k in lost_now]
    # seeds
    seeds = {r.dataset: r.seed for r in records}
    for name, seed in sorted(seeds.items()):
        base = gate.baseline.get("datasets", {}).get(name)
        if base is not None and base.get("seed") != seed:
            lines.append(f"dataset {name}: seed {seed} now, {base.get('seed')} in the baseline "
                         "(the metrics compare different noise realisations)")
    counts = Counter(r.gate["status"] for r in gated)
    compared = sum(counts[s] for s in COMPARED)
    not_run = sum(c.status == "missing" for _, c in unrecorded)
    lines.append(
        f"compared {compared} metrics: {counts['regressed']} regressed, {counts['improved']} "
        f"improved, {counts['same']} within tolerance; {counts['lost'] + len(lost_now)} lost, "
        f"{counts['new']} not in the baseline, {counts['gained']} gained, {counts['skipped']} "
        "skipped in both"
        + (f", {counts['unjudged']} not judged (expected to fail)" if counts["unjudged"] else "")
        + "; "
        f"{not_run} baseline metrics not run (deselected, or datasets absent)")
    return lines, compared
