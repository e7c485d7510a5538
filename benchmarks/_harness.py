"""Shared helpers of the benchmark scripts: run a case in a fresh process, time it, and read
its peak resident memory (``ru_maxrss`` of the child), so cases do not share caches or peaks."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def machine() -> str:
    """One-line description of the machine."""
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def run_case(module: str, case: str, *args: str) -> dict:
    """Run ``python -m MODULE --case CASE ARGS`` in a child; it prints one JSON line."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", module, "--case", case, *args],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark case {case} failed:\n{proc.stderr[-3000:]}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    record["wall_s_including_startup"] = round(wall, 2)
    return record


def peak_rss_gib() -> float:
    """Peak resident memory of this process (GiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_and_report(module: str, cases: list[str], out_name: str,
                   describe: Callable[[dict], list[str]]) -> dict:
    """Run each case of ``module`` in a child, print its time, peak memory, the load average
    before it, its stages and the lines ``describe(record)`` returns; write
    ``reports/OUT_NAME`` (JSON with the machine) and return the records."""
    records = {}
    for case in cases:
        load = os.getloadavg()[0]
        rec = run_case(module, case)
        rec["load_average_before"] = round(load, 2)
        records[case] = rec
        print(f"{case}: {rec['seconds']:.1f} s, peak {rec['peak_rss_gib']:.2f} GiB "
              f"(load average before {load:.1f})")
        for stage, seconds in rec.get("stages", {}).items():
            print(f"  {stage:28s} {seconds:7.2f} s")
        for line in describe(rec):
            print(f"  {line}")
    print(f"machine: {machine()}")
    out = Path("reports") / out_name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "cases": records}, indent=1))
    return records
