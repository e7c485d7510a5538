"""Simulate a scenario: render every exposure and detector, add noise, write rate files + truth.

Output folder layout (``ifuqa simulate SCENARIO --out DIR``)::

    DIR/jw99999001001_03101_0000{i}_{nrs1|nrs2}_rate.fits   IFUImageModel, DN/s
    DIR/jw99999001001_03101_0000{i}_{nrs1|nrs2}_crmask.fits cosmic-ray truth mask (uint8)
    DIR/truth.json                                          the truth of the scene
    DIR/scenario.toml                                       a copy of the scenario used

The header of each rate file records the *commanded* pointing (the IFU centre on the target,
shifted by the known dither offset). The scenario's ``pointing_offset`` is the pointing error the
pipeline does not know about (NS-IFU04): it moves the scene but is recorded only in the truth.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ifuqa import __version__
from ifuqa.instrument.dispersers import DETECTOR_COLUMNS, Disperser, get_disperser
from ifuqa.instrument.layout import pixel_map
from ifuqa.instrument.photometry import GAIN_E_PER_DN
from ifuqa.instrument.sky import Pointing
from ifuqa.scenario import Scenario
from ifuqa.scene import SourceModel, truth_wavelength_grid

__all__ = [
    "ExposurePlan",
    "SimulationResult",
    "cosmic_ray_residual_fraction",
    "detectors_for",
    "exposure_plans",
    "load_psf",
    "simulate",
    "warm_pixels",
]

PROGRAM_PREFIX = "jw99999001001_03101"
TRUTH_FILENAME = "truth.json"


@dataclass(frozen=True)
class ExposurePlan:
    """One exposure on one detector."""

    exposure: int  # 1-based dither position
    detector: str
    dither_offset: tuple[float, float]
    scene_shift: tuple[float, float]  # pointing offset + dither offset (IFU frame, arcsec)
    commanded: Pointing  # what the header says
    actual: Pointing  # where the IFU really pointed

    @property
    def basename(self) -> str:
        """JWST-style file stem without the suffix."""
        return f"{PROGRAM_PREFIX}_{self.exposure:05d}_{self.detector.lower()}"


@dataclass
class SimulationResult:
    """Files written by :func:`simulate`."""

    out_dir: Path
    rate_files: list[Path] = field(default_factory=list)
    truth_file: Path | None = None


def detectors_for(scenario: Scenario, disperser: Disperser) -> tuple[str, ...]:
    """Detectors that receive light in ``scenario`` (honouring ``detectors`` and the window)."""
    dets = scenario.detectors or disperser.detectors
    if scenario.wavelength_range_um is None:
        return tuple(dets)
    lo, hi = scenario.wavelength_range_um
    keep = []
    for det in dets:
        d_lo, d_hi = disperser.wavelength_range_on(det)
        if d_hi >= lo and d_lo <= hi:
            keep.append(det)
    return tuple(keep)


def exposure_plans(scenario: Scenario) -> list[ExposurePlan]:
    """Every (dither position, detector) of the scenario, with commanded and actual pointing.

    Dither offsets move the target within the IFU: at dither offset ``d`` the target appears at
    IFU position ``d`` (plus its own offset), so the IFU centre points at ``−d`` from the target.
    """
    disperser = get_disperser(scenario.grating, scenario.filter)
    target = Pointing(scenario.target_ra, scenario.target_dec, scenario.position_angle)
    plans = []
    for i, (dx, dy) in enumerate(scenario.dithers, start=1):
        commanded = target.offset_by_ifu(-dx, -dy)
        px, py = scenario.pointing_offset
        actual = target.offset_by_ifu(-dx - px, -dy - py)
        for det in detectors_for(scenario, disperser):
            plans.append(ExposurePlan(i, det, (dx, dy), (dx + px, dy + py), commanded, actual))
    return plans


def load_psf(scenario: Scenario, disperser: Disperser):
    """The PSF of a scenario: the diffraction model, or the user's PSF cube."""
    from ifuqa.psf import CubePSF, DiffractionPSF

    if scenario.psf == "model":
        return DiffractionPSF(disperser.wavelength_min_um, disperser.wavelength_max_um)
    return CubePSF.from_fits(scenario.psf)


COSMIC_RAY_RATE_PER_CM2_S = 3.0
"""Cosmic-ray hits per cm² per second on the detectors (KNOWN_ISSUES: ~2–5)."""


JUMP_DETECTION_MISS_FRACTION = 0.02
"""Fraction of cosmic-ray hits that ramp fitting's jump detection misses when it can work."""

WARM_PIXEL_FRACTION = 3.0e-4
"""Fraction of detector pixels that are warm but absent from the bad-pixel mask."""


def cosmic_ray_residual_fraction(ngroups: int) -> float:
    """Fraction of cosmic-ray hits that survive ramp fitting into the count-rate image.

    A hit before the first or after the last read only offsets the ramp; a hit between reads is
    a jump that ramp fitting's jump detection removes (the ramp is fitted on either side) —
    except with two groups, where the single difference cannot be tested, and for a small
    fraction of missed jumps (faint or shower-like hits): :data:`JUMP_DETECTION_MISS_FRACTION`.
    The truth mask records exactly the hits that remain in the rate.
    """
    return 1.0 if int(ngroups) <= 2 else JUMP_DETECTION_MISS_FRACTION


def warm_pixels(scenario: Scenario, detector: str,
                shape: tuple[int, int]) -> np.ndarray:
    """Extra count rate (e⁻/s) of warm pixels that are not in the bad-pixel mask.

    These time-variable bad pixels sit at the same detector pixels in every exposure of the
    observation (drawn from a generator seeded by the scenario seed and the detector only) —
    the outliers jwst's IFU outlier method is designed to find. Rates are log-uniform between
    0.5 and 50 e⁻/s; the density is :data:`WARM_PIXEL_FRACTION` × ``noise.warm_pixels``.
    """
    image = np.zeros(shape)
    fraction = WARM_PIXEL_FRACTION * scenario.noise.warm_pixels
    if fraction <= 0:
        return image
    rng = np.random.default_rng(np.random.SeedSequence(
        [scenario.seed, 7919, 0 if detector == "NRS1" else 1]))
    n = rng.poisson(fraction * shape[0] * shape[1])
    ys = rng.integers(4, shape[0] - 4, n)
    xs = rng.integers(4, shape[1] - 4, n)
    image[ys, xs] = np.exp(rng.uniform(np.log(0.5), np.log(50.0), n))
    return image


def _sources(scenario: Scenario, disperser: Disperser, psf) -> list[tuple[SourceModel, object]]:
    from ifuqa.render import effective_psf

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
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    """Add noise and artefacts.

    Returns (rate_e, var_poisson_e, var_rnoise_e, dq, cr_mask, cr_rate_e, warm_e), all e⁻/s.
    With ``noise.ramps`` the rate comes from simulated ramps fitted by jwst (:mod:`ifuqa.ramps`).
    """
    from ifuqa import detector as det

    shape = signal_e.shape
    t_eff = scenario.effective_exposure_time
    noise = scenario.noise
    if noise.ramps:
        return _ramp_fitted_rate(scenario, plan, signal_e, rng)
    rate = signal_e.copy()
    if noise.poisson:
        rate = det.add_poisson(signal_e, t_eff, rng)
    var_poisson = np.clip(signal_e, 0.0, None) / t_eff if noise.poisson else np.zeros(shape)
    model = _read_noise_model(scenario)
    read = det.rate_noise(shape, ngroups=scenario.ngroups, group_time_s=scenario.group_time_s,
                          rng=rng, model=model, detector=plan.detector)
    rate = rate + read.image
    var_rnoise = np.full(shape, read.white_sigma**2)
    cr_mask = np.zeros(shape, dtype=bool)
    cr_rate = np.zeros(shape)
    if noise.cosmic_rays > 0:
        rate_cm2_s = (COSMIC_RAY_RATE_PER_CM2_S * noise.cosmic_rays
                      * cosmic_ray_residual_fraction(scenario.ngroups))
        crs = det.cosmic_rays(shape, t_eff, rng, rate_per_cm2_s=rate_cm2_s)
        rate = rate + crs.image
        cr_mask = crs.mask
        cr_rate = crs.image
    warm = warm_pixels(scenario, plan.detector, shape)
    rate = rate + warm
    dq = det.dq_for_detector(shape, rng)
    return rate, var_poisson, var_rnoise, dq, cr_mask, cr_rate, warm


def _read_noise_model(scenario: Scenario):
    """The per-read noise amplitudes of the scenario's readout, scaled by its noise switches."""
    from ifuqa import detector as det

    return det.NoiseModel(readpatt=scenario.readout).scaled(
        white=scenario.noise.read_noise, one_over_f=scenario.noise.one_over_f)


def _ramp_fitted_rate(scenario: Scenario, plan: ExposurePlan, signal_e: np.ndarray,
                      rng: np.random.Generator):
    """The ``noise.ramps`` path of :func:`_noisy_rate`: every group simulated, every cosmic-ray
    hit injected at its arrival time, the rate fitted by jwst's jump and ramp-fit steps."""
    from ifuqa import detector as det
    from ifuqa.ramps import ramp_rate

    shape = signal_e.shape
    noise = scenario.noise
    dq = det.dq_for_detector(shape, rng)
    warm = warm_pixels(scenario, plan.detector, shape)
    fitted = ramp_rate(signal_e + warm, ngroups=scenario.ngroups,
                       group_time_s=scenario.group_time_s, detector=plan.detector,
                       gain=GAIN_E_PER_DN[plan.detector], noise=_read_noise_model(scenario),
                       poisson=noise.poisson,
                       pixel_dq=dq,
                       cosmic_ray_rate_per_cm2_s=COSMIC_RAY_RATE_PER_CM2_S * noise.cosmic_rays,
                       rng=rng)
    return (fitted.rate_e, fitted.var_poisson_e, fitted.var_rnoise_e, fitted.dq,
            fitted.cr_mask, fitted.cr_rate_e, warm)


def _write_rate(path: Path, scenario: Scenario, plan: ExposurePlan, rate_e: np.ndarray,
                var_poisson_e: np.ndarray, var_rnoise_e: np.ndarray, dq: np.ndarray) -> None:
    from stdatamodels.jwst import datamodels

    gain = GAIN_E_PER_DN[plan.detector]
    model = datamodels.IFUImageModel()
    model.data = (rate_e / gain).astype(np.float32)
    model.var_poisson = (var_poisson_e / gain**2).astype(np.float32)
    model.var_rnoise = (var_rnoise_e / gain**2).astype(np.float32)
    model.err = np.sqrt(model.var_poisson + model.var_rnoise).astype(np.float32)
    model.dq = dq.astype(np.uint32)
    meta = model.meta
    meta.filename = path.name
    meta.telescope = "JWST"
    meta.instrument.name = "NIRSPEC"
    meta.instrument.detector = plan.detector
    meta.instrument.grating = scenario.grating
    meta.instrument.filter = scenario.filter
    meta.exposure.type = "NRS_IFU"
    meta.exposure.readpatt = scenario.readout
    meta.exposure.nints = 1
    meta.exposure.ngroups = scenario.ngroups
    meta.exposure.group_time = scenario.group_time_s
    meta.exposure.exposure_time = scenario.effective_exposure_time
    meta.exposure.effective_exposure_time = scenario.effective_exposure_time
    meta.exposure.start_time = 60000.0 + plan.exposure * 0.02
    meta.observation.date = "2026-01-01"
    meta.observation.exposure_number = str(plan.exposure)
    meta.subarray.name = "FULL"
    meta.aperture.name = "NRS_FULL_IFU"
    meta.dither.position_number = plan.exposure
    meta.dither.total_points = len(scenario.dithers)
    meta.dither.primary_type = scenario.dither_pattern.upper()
    meta.dither.x_offset = plan.dither_offset[0]
    meta.dither.y_offset = plan.dither_offset[1]
    meta.wcsinfo.ra_ref = plan.commanded.ra_deg
    meta.wcsinfo.dec_ref = plan.commanded.dec_deg
    meta.wcsinfo.roll_ref = plan.commanded.pa_deg
    meta.target.ra = scenario.target_ra
    meta.target.dec = scenario.target_dec
    meta.target.source_type = ("POINT" if scenario.sources[0].kind == "point" else "EXTENDED")
    meta.bunit_data = "DN/s"
    meta.bunit_err = "DN/s"
    meta.calibration_software_name = "ifuqa"
    meta.calibration_software_version = __version__
    model.save(path)
    model.close()


def _write_mask(path: Path, mask: np.ndarray, cr_rate_dn: np.ndarray,
                warm_dn: np.ndarray, *, ramps: bool = False) -> None:
    """Artefact truth: primary HDU = cosmic-ray mask (uint8), extension CRRATE = the count rate
    the cosmic rays added (DN/s) — with simulated ramps, what they would add to the slope had
    jump detection missed them — extension WARM = the warm pixels' count rate (DN/s)."""
    from astropy.io import fits

    hdu = fits.PrimaryHDU(mask.astype(np.uint8))
    hdu.header["EXTNAME"] = "CRMASK"
    hdu.header["CRMODEL"] = ("ramps" if ramps else "residual", "all hits, or only missed ones")
    hdu.header["COMMENT"] = ("ifuqa cosmic-ray truth mask: 1 where a hit after the first read "
                             "left charge" if ramps else
                             "ifuqa cosmic-ray truth mask: 1 where a cosmic ray deposited charge")
    rate = fits.ImageHDU(cr_rate_dn.astype(np.float32), name="CRRATE")
    rate.header["BUNIT"] = "DN/s"
    rate.header["COMMENT"] = ("slope each hit would add if jump detection missed it" if ramps
                              else "count rate each cosmic ray added to the rate image")
    warm = fits.ImageHDU(warm_dn.astype(np.float32), name="WARM")
    warm.header["BUNIT"] = "DN/s"
    warm.header["COMMENT"] = "warm pixels absent from the DQ mask, same in every exposure"
    fits.HDUList([hdu, rate, warm]).writeto(path, overwrite=True)


def _truth(scenario: Scenario, disperser: Disperser, sources: list[SourceModel],
           plans: list[ExposurePlan], files: dict[str, dict]) -> dict:
    grid = truth_wavelength_grid(disperser, sources)
    records = []
    for src in sources:
        x, y = src.position_arcsec(grid[[0, -1]])
        rec = {
            "kind": src.spec.kind,
            "offset_arcsec": list(src.spec.offset),
            "drift_mas": list(src.spec.drift_mas),
            "track_arcsec": {"wavelength_um": [float(grid[0]), float(grid[-1])],
                             "across": [float(v) for v in x], "along": [float(v) for v in y]},
            "flux_mjy": src.spec.flux_mjy,
            "reference_wavelength_um": src.reference_wavelength_um,
            "spectral_index": src.spec.spectral_index,
            "lines": [asdict(line) for line in src.spec.lines],
            "wavelength_um": grid.round(7).tolist(),
            "flux_jy": (src.flux_mjy(grid) * 1e-3).tolist(),
        }
        if src.spec.kind == "extended":
            rec.update(profile=src.spec.profile, radius_arcsec=src.spec.radius_arcsec,
                       sersic_index=src.spec.sersic_index, axis_ratio=src.spec.axis_ratio,
                       position_angle_deg=src.spec.position_angle_deg)
        records.append(rec)
    exposures = []
    for plan in plans:
        exposures.append({
            "exposure": plan.exposure,
            "detector": plan.detector,
            "rate_file": f"{plan.basename}_rate.fits",
            "dither_offset_arcsec": list(plan.dither_offset),
            "scene_shift_arcsec": list(plan.scene_shift),
            "commanded_pointing": asdict(plan.commanded),
            "actual_pointing": asdict(plan.actual),
            **files[plan.basename],
        })
    return {
        "ifuqa_version": __version__,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "grating": scenario.grating,
        "filter": scenario.filter,
        "resolving_power": disperser.resolving_power,
        "wavelength_range_um": list(scenario.wavelength_range_um
                                    or (disperser.wavelength_min_um, disperser.wavelength_max_um)),
        "pointing_offset_arcsec": list(scenario.pointing_offset),
        "position_angle_deg": scenario.position_angle,
        "target": {"ra_deg": scenario.target_ra, "dec_deg": scenario.target_dec},
        "frame": ("offsets are IFU-frame arcsec: [across slices, along slices]; at position "
                  "angle 0 'along' points north and 'across' west"),
        "noise": asdict(scenario.noise),
        "sources": records,
        "exposures": exposures,
    }


def simulate(scenario: Scenario, out_dir: str | Path, *, seed: int | None = None,
             noiseless: bool = False) -> SimulationResult:
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
    psf = load_psf(scenario, disperser)
    sources = _sources(scenario, disperser, psf)
    plans = exposure_plans(scenario)
    result = SimulationResult(out)
    files: dict[str, dict] = {}
    maps = {det: pixel_map(disperser, det, scenario.wavelength_range_um)
            for det in {p.detector for p in plans}}
    shape = (DETECTOR_COLUMNS, DETECTOR_COLUMNS)
    for plan in plans:
        pixmap = maps[plan.detector]
        from ifuqa.render import render_pixels

        signal = np.zeros(shape)
        signal[pixmap.y, pixmap.x] = render_pixels(
            pixmap, sources, plan.scene_shift,
            background_mjy_sr=scenario.noise.background_mjy_sr)
        rate, var_p, var_r, dq, cr_mask, cr_rate, warm = _noisy_rate(
            scenario, plan, signal, _rng_for(scenario, plan))
        rate_path = out / f"{plan.basename}_rate.fits"
        _write_rate(rate_path, scenario, plan, rate, var_p, var_r, dq)
        mask_name = f"{plan.basename}_crmask.fits"
        gain = GAIN_E_PER_DN[plan.detector]
        _write_mask(out / mask_name, cr_mask, cr_rate / gain, warm / gain,
                    ramps=scenario.noise.ramps)
        files[plan.basename] = {"cosmic_ray_mask": mask_name,
                                "cosmic_ray_pixels": int(cr_mask.sum()),
                                "warm_pixels": int((warm > 0).sum()),
                                "noiseless_total_e_per_s": float(signal.sum())}
        result.rate_files.append(rate_path)
    truth = _truth(scenario, disperser, [s for s, _ in sources], plans, files)
    truth_path = out / TRUTH_FILENAME
    truth_path.write_text(json.dumps(truth, indent=1))
    result.truth_file = truth_path
    if scenario.source_path:
        shutil.copyfile(scenario.source_path, out / "scenario.toml")
    return result
