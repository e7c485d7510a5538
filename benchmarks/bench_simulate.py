"""Benchmark of the simulator (issue: synthetic scenes).

Targets: one full-frame 2-detector G395H exposure with a point source, 1/f noise and cosmic rays
renders in ≤ 10 s on 2 cores; the 4-dither version in ≤ 40 s; peak memory ≤ 3 GiB.

Run: ``python -m benchmarks.bench_simulate`` (each case in a fresh process; prints a table and
writes ``reports/bench_simulate.json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

TARGETS = {"single_exposure_2det": (10.0, 3.0), "four_dither_2det": (40.0, 3.0)}


def _scenario(case: str):
    from ifuqa.scenario import DITHER_PATTERNS, load_scenario

    base = load_scenario("bright_point_g395h")
    dithers = ((0.0, 0.0),) if case == "single_exposure_2det" else DITHER_PATTERNS[
        "4-point-dither"]
    return replace(base, wavelength_range_um=None, dithers=tuple(dithers),
                   dither_pattern="none" if len(dithers) == 1 else "4-point-dither")


def _child(case: str) -> None:
    from benchmarks._harness import peak_rss_gib
    from ifuqa.simulate import simulate

    scenario = _scenario(case)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = simulate(scenario, tmp)
        elapsed = time.perf_counter() - start
        n_files = len(result.rate_files)
    print(json.dumps({"case": case, "seconds": round(elapsed, 2), "rate_files": n_files,
                      "peak_rss_gib": round(peak_rss_gib(), 2)}))


def main() -> None:
    """Run every case in a child process and report against the targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", default=None)
    args = parser.parse_args()
    if args.case:
        _child(args.case)
        return
    from benchmarks._harness import machine, run_case

    print(f"machine: {machine()}")
    records = []
    for case, (t_max, mem_max) in TARGETS.items():
        rec = run_case("benchmarks.bench_simulate", case)
        rec.update(target_s=t_max, target_gib=mem_max,
                   ok=rec["seconds"] <= t_max and rec["peak_rss_gib"] <= mem_max)
        records.append(rec)
        print(f"{case:24s} {rec['seconds']:7.2f} s (≤ {t_max:.0f})  peak {rec['peak_rss_gib']:.2f}"
              f" GiB (≤ {mem_max:.0f})  files {rec['rate_files']}  "
              f"{'OK' if rec['ok'] else 'OVER TARGET'}")
    out = Path("reports") / "bench_simulate.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "records": records}, indent=1))


if __name__ == "__main__":
    main()
