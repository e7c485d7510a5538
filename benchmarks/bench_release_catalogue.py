r"""Benchmark of the release catalogue (issue 17, item 3): its 50 scenes built serially and on a
2-worker ``LocalCluster`` (``ifuqa build DIR`` and ``ifuqa build DIR --dask local``), and,
optionally, checked (``pytest --ifuqa --ifuqa-catalogue=DIR``), so that its metrics on good data
and its baseline can be written.

A release scene's build cache takes ~1.1 GB (four full-frame rate files of 84 MB and their
noiseless twins, the cleaned rates, the cal files and the cubes), so the whole catalogue needs
~55 GB at once. On a machine with less free disk the catalogue is measured in chunks
(``--chunks N``, default 5: scenes ``k, k+N, k+2N, …`` in chunk ``k``, so every chunk mixes
gratings, positions and dithers), each built into a fresh cache that is deleted afterwards. The
serial and cluster times are the sums over the chunks; a chunk's cluster time includes starting
its ``LocalCluster`` (~5 s) and the tail where one worker has nothing left — both cost the
cluster a little against one 50-scene run, so its speed-up here is a lower bound.

``--lock FILE`` takes an exclusive ``flock`` on FILE around each timed run (and each check run),
so other heavy jobs on a shared machine run between them, never during them.

Run: ``python -m benchmarks.bench_release_catalogue [--chunks 5] [--check [--baseline FILE]]
[--lock FILE]`` (writes ``reports/bench_release_catalogue.json``; with ``--check`` also
``reports/release-results.json``, the merged results of every chunk's checks, and with
``--baseline`` the release baseline built from them, as ``--ifuqa-generate-baseline`` would
write it for one run over the whole catalogue).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "ifuqa" / "scenario" / "release"


@contextlib.contextmanager
def _locked(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _du_gb(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1e9


def _timed(argv: list[str], log: Path, lock: Path | None, *,
           allowed: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Run ``argv`` (output to ``log``) under the lock; (wall seconds, load average before).
    An exit status outside ``allowed`` raises."""
    with _locked(lock):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        with open(log, "w") as out:
            proc = subprocess.run(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                  check=False)
        wall = time.perf_counter() - start
    if proc.returncode not in allowed:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}; see {log}")
    return wall, load


def _merge(results: list[Path], out: Path) -> int:
    merged: dict | None = None
    for path in results:
        data = json.loads(path.read_text(encoding="utf-8"))
        if merged is None:
            merged = data
        else:
            merged["records"] += data["records"]
            merged.get("applicability", {}).update(data.get("applicability", {}))
    assert merged is not None
    out.write_text(json.dumps(merged, indent=1), encoding="utf-8")
    return len(merged["records"])


def main(argv: list[str] | None = None) -> int:
    """Build (and optionally check) the release catalogue chunk by chunk; print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", type=int, nargs="*", default=None,
                        help="run only these chunk numbers (0-based)")
    parser.add_argument("--check", action="store_true",
                        help="also run the checks on each chunk (after its cluster build)")
    parser.add_argument("--lock", type=Path, default=None)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="with --check: write the release baseline of the merged results "
                             "here (e.g. baselines/release.json)")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    scenes = sorted(RELEASE.glob("*.toml"))
    work = args.work or Path(tempfile.mkdtemp(prefix="ifuqa-release-"))
    work.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    report: dict = {"scenes": len(scenes), "chunks": [], "workers": args.workers,
                    "machine": f"{os.cpu_count()} cores"}
    results = []
    chunks = range(args.chunks) if args.only is None else args.only
    for k in chunks:
        chunk = scenes[k::args.chunks]
        folder = work / f"chunk-{k}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "scenes").mkdir(parents=True)
        for toml in chunk:
            shutil.copy(toml, folder / "scenes" / toml.name)
        row = {"chunk": k, "scenes": [t.stem for t in chunk]}
        serial_cache, dask_cache = folder / "cache-serial", folder / "cache-dask"
        row["serial_s"], row["serial_load"] = _timed(
            [python, "-m", "ifuqa.cli", "build", str(folder / "scenes"),
             f"--cache={serial_cache}"], folder / "serial.log", args.lock)
        row["cache_gb"] = round(_du_gb(serial_cache), 2)
        shutil.rmtree(serial_cache)
        row["dask_s"], row["dask_load"] = _timed(
            [python, "-m", "ifuqa.cli", "build", str(folder / "scenes"),
             f"--cache={dask_cache}", "--dask", "local", f"--workers={args.workers}"],
            folder / "dask.log", args.lock)
        if args.check:
            out = folder / "results.json"
            row["check_s"], _ = _timed(
                [python, "-m", "pytest", "--ifuqa", "-n", "2", "-p", "no:cacheprovider",
                 f"--ifuqa-catalogue={folder / 'scenes'}", f"--ifuqa-cache={dask_cache}",
                 f"--ifuqa-results={out}", "-q"], folder / "check.log", args.lock,
                allowed=(0, 1))  # 1: some check failed on good data, which is a result
            results.append(out)
        shutil.rmtree(dask_cache)
        report["chunks"].append(row)
        print(f"chunk {k} ({len(chunk)} scenes, {row['cache_gb']:.1f} GB): serial "
              f"{row['serial_s']:.1f} s (load {row['serial_load']:.1f}), --dask local "
              f"{row['dask_s']:.1f} s (load {row['dask_load']:.1f})"
              + (f", checks {row['check_s']:.1f} s" if "check_s" in row else ""), flush=True)
    serial = sum(r["serial_s"] for r in report["chunks"])
    dask = sum(r["dask_s"] for r in report["chunks"])
    n = sum(len(r["scenes"]) for r in report["chunks"])
    report.update(serial_s=round(serial, 1), dask_s=round(dask, 1),
                  speedup=round(serial / dask, 3),
                  cache_gb=round(sum(r["cache_gb"] for r in report["chunks"]), 1))
    print(f"{n} scenes: serial {serial:.1f} s ({serial / 60:.1f} min), --dask local with "
          f"{args.workers} workers {dask:.1f} s ({dask / 60:.1f} min): speed-up "
          f"{serial / dask:.2f}x; cache {report['cache_gb']:.1f} GB for all scenes")
    Path("reports").mkdir(exist_ok=True)
    if results:
        merged = Path("reports") / "release-results.json"
        count = _merge(results, merged)
        print(f"checks: {count} records in reports/release-results.json")
        if args.baseline is not None:
            from ifuqa.verdicts.baseline import build_baseline, write_baseline

            data = json.loads(merged.read_text(encoding="utf-8"))
            args.baseline.parent.mkdir(parents=True, exist_ok=True)
            write_baseline(args.baseline, build_baseline(data["records"], data["versions"]))
            print(f"baseline of the {len(scenes)} scenes in {args.baseline}")
    Path("reports/bench_release_catalogue.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
