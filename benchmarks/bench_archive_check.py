"""Archive-scale ``ifuqa check``: throughput and the speed-up of a Dask ``LocalCluster``.

Writes a folder of synthetic s3d/x1d pairs (:mod:`ifuqa.builds.analytic_products`: a point
source in a real IFUCubeModel and its MultiSpecModel x1d, each pair with its own position, flux
and seed, in one sub-folder per 50 pairs, as an archive is laid out), then runs ``ifuqa check``
on it in one process (``--batch-size``, batches one after another) and through ``--dask local``
with 2 workers, and reports cubes per minute, cubes per minute per core and the speed-up. The
results files of the two runs are compared (they must be identical).

    python -m benchmarks.bench_archive_check [--pairs 300] [--workers 2] [--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPE = (300, 25, 25)
"""Cube shape (planes, y, x): a small G395H-like cube (0.75 MB of float32)."""


def write_archive(folder: Path, pairs: int, *, shape: tuple[int, int, int] = SHAPE,
                  per_folder: int = 50) -> Path:
    """Write ``pairs`` s3d/x1d pairs under ``folder`` (skipped when already there)."""
    from ifuqa.builds.analytic_products import PointCubeSpec, write_point_cube, write_point_x1d

    folder = Path(folder)
    marker = folder / f".complete-{pairs}-{'x'.join(map(str, shape))}"
    if marker.is_file():
        return folder
    for i in range(pairs):
        sub = folder / f"prog{i // per_folder:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        stem = f"jw{1000 + i // per_folder:05d}-o{i % per_folder + 1:03d}_t001_nirspec_g395h-f290lp"
        spec = PointCubeSpec(shape=shape, center_xy=(12.0 + 0.3 * (i % 5 - 2),
                                                     12.0 + 0.2 * (i % 7 - 3)),
                             flux_jy=1e-3 * (1 + i % 4), seed=i + 1)
        write_point_cube(sub / f"{stem}_s3d.fits", spec)
        write_point_x1d(sub / f"{stem}_x1d.fits", spec)
    marker.write_text("done")
    return folder


def _run(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ifuqa.cli", *argv], cwd=cwd,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stdout + proc.stderr)
    print(proc.stdout.strip().splitlines()[-2] if proc.stdout.strip() else "", flush=True)
    return seconds


def _records(path: Path) -> list:
    data = json.loads(path.read_text())
    return data["records"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.gettempdir()) / f"ifuqa-archive-{args.pairs}"
    start = time.perf_counter()
    write_archive(folder, args.pairs)
    print(f"{args.pairs} s3d/x1d pairs of {SHAPE} in {folder} "
          f"(written in {time.perf_counter() - start:.1f} s)")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = ["check", str(folder), f"--batch-size={args.batch_size}"]
        serial = _run([*common, f"--results={work / 'serial.json'}"], work)
        # ru_maxrss of the reaped children (KiB on Linux): the one-process check is the only
        # child so far, so this is its peak resident memory.
        serial_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"load average between: {os.getloadavg()[0]:.2f}")
        dask = _run([*common, f"--results={work / 'dask.json'}", "--dask", "local",
                     f"--workers={args.workers}"], work)
        same = _records(work / "serial.json") == _records(work / "dask.json")
    n = args.pairs
    print(f"one process: {serial:.1f} s = {60 * n / serial:.0f} cubes/min "
          f"(= cubes/min/core, one core); peak RSS {serial_rss_mb:.0f} MB")
    print(f"Dask LocalCluster, {args.workers} workers: {dask:.1f} s = {60 * n / dask:.0f} "
          f"cubes/min = {60 * n / dask / args.workers:.0f} cubes/min/core")
    print(f"speed-up: {serial / dask:.2f}x; results identical: {same}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
