"""Benchmark of the checks on a user's s3d cube (issue: user products).

Target: every s3d check (PSF-peak hole, centroid drift, extraction centring and flux loss, x1d
against the curve of growth, plus reading the headers for applicability) on a 40 × 40 × 3800
float32 cube — the size of a G395H s3d — takes ≤ 5 s together on 2 cores, with peak memory
≤ 3 × the cube (24.3 MB).

The cube and its x1d are written first (a point source with ifuqa's NIRSpec PSF and noise,
:mod:`ifuqa.builds.analytic_products`); the checks then run in a fresh process: once on a small cube
(the first-use imports of gwcs, asdf schemas and photutils, reported separately), then, timed,
on the big one. The memory figures are the resident-memory peak above the level before the
timed run, and the peak of the allocations traced during it (tracemalloc).

Run: ``python -m benchmarks.bench_s3d_checks`` (prints a table and writes
``reports/bench_s3d_checks.json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

SHAPE = (3800, 40, 40)
TARGET_S = 5.0
TARGET_CUBE_MULTIPLE = 3.0


def _write(folder: Path, shape: tuple[int, int, int] = SHAPE) -> tuple[Path, Path]:
    from ifuqa.builds.analytic_products import PointCubeSpec, write_point_cube, write_point_x1d

    folder.mkdir(parents=True, exist_ok=True)
    spec = PointCubeSpec(shape=shape, wave_range_um=(2.87, 5.27), center_xy=(19.6, 20.3),
                         drift_xy=(0.15, -0.1), noise_fraction=2e-3)
    cube = write_point_cube(folder / "jw01234-o001_t001_nirspec_g395h-f290lp_s3d.fits", spec)
    x1d = write_point_x1d(folder / "jw01234-o001_t001_nirspec_g395h-f290lp_x1d.fits", spec)
    return cube, x1d


def _run_checks(dataset, th) -> dict[str, float]:
    from ifuqa.evaluate import ns_ifu01, ns_ifu04, ns_ifu06
    from ifuqa.products.applicability import screen

    times = {}
    for name, func in (("applicability", lambda: screen(dataset)),
                       ("hole", lambda: ns_ifu01.hole(dataset, th)),
                       ("drift", lambda: ns_ifu06.drift(dataset, th)),
                       ("centring", lambda: ns_ifu04.centring(dataset, th)),
                       ("curve_of_growth", lambda: ns_ifu04.curve_of_growth_total(dataset, th))):
        t0 = time.perf_counter()
        func()
        times[name] = round(time.perf_counter() - t0, 3)
    return times


def _child(folder: str) -> None:
    import tracemalloc

    import numpy as np  # noqa: F401  (imports belong to the baseline)
    import photutils.aperture  # noqa: F401
    import stdatamodels.jwst.datamodels  # noqa: F401

    from benchmarks._harness import peak_rss_gib
    from ifuqa.products.discovery import discover
    from ifuqa.verdicts.thresholds import Thresholds

    th = Thresholds.defaults()
    t0 = time.perf_counter()
    (small,) = discover([Path(folder) / "warmup"])
    _run_checks(small, th)  # lazy imports (gwcs, asdf schemas, photutils) happen here
    warmup = time.perf_counter() - t0
    (dataset,) = discover([Path(folder) / "cube"])
    baseline = peak_rss_gib()
    tracemalloc.start()
    start = time.perf_counter()
    times = _run_checks(dataset, th)
    total = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    cube_bytes = SHAPE[0] * SHAPE[1] * SHAPE[2] * 4
    rss_delta = (peak_rss_gib() - baseline) * 1024**3
    print(json.dumps({"total_s": round(total, 3), "stages_s": times,
                      "imports_and_warmup_s": round(warmup, 2),
                      "cube_mb": round(cube_bytes / 1e6, 1),
                      "peak_rss_increase_mb": round(rss_delta / 1e6, 1),
                      "peak_traced_mb": round(traced_peak / 1e6, 1),
                      "rss_multiple_of_cube": round(rss_delta / cube_bytes, 2),
                      "traced_multiple_of_cube": round(traced_peak / cube_bytes, 2)}))


def main() -> None:
    """Write the products, run the checks in a child process, print and save the figures."""
    from benchmarks._harness import machine, run_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        _child(args.folder)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _write(Path(tmp) / "cube")
        _write(Path(tmp) / "warmup", (200, 40, 40))
        written = time.perf_counter() - t0
        record = run_case("benchmarks.bench_s3d_checks", "s3d_checks", "--folder", tmp)
    record["machine"] = machine()
    record["write_products_s"] = round(written, 1)
    record["target_s"] = TARGET_S
    record["target_multiple_of_cube"] = TARGET_CUBE_MULTIPLE
    worst = max(record["rss_multiple_of_cube"], record["traced_multiple_of_cube"])
    record["meets_targets"] = bool(record["total_s"] <= TARGET_S
                                   and worst <= TARGET_CUBE_MULTIPLE)
    print(f"machine: {record['machine']}")
    print(f"s3d checks on a {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]} float32 cube "
          f"({record['cube_mb']} MB): {record['total_s']:.2f} s (target <= {TARGET_S:g} s)")
    for stage, seconds in record["stages_s"].items():
        print(f"  {stage:<16} {seconds:.2f} s")
    print(f"(first-use imports, on a small cube beforehand: {record['imports_and_warmup_s']} s)")
    print(f"peak memory above the post-import baseline: {record['peak_rss_increase_mb']} MB "
          f"resident = {record['rss_multiple_of_cube']}x the cube; "
          f"{record['peak_traced_mb']} MB traced = {record['traced_multiple_of_cube']}x "
          f"(target <= {TARGET_CUBE_MULTIPLE:g}x)")
    print("meets targets:", record["meets_targets"])
    out = Path("reports") / "bench_s3d_checks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
