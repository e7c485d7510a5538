"""Benchmark of simulated ramps fitted by jwst (``[noise] ramps = true``,
:mod:`ifuqa.simulate.ramps`).

Cases (each in a fresh child process, so peaks and caches are not shared):

* ``frame_11`` / ``frame_49``: one full-frame (2048 × 2048) integration of 11 groups (the
  catalogue's ``cosmic_rays_g395h_ramps``, 150 s of NRSIRS2RAPID) and of 49 groups (the 700 s of
  ``bright_point_g395h``), with a rendered point-source exposure as the signal and the full
  cosmic-ray rate: seconds building the ramps, in jwst's ``JumpStep`` and in ``RampFitStep``,
  peak memory, and the recall of hits above 10 σ.
* ``simulate_ramps`` / ``simulate_rates``: ``ifuqa simulate`` of the 4-dither
  ``cosmic_rays_g395h_ramps`` scenario with ramps, and of the same scene with the default
  statistical model (``ramps = false``).

Run: ``python -m benchmarks.bench_ramps [--cases ...]`` (writes ``reports/bench_ramps.json``).
The machine has 2 cores shared with other users; the load average before each case is printed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ifuqa.process.jwst_api.ramp_fitting import fit_ramps
from ifuqa.simulate.artefacts import dq_for_detector
from ifuqa.simulate.noise import NoiseModel

CASES = ("frame_11", "frame_49", "simulate_ramps", "simulate_rates")
SCENARIO = "cosmic_rays_g395h_ramps"


def _frame(ngroups: int) -> dict:
    import numpy as np

    from benchmarks._harness import peak_rss_gib
    from ifuqa.instrument import get_disperser, pixel_map
    from ifuqa.instrument.photometry import GAIN_E_PER_DN
    from ifuqa.instrument.psf import load_psf
    from ifuqa.scenario import load_scenario
    from ifuqa.simulate.artefacts import COSMIC_RAY_RATE_PER_CM2_S
    from ifuqa.simulate.observation import source_models
    from ifuqa.simulate.ramps import ramp_rate
    from ifuqa.simulate.render import render_pixels

    scenario = load_scenario(SCENARIO)
    disperser = get_disperser(scenario.grating, scenario.filter)
    pixmap = pixel_map(disperser, "NRS1", scenario.wavelength_range_um)
    signal = np.zeros((2048, 2048))
    psf = load_psf(scenario.psf, disperser.wavelength_range_um)
    signal[pixmap.y, pixmap.x] = render_pixels(pixmap, source_models(scenario, disperser, psf),
                                               (0.0, 0.0))
    rng = np.random.default_rng(7)
    noise = NoiseModel(readpatt=scenario.readout)
    start = time.perf_counter()
    out = ramp_rate(signal, ngroups=ngroups, group_time_s=scenario.group_time_s, detector="NRS1",
                    gain=GAIN_E_PER_DN["NRS1"], noise=noise, poisson=True,
                    pixel_dq=dq_for_detector(signal.shape, rng),
                    cosmic_ray_rate_per_cm2_s=COSMIC_RAY_RATE_PER_CM2_S, rng=rng,
                    fit_ramps=fit_ramps)
    seconds = time.perf_counter() - start
    err = np.sqrt(out.var_poisson_e + out.var_rnoise_e)
    strong = out.cr_rate_e > 10 * err
    recall = float(((out.dq & 4) > 0)[strong].mean() * 100)
    return {"seconds": round(seconds, 2), "ngroups": ngroups,
            "stages": {k: round(v, 2) for k, v in out.timings_s.items()},
            "hits": out.n_hits, "pixels_above_10_sigma": int(strong.sum()),
            "recall_percent": round(recall, 2), "peak_rss_gib": round(peak_rss_gib(), 2)}


def _simulate(ramps: bool) -> dict:
    from dataclasses import replace

    from benchmarks._harness import peak_rss_gib
    from ifuqa.scenario import load_scenario
    from ifuqa.simulate import simulate

    scenario = load_scenario(SCENARIO)
    scenario = replace(scenario, noise=replace(scenario.noise, ramps=ramps))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = simulate(scenario, Path(tmp) / "sim")
        seconds = time.perf_counter() - start
        frames = len(result.rate_files)
    return {"seconds": round(seconds, 2), "frames": frames,
            "seconds_per_frame": round(seconds / frames, 2),
            "peak_rss_gib": round(peak_rss_gib(), 2)}


def main() -> None:
    """Run the cases in child processes and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", default=None, choices=CASES)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    args = parser.parse_args()
    if args.case:
        if args.case.startswith("frame_"):
            rec = _frame(int(args.case.split("_")[1]))
        else:
            rec = _simulate(args.case == "simulate_ramps")
        print(json.dumps(rec))
        return
    from benchmarks._harness import run_and_report

    def describe(rec: dict) -> list[str]:
        lines = []
        if "recall_percent" in rec:
            lines.append(f"{rec['hits']} hits, {rec['pixels_above_10_sigma']} pixels above "
                         f"10 sigma, {rec['recall_percent']:.2f} % flagged by the jump step")
        if "frames" in rec:
            lines.append(f"{rec['frames']} frames, {rec['seconds_per_frame']:.1f} s per frame")
        return lines

    run_and_report("benchmarks.bench_ramps", args.cases, "bench_ramps.json", describe)

if __name__ == "__main__":
    main()
