"""Benchmark of the optional adaptive-trace-model stage (issue 3, ``ifuqa process --trace-model``).

Cases (each in a fresh child process, so peaks and caches are not shared):

* ``chain`` / ``chain_trace``: the processing chain (clean, outliers, drizzle cube at 0.1",
  extract) of the 4-dither G395H point-source catalogue scenario (``bright_point_g395h``,
  3.70-4.00 µm on NRS1), without and with ``--trace-model``; time per stage and peak memory.
* ``frame_bounded`` / ``frame_jwst``: the trace model on one calibrated exposure (the first
  dither, noisy) with ifuqa's cost bounds, and with jwst's own choice of slices and columns
  (``min_peak_fraction=0``, ``fit_columns_above_threshold=False``), both on slice cut-outs.
* ``frame_whole``: jwst's algorithm on the whole frame as the adapter exposes it (every slice's
  fit and oversampling on full-frame arrays, jwst's threshold), the pre-stage baseline.

Run: ``python -m benchmarks.bench_trace_model [--cases ...]`` (writes
``reports/bench_trace_model.json``). The machine has 2 cores shared with other users: wall
times vary by tens of per cent with the load, which is printed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ifuqa.process.jwst_api.adaptive_trace_model import trace_model_oversample
from ifuqa.simulate.truth import read_truth

CASES = ("chain", "chain_trace", "frame_bounded", "frame_jwst", "frame_whole")
SCENARIO = "bright_point_g395h"


def _simulated(tmp: Path) -> Path:
    from ifuqa.scenario import load_scenario
    from ifuqa.simulate import simulate

    simulate(load_scenario(SCENARIO), tmp / "sim")
    return tmp / "sim"


def _chain(trace: bool) -> dict:
    from benchmarks._harness import peak_rss_gib
    from ifuqa.process.chain import process
    from ifuqa.process.config import ProcessingConfig

    with tempfile.TemporaryDirectory() as tmp:
        sim = _simulated(Path(tmp))
        start = time.perf_counter()
        result = process(sim, Path(tmp) / "out", ProcessingConfig(trace_model=trace))
        total = time.perf_counter() - start
    return {"seconds": round(total, 2),
            "stages": {k: round(v, 2) for k, v in result.timings_s.items()},
            "inside_jwst_s": round(result.jwst_time_s, 2),
            "trace_model": result.trace_model,
            "peak_rss_gib": round(peak_rss_gib(), 2)}


def _frame(case: str) -> dict:
    import numpy as np
    from stdatamodels.jwst import datamodels

    from benchmarks._harness import peak_rss_gib
    from ifuqa.instrument import get_disperser, pixel_map
    from ifuqa.process.stages.calibration import calibrate_pixels
    from ifuqa.process.stages.point_cloud import along_slice_at
    from ifuqa.process.stages.trace_oversampling import TraceModelParameters, oversample_exposure

    with tempfile.TemporaryDirectory() as tmp:
        sim = _simulated(Path(tmp))
        rate = sorted(sim.glob("*_rate.fits"))[0]
        with datamodels.open(rate) as model:
            data, err = np.asarray(model.data, float), np.asarray(model.err, float)
            window = read_truth(sim).wavelength_range_um
    disperser = get_disperser("G395H", "F290LP")
    pixmap = pixel_map(disperser, "NRS1", tuple(window))
    cal = calibrate_pixels(data, err, pixmap)
    flux = pixmap.to_image(cal.flux, fill=np.nan)
    error = pixmap.to_image(cal.err, fill=np.nan)
    start = time.perf_counter()
    if case == "frame_whole":

        region = pixmap.to_image(pixmap.slice_index + 1, fill=0).astype(np.int32)
        alpha = np.full(flux.shape, np.nan)
        alpha[pixmap.y, pixmap.x] = along_slice_at(pixmap.x, pixmap.y, pixmap.slice_index)
        res = trace_model_oversample(flux, error, alpha, region, grating="G395H")
        fitted = sorted(int(k) - 1 for k, m in res.spline_models.items() if m)
        columns = sum(len(m) for m in res.spline_models.values())
    else:
        params = (TraceModelParameters() if case == "frame_bounded" else TraceModelParameters(
            min_peak_fraction=0.0, fit_columns_above_threshold=False))
        res = oversample_exposure(flux, error, np.isfinite(flux), pixmap, params=params,
                                  grating="G395H")
        fitted, columns = list(res.fitted_slices), res.fitted_columns
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "fitted_slices": fitted, "column_fits": columns,
            "frame_columns": int(np.ptp(pixmap.x) + 1), "peak_rss_gib": round(peak_rss_gib(), 2)}


def main() -> None:
    """Run the cases in child processes and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", default=None, choices=CASES)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    args = parser.parse_args()
    if args.case:
        rec = _chain(args.case == "chain_trace") if args.case.startswith("chain") else \
            _frame(args.case)
        print(json.dumps(rec))
        return
    from benchmarks._harness import run_and_report

    def describe(rec: dict) -> list[str]:
        if "fitted_slices" not in rec:
            return []
        return [f"slices fitted {rec['fitted_slices']}, {rec['column_fits']} column fits "
                f"over {rec['frame_columns']} columns"]

    run_and_report("benchmarks.bench_trace_model", args.cases, "bench_trace_model.json",
                   describe)

if __name__ == "__main__":
    main()
