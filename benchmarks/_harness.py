"""Shared helpers of the benchmark scripts: run a case in a fresh process, time it, and read
its peak resident memory (``ru_maxrss`` of the child), so cases do not share caches or peaks."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time


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
