"""Simulate a scenario: render every exposure and detector, add noise, write rate files + truth.

Output folder layout (``ifuqa simulate SCENARIO --out DIR``)::

    DIR/jw99999001001_03101_0000{i}_{nrs1|nrs2}_rate.fits   IFUImageModel, DN/s
    DIR/jw99999001001_03101_0000{i}_{nrs1|nrs2}_crmask.fits cosmic-ray truth mask (uint8)
    DIR/truth.json                                          the truth of the scene
    DIR/scenario.toml                                       a copy of the scenario used

The truth files are written and read by :mod:`ifuqa.simulate.truth` only.
The header of each rate file records the *commanded* pointing (the IFU centre on the target,
shifted by the known dither offset). The scenario's ``pointing_offset`` is the pointing error the
pipeline does not know about (NS-IFU04): it moves the scene but is recorded only in the truth.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.instrument.dispersers import DETECTOR_COLUMNS, Disperser, get_disperser
from ifuqa.instrument.layout import pixel_map
from ifuqa.instrument.photometry import GAIN_E_PER_DN
from ifuqa.instrument.psf import PSFModel, load_psf
from ifuqa.scenario import Scenario
from ifuqa.simulate.artefacts import (
    COSMIC_RAY_RATE_PER_CM2_S,
    cosmic_ray_residual_fraction,
    cosmic_rays,
    dq_for_detector,
    warm_pixels,
)
from ifuqa.simulate.exposures import ExposurePlan, exposure_plans, write_rate
from ifuqa.simulate.noise import NoiseModel, add_poisson, rate_noise
from ifuqa.simulate.ramps import RampFitter, ramp_rate
from ifuqa.simulate.render import effective_psf, render_pixels
from ifuqa.simulate.scene import SourceModel
from ifuqa.simulate.truth import artefact_truth_path, scene_truth, write_artefact_truth, write_truth

__all__ = ["SimulationError", "SimulationResult", "simulate", "source_models"]



class SimulationError(ValueError):
    """A scenario cannot be simulated as asked (the message says why)."""


@dataclass
class SimulationResult:
    """Files written by :func:`simulate`."""

    out_dir: Path
    rate_files: list[Path] = field(default_factory=list)
    truth_file: Path | None = None


def source_models(scenario: Scenario, disperser: Disperser,
                  psf: PSFModel) -> list[tuple[SourceModel, object]]:
    """The scenario's sources as :func:`~ifuqa.simulate.render.render_pixels` takes them:
    ``(SourceModel, PSF)`` pairs, the PSF itself for a point source and the PSF convolved with
    the source's profile (:func:`~ifuqa.simulate.render.effective_psf`) for an extended one.

    Parameters
    ----------
    scenario : Scenario
        The scene.
    disperser : Disperser
        Its grating and filter.
    psf : PSFModel
        The instrument's PSF (:func:`ifuqa.instrument.psf.load_psf`).

    Returns
    -------
    list of (SourceModel, PSFModel)
    """
    out = []
    for spec in scenario.sources:
        model = SourceModel(spec, disperser, scenario.wavelength_range_um)
        out.append((model, psf if spec.kind == "point" else effective_psf(model, psf)))
    return out




def _rng_for(scenario: Scenario, plan: ExposurePlan) -> np.random.Generator:
    det_index = 0 if plan.detector == "NRS1" else 1
    seq = np.random.SeedSequence([scenario.seed, plan.exposure, det_index])
    return np.random.default_rng(seq)


def _noisy_rate(scenario: Scenario, plan: ExposurePlan, signal_e: np.ndarray,
                rng: np.random.Generator, ramp_fitter: RampFitter | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    """Add noise and artefacts.

    Returns (rate_e, var_poisson_e, var_rnoise_e, dq, cr_mask, cr_rate_e, warm_e), all e⁻/s.
    With ``noise.ramps`` the rate comes from simulated ramps fitted by ``ramp_fitter``
    (:mod:`ifuqa.simulate.ramps`).
    """
    shape = signal_e.shape
    t_eff = scenario.effective_exposure_time
    noise = scenario.noise
    if noise.ramps:
        return _ramp_fitted_rate(scenario, plan, signal_e, rng, ramp_fitter)
    rate = signal_e.copy()
    if noise.poisson:
        rate = add_poisson(signal_e, t_eff, rng)
    var_poisson = np.clip(signal_e, 0.0, None) / t_eff if noise.poisson else np.zeros(shape)
    model = _read_noise_model(scenario)
    read = rate_noise(shape, ngroups=scenario.ngroups, group_time_s=scenario.group_time_s,
                          rng=rng, model=model, detector=plan.detector)
    rate = rate + read.image
    var_rnoise = np.full(shape, read.white_sigma**2)
    cr_mask = np.zeros(shape, dtype=bool)
    cr_rate = np.zeros(shape)
    if noise.cosmic_rays > 0:
        rate_cm2_s = (COSMIC_RAY_RATE_PER_CM2_S * noise.cosmic_rays
                      * cosmic_ray_residual_fraction(scenario.ngroups))
        crs = cosmic_rays(shape, t_eff, rng, rate_per_cm2_s=rate_cm2_s)
        rate = rate + crs.image
        cr_mask = crs.mask
        cr_rate = crs.image
    warm = warm_pixels(scenario, plan.detector, shape)
    rate = rate + warm
    dq = dq_for_detector(shape, rng)
    return rate, var_poisson, var_rnoise, dq, cr_mask, cr_rate, warm


def _read_noise_model(scenario: Scenario) -> NoiseModel:
    """The per-read noise amplitudes of the scenario's readout, scaled by its noise switches."""
    return NoiseModel(readpatt=scenario.readout).scaled(
        white=scenario.noise.read_noise, one_over_f=scenario.noise.one_over_f)


def _ramp_fitted_rate(scenario: Scenario, plan: ExposurePlan, signal_e: np.ndarray,
                      rng: np.random.Generator,
                      ramp_fitter: RampFitter | None) -> tuple[Any, ...]:
    """The ``noise.ramps`` path of :func:`_noisy_rate`: every group simulated, every cosmic-ray
    hit injected at its arrival time, the rate fitted by jwst's jump and ramp-fit steps."""
    if ramp_fitter is None:
        raise SimulationError(
            f"{scenario.name}: [noise] ramps = true needs a ramp-fitting stage: pass "
            "ramp_fitter=ifuqa.process.jwst_api.ramp_fitting.fit_ramps (or use "
            "ifuqa.builds.simulate_scenario, which does)")
    shape = signal_e.shape
    noise = scenario.noise
    dq = dq_for_detector(shape, rng)
    warm = warm_pixels(scenario, plan.detector, shape)
    fitted = ramp_rate(signal_e + warm, ngroups=scenario.ngroups,
                       group_time_s=scenario.group_time_s, detector=plan.detector,
                       gain=GAIN_E_PER_DN[plan.detector], noise=_read_noise_model(scenario),
                       poisson=noise.poisson,
                       pixel_dq=dq,
                       cosmic_ray_rate_per_cm2_s=COSMIC_RAY_RATE_PER_CM2_S * noise.cosmic_rays,
                       rng=rng, fit_ramps=ramp_fitter)
    return (fitted.rate_e, fitted.var_poisson_e, fitted.var_rnoise_e, fitted.dq,
            fitted.cr_mask, fitted.cr_rate_e, warm)


def simulate(scenario: Scenario, out_dir: str | Path, *, seed: int | None = None,
             noiseless: bool = False,
             ramp_fitter: RampFitter | None = None) -> SimulationResult:
    """Render a scenario and write its rate files, cosmic-ray masks and ``truth.json``.

    Parameters
    ----------
    scenario : Scenario
        What to simulate.
    out_dir : path
        Output folder (created if needed).
    seed : int, optional
        Overrides the scenario's seed.
    noiseless : bool
        Switch off every noise term and artefact.
    ramp_fitter : RampFitter, optional
        The ramp-fitting stage for scenarios simulated with ramps (``[noise] ramps = true``):
        :func:`ifuqa.process.jwst_api.ramp_fitting.fit_ramps`. The simulator does not import
        the processing layer; it is handed the stage.

    Returns
    -------
    SimulationResult
    """
    if seed is not None:
        scenario = scenario.with_seed(seed)
    if noiseless:
        scenario = scenario.noiseless()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    disperser = get_disperser(scenario.grating, scenario.filter)
    psf = load_psf(scenario.psf, disperser.wavelength_range_um)
    sources = source_models(scenario, disperser, psf)
    plans = exposure_plans(scenario)
    result = SimulationResult(out)
    files: dict[str, dict] = {}
    maps = {det: pixel_map(disperser, det, scenario.wavelength_range_um)
            for det in {p.detector for p in plans}}
    shape = (DETECTOR_COLUMNS, DETECTOR_COLUMNS)
    for plan in plans:
        pixmap = maps[plan.detector]
        signal = np.zeros(shape)
        signal[pixmap.y, pixmap.x] = render_pixels(
            pixmap, sources, plan.scene_shift,
            background_mjy_sr=scenario.noise.background_mjy_sr)
        rate, var_p, var_r, dq, cr_mask, cr_rate, warm = _noisy_rate(
            scenario, plan, signal, _rng_for(scenario, plan), ramp_fitter)
        rate_path = out / f"{plan.basename}_rate.fits"
        write_rate(rate_path, scenario, plan, rate, var_p, var_r, dq)
        mask_path = artefact_truth_path(out, plan.basename)
        mask_name = mask_path.name
        gain = GAIN_E_PER_DN[plan.detector]
        write_artefact_truth(mask_path, cr_mask, cr_rate / gain, warm / gain,
                    ramps=scenario.noise.ramps)
        files[plan.basename] = {"cosmic_ray_mask": mask_name,
                                "cosmic_ray_pixels": int(cr_mask.sum()),
                                "warm_pixels": int((warm > 0).sum()),
                                "noiseless_total_e_per_s": float(signal.sum())}
        result.rate_files.append(rate_path)
    if scenario.source_path:
        shutil.copyfile(scenario.source_path, out / "scenario.toml")
    truth = scene_truth(scenario, disperser, [s for s, _ in sources], plans, files)
    result.truth_file = write_truth(out, truth)  # last: a folder with truth.json is complete
    return result
