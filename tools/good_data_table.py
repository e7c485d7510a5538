#!/usr/bin/env python3
"""Each shipped metric's distribution on good data, against its threshold (issue 14, item 4).

Reads results files of runs on synthetic catalogues processed with every fix (the main job's
``reports/ifuqa-results.json``, the release catalogue's ``reports/release-results.json`` from
``benchmarks/bench_release_catalogue.py --check``) and prints, per metric, over the datasets
without an injected defect: how many were measured, their verdicts, the median and largest
value, the largest 2-sigma bound on the side the limit judges (``value + 2σ`` for an upper
limit, ``value − 2σ`` for a lower one) and the threshold — split by dither pattern, because a
one-exposure or nodded cube is not the mitigated case some limits are written for (Law et al.
2023: < 1 % wiggles need a 4-point dither)::

    python3 tools/good_data_table.py reports/ifuqa-results.json reports/release-results.json

Left out: defect datasets (labels with ``[…]``, the power matrix's), and for a metric the
scenes whose truth carries that issue's symptom on purpose (a scene with a source drift for
NS-IFU06's drift). A "fail" on good data is a false alarm, or a limitation the scene shows by
design (e.g. single-spaxel wiggles without dithers, or a scene's ``[[expected_failures]]``, an
open pipeline limitation); the table lists those datasets by name. Metrics that were skipped
(not applicable) on every dataset of a group are left out.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIRS = (ROOT / "ifuqa" / "scenario" / "catalogue", ROOT / "ifuqa" / "scenario" / "release")


def _scenarios() -> dict[str, dict[str, Any]]:
    out = {}
    for folder in SCENARIO_DIRS:
        for path in folder.glob("*.toml"):
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            out[data.get("name", path.stem)] = data
    return out


def _has_symptom(scenario: dict[str, Any], issue: str) -> bool:
    """Whether the scene's truth carries ``issue``'s symptom on purpose."""
    if issue == "NS-IFU06":
        return any(src.get("drift_mas") for src in scenario.get("sources", []))
    return False


def _known(scenarios: dict[str, dict[str, Any]], record: dict[str, Any]) -> str:
    """" (expected: …)" when the scene lists the check as an open limitation it fails."""
    for entry in scenarios[record["dataset"]].get("expected_failures", []):
        if entry.get("check") == record["check"]:
            return " (expected failure: an open pipeline limitation)"
    return ""


def _bound(record: dict[str, Any]) -> float:
    sigma = record.get("uncertainty") or 0.0
    return record["value"] + 2 * sigma if record.get("sense", "max") == "max" \
        else record["value"] - 2 * sigma


def good_data_table(records: list[dict[str, Any]]) -> str:
    """Markdown: per metric and dither pattern, the distribution on good data."""
    scenarios = _scenarios()
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        name = rec["dataset"]
        scenario = scenarios.get(name)
        if "[" in name or scenario is None or _has_symptom(scenario, rec["issue"]):
            continue
        dithers = str(scenario.get("dithers", "4-point-dither"))
        groups[(rec["issue"], rec["metric"], dithers)].append(rec)
    out = ["| issue | metric | dithers | measured | pass / undecided / fail / skip | median | "
           "largest | largest 2σ bound | threshold | fails on good data |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for (issue, metric, dithers), recs in sorted(groups.items()):
        measured = [r for r in recs if r.get("value") is not None
                    and math.isfinite(r["value"])]
        counts = defaultdict(int)
        for r in recs:
            counts[r["verdict"]] += 1
        unit = next((r.get("unit") or "" for r in recs if r.get("unit")), "")
        limit = next((r.get("threshold") for r in recs if r.get("threshold") is not None), None)
        sense = next((r.get("sense") for r in recs if r.get("sense")), "max")
        if measured:
            values = sorted(r["value"] for r in measured)
            median = values[len(values) // 2]
            largest = values[-1] if sense == "max" else values[0]
            bound = (max if sense == "max" else min)(_bound(r) for r in measured)
            stats = f"{median:.3g} | {largest:.3g} | {bound:.3g}"
        else:
            stats = "— | — | —"
        if not measured:  # skipped everywhere (not applicable to these scenes)
            continue
        fails = ", ".join(f"`{r['dataset']}` {r['value']:.3g}" + _known(scenarios, r)
                          for r in recs if r["verdict"] == "fail") or "—"
        limit_text = "—" if limit is None else f"{'≤' if sense == 'max' else '≥'} {limit:g} {unit}"
        out.append(f"| {issue} | {metric} | {dithers} | {len(measured)} | "
                   f"{counts['pass']} / {counts['undecided']} / {counts['fail']} / "
                   f"{counts['skip'] + counts['error']} | {stats} | {limit_text} | {fails} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the good-data table of the given results files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+")
    args = parser.parse_args(argv)
    records: list[dict[str, Any]] = []
    for path in args.results:
        try:
            records += json.loads(path.read_text(encoding="utf-8"))["records"]
        except (OSError, ValueError, KeyError) as exc:
            print(f"good_data_table: cannot read {path}: {exc}", file=sys.stderr)
            return 2
    sys.stdout.write(good_data_table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
