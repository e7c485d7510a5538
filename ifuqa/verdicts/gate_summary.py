"""The regression gate's terminal summary: what the run's metrics did against the baseline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ifuqa.verdicts.baseline import COMPARED, entries

__all__ = ["summarise"]

VERSION_KEYS = ("jwst", "stcal", "stdatamodels", "numpy", "ifuqa", "astropy", "photutils",
                "crds_context")


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "none"
    return f"{value:.6g}" + (f" {unit}" if unit else "")


def _line(label: str, rec: Mapping[str, Any]) -> str:
    gate = rec["gate"]
    unit = rec.get("unit") or ""
    where = f"{rec['issue']} {rec['metric']} on {rec['dataset']} ({rec['check']})"
    if gate.get("baseline") is not None or gate.get("value") is not None:
        what = f"{_fmt(gate.get('baseline'), unit)} → {_fmt(gate.get('value'), unit)}"
        if gate.get("tolerance"):
            what += f" (tolerance {gate['tolerance']})"
    elif gate.get("lost"):
        what = f"{rec['verdict']} now; the baseline measured " + ", ".join(gate["lost"])
    else:
        what = "not in the baseline"
    return f"{label:<10} {where}: {what}"


def summarise(records: list[Mapping[str, Any]], baseline: Mapping[str, Any],
              path: Path | None) -> tuple[list[str], int]:
    """Summary lines of a gated run and the number of metrics compared.

    Parameters
    ----------
    records : list of dict
        The run's metric records, each with its ``gate`` comparison.
    baseline : mapping
        The baseline (:func:`ifuqa.verdicts.baseline.read_baseline`).
    path : path
        Where the baseline was read from.

    Returns
    -------
    (list of str, int)
        Lines for the terminal, and how many metrics were compared (``same``, ``improved`` or
        ``regressed``).
    """
    gated = [r for r in records if isinstance(r.get("gate"), dict)]
    base_versions = baseline.get("versions", {})
    lines = [f"baseline {path} (" + ", ".join(
        f"{k} {base_versions[k]}" for k in VERSION_KEYS[:4] if k in base_versions) + ")"]
    run_versions = next((r.get("versions") for r in records if r.get("versions")), None)
    if run_versions is None:
        from ifuqa.verdicts.results import run_versions as current

        run_versions = current()
    changed = [f"{k} {base_versions[k]} → {run_versions[k]}" for k in VERSION_KEYS
               if k in base_versions and k in run_versions
               and base_versions[k] != run_versions[k]]
    lines.append("versions changed since the baseline: " + (", ".join(changed) or "none"))
    order = {"regressed": "REGRESSED", "lost": "LOST", "new": "NEW", "improved": "IMPROVED",
             "gained": "GAINED"}
    ordered = sorted(gated, key=lambda r: (r["issue"], r["dataset"], r["check"], r["metric"]))
    for status, label in order.items():
        lines += [_line(label, r) for r in ordered if r["gate"]["status"] == status]
    # baseline metrics this run did not record
    recorded = {(r["check"], r["dataset"], r["metric"]) for r in records}
    covered = {(r["check"], r["dataset"], m) for r in gated for m in r["gate"].get("lost", ())}
    pairs = {k[:2] for k in recorded}
    not_run, unrecorded = 0, 0
    for k, entry in sorted(entries(baseline).items()):
        if k in recorded or k in covered:
            continue
        if k[:2] in pairs and entry.get("value") is not None:
            unrecorded += 1
            lines.append(f"{'LOST':<10} {entry.get('issue')} {k[2]} on {k[1]} ({k[0]}): "
                         f"{_fmt(entry['value'], entry.get('unit') or '')} in the baseline, "
                         "not recorded now")
        elif k[:2] not in pairs:
            not_run += 1
    # seeds
    seeds = {r["dataset"]: r.get("seed") for r in records}
    for name, seed in sorted(seeds.items()):
        base = baseline.get("datasets", {}).get(name)
        if base is not None and base.get("seed") != seed:
            lines.append(f"dataset {name}: seed {seed} now, {base.get('seed')} in the baseline "
                         "(the metrics compare different noise realisations)")
    counts = Counter(r["gate"]["status"] for r in gated)
    compared = sum(counts[s] for s in COMPARED)
    lost = sum(len(r["gate"].get("lost", ())) or 1 for r in gated
               if r["gate"]["status"] == "lost") + unrecorded
    lines.append(
        f"compared {compared} metrics: {counts['regressed']} regressed, {counts['improved']} "
        f"improved, {counts['same']} within tolerance; {lost} lost, {counts['new']} not in the "
        f"baseline, {counts['gained']} gained, {counts['skipped']} skipped in both"
        + (f", {counts['unjudged']} not judged (expected to fail)" if counts["unjudged"] else "")
        + "; "
        f"{not_run} baseline metrics not run (deselected, or datasets absent)")
    return lines, compared
