#!/usr/bin/env python3
"""The synthetic power matrix as Markdown: each check on its own defect, with each issue's
documented symptom, and every check on every defect dataset (the cross-talk matrix).

Reads the results file of a main job (``pytest --ifuqa --ifuqa-power-matrix
--ifuqa-results=PATH``), where every shipped check runs on every defect dataset, and prints

1. per known issue and check of that issue: the documented symptom
   (``../shared/KNOWN_ISSUES.md``), the value with the fix and with ifuqa's defect (each with
   its uncertainty and verdict), the threshold and whether the check has power (or why the
   row exempts it);
2. the check × defect dataset grid: each cell the value ± σ and verdict with that defect and
   what it means — power on its own defect, **cross-talk** (fails with another issue's defect
   while passing with the fix), expected cross-talk (the row's physical reason), clean;
3. every cross-talk cell, and every probe that could not tell, with the value with the fix::

    python3 tools/power_table.py reports/ifuqa-results.json > docs/power_matrix.md

The lines are :func:`ifuqa.verdicts.power.power_matrix`'s, the same as the HTML report's.
Whether ifuqa's defect reproduces the documented size is stated per issue in
:data:`DOCUMENTED` — a comparison of the table's defect values with that text, not a judgement
made by this tool.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOCUMENTED: dict[str, str] = {
    "NS-IFU01": "a hole (donut) at the PSF peak in products before jwst 1.11.3: \"the core of "
                "the PSF is mostly flagged as outlier\" and extracted flux is missing (jwst "
                "#7712, JP-3152, Birkmann 2023; no depth given)",
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

POWER_WORDS = {"yes": "yes", "no": "**no**", "unknown": "unknown", "not targeted": "not run",
               "exempt": "exempt", "cross-talk": "**CROSS-TALK**",
               "expected cross-talk": "expected cross-talk", "clean": "clean"}
"""How a power value reads in the Markdown tables."""


def _cell(cell: Any) -> str:
    if cell is None:
        return "—"
    if cell.value is None:
        return cell.verdict
    sigma = f" ± {cell.uncertainty:.2g}" if cell.uncertainty else ""
    return f"{cell.value:.3g}{sigma} {cell.unit} {cell.verdict}".replace("  ", " ")


def _basis(issue: str, metric: str) -> str:
    """The threshold's origin in one phrase (``Threshold.basis``), or ""."""
    from ifuqa.verdicts.thresholds import DEFAULTS

    spec = DEFAULTS.get(f"{issue.lower().replace('-', '_')}.{metric}")
    return spec.basis if spec is not None else ""


def _layout(records: list[dict]) -> list[tuple[Any, str, str]]:
    """(row, fixed label, defect label) of every row whose two datasets are in ``records``."""
    import tempfile

    from ifuqa.builds.power_rows import POWER_ROWS, defect_spec

    datasets = {r["dataset"] for r in records}
    with tempfile.TemporaryDirectory() as tmp:  # scenario variants are written there
        labelled = [(row, row.scenario, defect_spec(row, Path(tmp)).label) for row in POWER_ROWS]
    return [(row, fix, defect) for row, fix, defect in labelled
            if fix in datasets and defect in datasets]


def _own_table(records: list[dict], layout: list[tuple[Any, str, str]]) -> list[str]:
    from ifuqa.verdicts.power import power_matrix

    out = ["| issue | documented symptom | scenario → defect dataset | check · metric | "
           "with the fix | with the defect | threshold (origin) | power |",
           "|---|---|---|---|---|---|---|---|"]
    shown: set[str] = set()
    for row, fix_label, defect_label in layout:
        for line in power_matrix(records, [(row, fix_label, defect_label)]):
            if line.kind == "probe":
                continue
            power = (f"exempt: {line.note}" if line.kind == "exempt"
                     else POWER_WORDS.get(line.power, line.power))
            unit = line.fix.unit or (line.broken.unit if line.broken else "")
            threshold = "—" if line.threshold is None else f"{line.threshold:g} {unit}"
            basis = _basis(row.issue, line.metric)
            if basis and line.threshold is not None:
                threshold += f" ({basis})"
            documented = "" if row.issue in shown else DOCUMENTED.get(row.issue, "")
            shown.add(row.issue)
            out.append(f"| {row.issue} | {documented} | `{fix_label}` → `{defect_label}` | "
                       f"`{line.check}` · {line.metric} | {_cell(line.fix)} | "
                       f"{_cell(line.broken)} | {threshold} | {power} |")
    return out


def _grid_table(lines: list[Any]) -> list[str]:
    from ifuqa.verdicts.power import crosstalk_grid

    grid = crosstalk_grid(lines)
    if not grid.columns:
        return []
    out = ["", "Every check on every defect dataset (D1… below): the value ± σ and verdict with "
           "that defect, and what it means — *power* (its own defect: fails with it, passes "
           "with the fix), **CROSS-TALK** (fails with another issue's defect while passing "
           "with the fix), *expected cross-talk* (the row gives the physical reason), *clean* "
           "(passes), *unknown* (skipped, undecided, errored, or fails with the fix too).", "",
           "| issue | check · metric | " + " | ".join(f"D{j + 1}" for j in
                                                     range(len(grid.columns))) + " |",
           "|---|---|" + "---|" * len(grid.columns)]
    for i, (issue, check, metric) in enumerate(grid.rows):
        cells = []
        for j in range(len(grid.columns)):
            line = grid.cells.get((i, j))
            if line is None:
                cells.append("not run")
                continue
            word = "power" if line.power == "yes" and line.kind == "target" else \
                POWER_WORDS.get(line.power, line.power)
            cells.append(f"{_cell(line.broken)} · {word}")
        out.append(f"| {issue} | `{check}` · {metric} | " + " | ".join(cells) + " |")
    out.append("")
    out += [f"- D{j + 1}: `{label}` (defect of {issue})"
            for j, (issue, label) in enumerate(grid.columns)]
    notable = [grid.cells[k] for k in sorted(grid.cells)
               if grid.cells[k].kind == "probe" and grid.cells[k].power != "clean"]
    if notable:
        out += ["", "Cross-talk cells, and probes that could not tell (value with the other "
                    "issue's defect; with the fix):", ""]
        for line in notable:
            note = f" — {line.note}" if line.note else ""
            out.append(f"- {POWER_WORDS.get(line.power, line.power)}: {line.issue} "
                       f"`{line.check}` · {line.metric} on `{line.defect_label}`: "
                       f"{_cell(line.broken)} (with the fix {_cell(line.fix)}){note}")
    return out


def power_table(records: list[dict]) -> str:
    """The Markdown tables of the power matrix in ``records`` (a results file's records)."""
    from ifuqa.verdicts.power import power_matrix

    layout = _layout(records)
    lines = power_matrix(records, layout)
    return "\n".join(_own_table(records, layout) + _grid_table(lines)) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the power tables of a results file."""
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
