"""Benchmark of the processing chain (issue: processing chain with the fixes).

Target: the full chain for the 4-dither G395H point-source scenario over the full band on both
detectors — render, clean (jwst clean_flicker_noise), outliers (jwst IFU method), drizzle cube
at 0.1", extract — in ≤ 120 s on 2 cores with peak memory ≤ 6 GiB. Reports the time per stage
and the share spent inside jwst's own code (the clean_flicker_noise fit, the outlier statistic,
the cube_build C kernels).

Run: ``python -m benchmarks.bench_process`` (writes ``reports/bench_process.json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

TARGET_S, TARGET_GIB = 120.0, 6.0


def _child() -> None:
    from benchmarks._harness import peak_rss_gib
    from benchmarks.bench_simulate import _scenario
    from ifuqa.process.chain import process
    from ifuqa.simulate import simulate

    scenario = _scenario("four_dither_2det")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        simulate(scenario, Path(tmp) / "sim")
        render = time.perf_counter() - start
        result = process(Path(tmp) / "sim", Path(tmp) / "out")
        total = time.perf_counter() - start
    stages = {"render (simulate)": round(render, 2)}
    stages.update({k: round(v, 2) for k, v in result.timings_s.items()})
    print(json.dumps({"seconds": round(total, 2), "stages": stages,
                      "inside_jwst_s": round(result.jwst_time_s, 2),
                      "peak_rss_gib": round(peak_rss_gib(), 2)}))


def main() -> None:
    """Run the chain in a child process and report against the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", default=None)
    args = parser.parse_args()
    if args.case:
        _child()
        return
    from benchmarks._harness import machine, run_case

    rec = run_case("benchmarks.bench_process", "full_chain")
    print(f"machine: {machine()}")
    for stage, seconds in rec["stages"].items():
        print(f"  {stage:28s} {seconds:7.2f} s")
    chain = rec["seconds"] - rec["stages"]["render (simulate)"]
    print(f"total {rec['seconds']:.1f} s (≤ {TARGET_S:.0f}); processing {chain:.1f} s, of which "
          f"inside jwst {rec['inside_jwst_s']:.1f} s ({100 * rec['inside_jwst_s'] / chain:.0f} %); "
          f"peak {rec['peak_rss_gib']:.2f} GiB (≤ {TARGET_GIB:.0f})")
    rec.update(machine=machine(), target_s=TARGET_S, target_gib=TARGET_GIB)
    out = Path("reports") / "bench_process.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rec, indent=1))


if __name__ == "__main__":
    main()
