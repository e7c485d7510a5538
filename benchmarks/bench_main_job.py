r"""Benchmark of the main job (issue 17, item 5): README quick-start command 1,

    python3 -m pytest --ifuqa -n 2 --ifuqa-power-matrix --html=reports/ifuqa-report.html \
        --self-contained-html --ifuqa-results=reports/ifuqa-results.json

run in a fresh clone of the repository (so the build cache is empty), with the clone's own
package first on ``PYTHONPATH``. Target: ≤ 4 min on 2 cores.

Prints the wall time, the load average before and after, and where the time goes: the seconds
per build (from the plugin's ``ifuqa build DONE`` lines: simulate, each processing stage, the
noiseless reference cube, the spaxel-scale cubes), summed per stage; the seconds workers spent
waiting for a build another worker was making; the checks' own time (pytest's call phases);
and the worker time left for start-up, collection, report writing and idle workers at the end
(2 × wall − the rest). With ``--compare RESULTS.json`` it also compares every metric of the
run's results file with an earlier one (same records, same verdicts, values equal to within
float noise) and fails if they differ.

Run: ``python -m benchmarks.bench_main_job [--repo PATH] [--keep] [--compare FILE]`` (writes
``reports/bench_main_job.json`` in the current folder). Heavy: run it alone
(``flock /tmp/ifuqa-heavy.lock ...`` on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

TARGET_S = 240.0
COMMAND = ["-m", "pytest", "--ifuqa", "-n", "2", "--ifuqa-power-matrix",
           "--html=reports/ifuqa-report.html", "--self-contained-html",
           "--ifuqa-results=reports/ifuqa-results.json", "--durations=0"]

_DONE = re.compile(r"ifuqa build DONE\s+(?P<label>.+?) in (?P<s>[\d.]+) s \((?P<stages>.*)\)$")
_WAIT = re.compile(r"ifuqa build DONE\s+(?P<label>.+?): made by another process "
                   r"\(waited (?P<s>[\d.]+) s\)")
_DURATION = re.compile(r"^(?P<s>[\d.]+)s (?P<phase>setup|call|teardown)\s+(?P<nodeid>\S+)")


def breakdown(output: str) -> dict:
    """Where the time went, from the run's terminal output (see the module)."""
    builds: dict[str, dict] = {}
    stages: dict[str, float] = defaultdict(float)
    waits: dict[str, float] = {}
    phases: dict[str, float] = defaultdict(float)
    for line in output.splitlines():
        line = re.sub(r"^\[gw\d+\] ", "", line.strip())
        line = line[line.find("ifuqa build"):] if "ifuqa build" in line else line
        if m := _DONE.search(line):
            parts = {}
            for item in m["stages"].split(", "):  # "simulate (noiseless) 2.6 s"
                name, seconds, _ = item.rsplit(" ", 2)
                parts[name] = float(seconds)
            builds[m["label"]] = {"seconds": float(m["s"]), "stages": parts}
            for name, seconds in parts.items():
                stages[name] += seconds
        elif m := _WAIT.search(line):
            waits[m["label"]] = waits.get(m["label"], 0.0) + float(m["s"])
        elif m := _DURATION.match(line):
            phases[m["phase"]] += float(m["s"])
    build_s = sum(b["seconds"] for b in builds.values())
    return {"builds": builds, "build_s": round(build_s, 1),
            "stages_s": {k: round(v, 1) for k, v in sorted(stages.items(), key=lambda x: -x[1])},
            "waits_s": {k: round(v, 1) for k, v in waits.items()},
            "wait_s": round(sum(waits.values()), 1),
            "check_calls_s": round(phases["call"], 1),
            "setup_s": round(phases["setup"], 1)}


def _records(path: Path) -> dict[tuple[str, str], dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(r["nodeid"], r["metric"]): r for r in data["records"]}


def compare_results(before: Path, after: Path, *, rtol: float = 1e-6) -> list[str]:
    """Differences between two results files: records present in one only, other verdicts,
    values or uncertainties that differ by more than ``rtol`` (float noise)."""
    a, b = _records(before), _records(after)
    problems = [f"only in {before.name}: {k}" for k in sorted(set(a) - set(b))]
    problems += [f"only in {after.name}: {k}" for k in sorted(set(b) - set(a))]
    for key in sorted(set(a) & set(b)):
        ra, rb = a[key], b[key]
        if ra["verdict"] != rb["verdict"]:
            problems.append(f"{key}: verdict {ra['verdict']} -> {rb['verdict']}")
        for field in ("value", "uncertainty"):
            va, vb = ra.get(field), rb.get(field)
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)):
                if not math.isclose(va, vb, rel_tol=rtol, abs_tol=1e-12):
                    problems.append(f"{key}: {field} {va!r} -> {vb!r}")
            elif va != vb:
                problems.append(f"{key}: {field} {va!r} -> {vb!r}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="repository to clone (default: this one; uncommitted changes "
                             "are not in a clone)")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    parser.add_argument("--compare", type=Path, help="an earlier results file to compare with")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-main-job-"))
    clone = tmp / "clone"
    try:
        subprocess.run(["git", "clone", "-q", str(args.repo), str(clone)], check=True)
        env = dict(os.environ, PYTHONPATH=str(clone))
        load_before = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, *COMMAND], cwd=clone, env=env,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        output = proc.stdout + proc.stderr
        info = breakdown(output)
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        other = 2 * wall - info["build_s"] - info["wait_s"] - info["check_calls_s"]
        print(f"main job: {wall:.1f} s wall ({wall // 60:.0f} min {wall % 60:.0f} s; target "
              f"{TARGET_S:.0f} s), exit {proc.returncode}: {summary}")
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
              f"(1 min); {os.cpu_count()} cores")
        print(f"worker time (2 × wall = {2 * wall:.0f} s): builds {info['build_s']:.0f} s, "
              f"waiting for another worker's build {info['wait_s']:.0f} s, checks "
              f"{info['check_calls_s']:.0f} s, start-up/collection/reports/idle {other:.0f} s")
        print("build stages (summed over builds):")
        for stage, seconds in info["stages_s"].items():
            print(f"  {stage:28s} {seconds:7.1f} s")
        print("builds:")
        for label, build in sorted(info["builds"].items(), key=lambda x: -x[1]["seconds"]):
            print(f"  {build['seconds']:6.1f} s  {label}")
        record = {"wall_s": round(wall, 1), "exit": proc.returncode, "summary": summary,
                  "load_before": load_before, "load_after": load_after,
                  "cores": os.cpu_count(), **info}
        results = clone / "reports" / "ifuqa-results.json"
        if args.compare is not None and results.is_file():
            problems = compare_results(args.compare, results)
            record["compare"] = problems
            print(f"results against {args.compare}: "
                  + ("identical (within float noise)" if not problems
                     else f"{len(problems)} differences"))
            for line in problems[:40]:
                print(f"  {line}")
        out = Path("reports")
        out.mkdir(exist_ok=True)
        (out / "bench_main_job.json").write_text(json.dumps(record, indent=1))
        if proc.returncode != 0 or record.get("compare"):
            sys.exit(1)
    finally:
        if args.keep:
            print(f"clone kept: {clone}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
