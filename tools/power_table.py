#!/usr/bin/env python3
"""The synthetic power matrix as a Markdown table, with each issue's documented symptom.

Reads the results file of a main job (``pytest --ifuqa --ifuqa-power-matrix
--ifuqa-results=PATH``) and prints, per known issue and check: the documented symptom
(``../shared/KNOWN_ISSUES.md``), the value with the fix and with ifuqa's defect (each with its
uncertainty and verdict), the threshold and whether the check has power. Other issues' checks
do not run on a synthetic defect dataset (the power matrix runs the row's own checks there), so
this table says nothing about cross-talk; the real-data power matrix
(``tools/real_completeness.py``) measures it::

    python3 tools/power_table.py reports/ifuqa-results.json > docs/power_matrix.md

Whether ifuqa's defect reproduces the documented size is stated per issue in
:data:`DOCUMENTED` — a comparison of the table's defect values with that text, not a judgement
made by this tool.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOCUMENTED: dict[str, str] = {
    "NS-IFU01": "a hole (donut) at the PSF peak in products before jwst 1.11.3 (no depth given)",
    "NS-IFU02": "point-source flux density ~10–15 % too high at the default sampling",
    "NS-IFU03": "negative or surplus flux with an undulation; up to ~30 % flux discrepancy for "
                "read-noise-limited data, worst on NRS2",
    "NS-IFU04": "flux missing from the x1d: blind pointing ~67 mas (1σ), ~5 mas after target "
                "acquisition",
    "NS-IFU05": "sinusoidal wiggles in single-spaxel spectra (5–50 cycles/µm); < 1 % in "
                "apertures ≥ 1.5 FWHM with a 4-point dither (Law et al. 2023)",
    "NS-IFU06": "centroid drift ~20 mas over a disperser's range",
}
"""Each known issue's documented symptom and size, from ``../shared/KNOWN_ISSUES.md``."""


def _cell(rec: dict | None) -> str:
    if rec is None:
        return "—"
    if rec.get("value") is None:
        return rec.get("verdict", "?")
    sigma = rec.get("uncertainty")
    text = f"{rec['value']:.3g}" + (f" ± {sigma:.2g}" if sigma else "")
    return f"{text} {rec.get('unit', '')} {rec['verdict']}".replace("  ", " ")


def power_table(records: list[dict]) -> str:
    """The Markdown table of the power matrix in ``records`` (a results file's records)."""
    import tempfile

    from ifuqa.builds.power_rows import POWER_ROWS, defect_spec

    datasets = {r["dataset"] for r in records}
    with tempfile.TemporaryDirectory() as tmp:  # scenario variants are written there
        labels = {id(row): defect_spec(row, Path(tmp)).label for row in POWER_ROWS}
    shown: set[str] = set()
    by_key = {(r["dataset"], r["check"], r["metric"]): r for r in records}
    out = ["| issue | documented symptom | scenario → defect dataset | check · metric | "
           "with the fix | with the defect | threshold | power |",
           "|---|---|---|---|---|---|---|---|"]
    for row in POWER_ROWS:
        defect = labels[id(row)]
        if row.scenario not in datasets or defect not in datasets:
            continue
        checks = sorted({(r["check"], r["metric"]) for r in records
                         if r["dataset"] in (row.scenario, defect) and r["issue"] == row.issue
                         and (not row.only or r["check"] in row.only)})
        for check, metric in checks:
            fix = by_key.get((row.scenario, check, metric))
            broken = by_key.get((defect, check, metric))
            if row.exempt_reason(check):
                power = f"exempt: {row.exempt_reason(check)}"
            elif fix and broken and fix["verdict"] == "pass" and broken["verdict"] == "fail":
                power = "yes"
            elif broken and broken["verdict"] == "pass":
                power = "**no**"
            else:
                power = "unknown"
            threshold = next((r.get("threshold") for r in (fix, broken)
                              if r and r.get("threshold") is not None), None)
            unit = next((r.get("unit", "") for r in (fix, broken) if r), "")
            documented = "" if row.issue in shown else DOCUMENTED.get(row.issue, "")
            shown.add(row.issue)
            out.append(f"| {row.issue} | {documented} | `{row.scenario}` → "
                       f"`{defect}` | `{check}` · {metric} | {_cell(fix)} | {_cell(broken)} | "
                       f"{'—' if threshold is None else f'{threshold:g} {unit}'} | {power} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the power table of a results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results JSON of a --ifuqa-power-matrix run")
    args = parser.parse_args(argv)
    try:
        records = json.loads(args.results.read_text(encoding="utf-8"))["records"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"power_table: cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(power_table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
