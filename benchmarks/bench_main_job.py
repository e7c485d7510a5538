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

It also prints the CPU seconds of the run (all its processes, and the pytest controller
alone, which shares the cores with the workers) and a timeline: when each worker started and
ended each build, when it finished its last test (xdist's ``-v`` lines, ``[gwN] ... PASSED``),
and so how long each worker sat idle before the run ended (the report and results file are
written after the last test).

Run: ``python -m benchmarks.bench_main_job [--repo PATH] [--rev REV] [--overlay PATH ...]
[--keep] [--compare FILE]`` (writes ``reports/bench_main_job.json`` and the run's output, each
line stamped with its second, ``reports/bench_main_job.log``, in the current folder).
``--rev`` measures another commit; ``--overlay`` copies files or folders of the working tree
over the clone (to measure uncommitted changes to them, from an empty cache all the same).
Heavy: run it alone (``flock /tmp/ifuqa-heavy.lock ...`` on a shared machine).
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
           "--ifuqa-results=reports/ifuqa-results.json", "--durations=0", "-v"]
"""README command 1, with ``--durations=0`` (the checks' call phases) and ``-v`` (which worker
ran each test, for the timeline): neither changes what runs."""

_DONE = re.compile(r"ifuqa build DONE\s+(?P<label>.+?) in (?P<s>[\d.]+) s \((?P<stages>.*)\)$")
_WAIT = re.compile(r"ifuqa build DONE\s+(?P<label>.+?): made by another process "
                   r"\(waited (?P<s>[\d.]+) s\)")
_DURATION = re.compile(r"^(?P<s>[\d.]+)s (?P<phase>setup|call|teardown)\s+(?P<nodeid>\S+)")
_WORKER = re.compile(r"^\[(?P<worker>gw\d+)\]")
_EVENT = re.compile(r"ifuqa build (?P<what>START|DONE)\s+(?P<label>.+?)"
                    r"(?: in [\d.]+ s \(|: made |$)")
_TEST = re.compile(r"^\[(?P<worker>gw\d+)\] \[\s*\d+%\] "
                   r"(?:PASSED|FAILED|SKIPPED|XFAIL|XPASS|ERROR)")


def timeline(stamped: list[tuple[float, str]], wall: float) -> dict:
    """Per worker, from the run's output lines stamped with their second since the start: the
    builds (label, start, end), the second its last test ended and its idle seconds before the
    run ended.

    Parameters
    ----------
    stamped : list of (float, str)
        Output lines with the second (since the command started) they were read.
    wall : float
        The run's wall time.

    Returns
    -------
    dict
        worker -> {"builds": [[label, start, end], ...], "first_s", "last_test_s", "idle_end_s"}.
    """
    workers: dict[str, dict] = {}
    open_builds: dict[tuple[str, str], float] = {}
    for t, line in stamped:
        line = line.strip()
        if (at := line.find("ifuqa build")) > 0:  # after progress characters, if any
            line = line[line.rfind("[gw", 0, at):]
        m = _WORKER.match(line)
        if m is None:
            continue
        info = workers.setdefault(m["worker"], {"builds": [], "first_s": t, "last_test_s": None})
        if (e := _EVENT.search(line)) is not None:
            key = (m["worker"], e["label"])
            if e["what"] == "START":
                open_builds[key] = t
            else:
                info["builds"].append([e["label"], round(open_builds.pop(key, t), 1),
                                       round(t, 1)])
        elif _TEST.match(line):
            info["last_test_s"] = round(t, 1)
    for info in workers.values():
        last = info["last_test_s"] if info["last_test_s"] is not None else wall
        info["idle_end_s"] = round(wall - last, 1)
        info["first_s"] = round(info["first_s"], 1)
    return dict(sorted(workers.items()))


def _overlay(source: Path, clone: Path, paths: list[Path]) -> None:
    """Copy files or folders of the working tree ``source`` over the same paths in ``clone``."""
    for path in paths:
        rel = path.resolve().relative_to(source.resolve())
        src, dst = source / rel, clone / rel
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def _cpu_seconds(times: object) -> float:
    return float(times.user + times.system)  # type: ignore[attr-defined]


def _run(command: list[str], cwd: Path,
         env: dict[str, str]) -> tuple[float, list[tuple[float, str]], int, dict[str, float]]:
    """Run ``command``: (wall seconds, each output line of stdout and stderr stamped with the
    second it arrived, exit code, CPU seconds). The CPU seconds are those of the whole run
    (``total``: every process it started, from the operating system's accounting of reaped
    children) and of the pytest controller alone (``controller``: sampled every 0.5 s while
    it runs, so up to 0.5 s short); ``workers`` is the difference."""
    import resource
    import threading

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    stamped = []
    controller = {"cpu": 0.0}
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        done = threading.Event()

        def sample() -> None:
            try:
                me = psutil.Process(proc.pid)
                while not done.wait(0.5):
                    controller["cpu"] = _cpu_seconds(me.cpu_times())
            except psutil.Error:
                return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        for line in proc.stdout:
            stamped.append((time.perf_counter() - start, line.rstrip("\n")))
        proc.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = {"total": round(total, 1), "controller": round(controller["cpu"], 1),
           "workers": round(total - controller["cpu"], 1)}
    return wall, stamped, proc.returncode, cpu


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
    parser.add_argument("--rev", help="commit to check out in the clone (default: HEAD)")
    parser.add_argument("--overlay", type=Path, nargs="+", default=[], metavar="PATH",
                        help="files or folders of the working tree to copy over the clone")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-main-job-"))
    clone = tmp / "clone"
    try:
        subprocess.run(["git", "clone", "-q", str(args.repo), str(clone)], check=True)
        if args.rev:
            subprocess.run(["git", "-C", str(clone), "checkout", "-q", args.rev], check=True)
        _overlay(args.repo, clone, args.overlay)
        head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
        env = dict(os.environ, PYTHONPATH=str(clone), PYTHONUNBUFFERED="1")
        load_before = os.getloadavg()
        wall, stamped, returncode, cpu = _run([sys.executable, *COMMAND], clone, env)
        load_after = os.getloadavg()
        output = "\n".join(line for _, line in stamped)
        info = breakdown(output)
        info["timeline"] = timeline(stamped, wall)
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        other = 2 * wall - info["build_s"] - info["wait_s"] - info["check_calls_s"]
        print(f"main job: {wall:.1f} s wall ({wall // 60:.0f} min {wall % 60:.0f} s; target "
              f"{TARGET_S:.0f} s), exit {returncode}: {summary}")
        print(f"commit {head[:12]}" + (f" + overlay {', '.join(map(str, args.overlay))}"
                                       if args.overlay else ""))
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
              f"(1 min); {os.cpu_count()} cores")
        print(f"CPU: {cpu['total']:.0f} s in all ({cpu['total'] / wall:.2f} cores busy on "
              f"average), pytest controller {cpu['controller']:.0f} s, workers "
              f"{cpu['workers']:.0f} s")
        print(f"worker time (2 × wall = {2 * wall:.0f} s): builds {info['build_s']:.0f} s, "
              f"waiting for another worker's build {info['wait_s']:.0f} s, checks "
              f"{info['check_calls_s']:.0f} s, start-up/collection/reports/idle {other:.0f} s")
        print("build stages (summed over builds):")
        for stage, seconds in info["stages_s"].items():
            print(f"  {stage:28s} {seconds:7.1f} s")
        print("builds:")
        for label, build in sorted(info["builds"].items(), key=lambda x: -x[1]["seconds"]):
            print(f"  {build['seconds']:6.1f} s  {label}")
        print("timeline (seconds since the start):")
        for worker, line in info["timeline"].items():
            print(f"  {worker}: first output {line['first_s']:.0f} s, last test ended "
                  f"{line['last_test_s']} s, idle before the end {line['idle_end_s']:.0f} s")
            for label, begin, end in line["builds"]:
                print(f"    {begin:6.1f} - {end:6.1f}  {label}")
        record = {"wall_s": round(wall, 1), "exit": returncode, "summary": summary,
                  "commit": head, "overlay": [str(p) for p in args.overlay], "cpu_s": cpu,
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
        (out / "bench_main_job.log").write_text(
            "\n".join(f"{t:7.1f} {line}" for t, line in stamped) + "\n")
        if returncode != 0 or record.get("compare"):
            sys.exit(1)
    finally:
        if args.keep:
            print(f"clone kept: {clone}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
