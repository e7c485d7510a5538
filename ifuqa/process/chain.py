"""The processing chain: rate → (clean) → (outliers) → cal → (trace model) → s3d → x1d.

Each stage (:mod:`ifuqa.process.stages`) is a thin adapter over the jwst algorithm (through
:mod:`ifuqa.process.jwst_api`) fed by the synthetic instrument model instead of reference
files. Products keep the pipeline's suffixes and record in their primary headers which fixes and
defects were used (:mod:`ifuqa.process.provenance`).

The cal products are written at the detector sampling, before the trace model (as jwst's
calwebb_spec3 runs ``adaptive_trace_model`` on the cal images after outlier detection).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ifuqa.instrument.dispersers import get_disperser
from ifuqa.instrument.layout import pixel_map
from ifuqa.instrument.psf import load_psf
from ifuqa.process.cache import StageCache
from ifuqa.process.config import ProcessingConfig
from ifuqa.process.provenance import TRACE_MODEL, processing_keywords
from ifuqa.process.rate_inputs import ProcessingError, RateExposure, find_rate_files, open_rate
from ifuqa.process.stages.calibration import calibrate_pixels
from ifuqa.process.stages.cleaning import clean_exposures
from ifuqa.process.stages.cube_building import build_cube, grid_for
from ifuqa.process.stages.extraction import extract_point_source, write_x1d
from ifuqa.process.stages.outlier_flags import flag_outliers
from ifuqa.process.stages.point_cloud import point_cloud
from ifuqa.process.stages.trace_oversampling import fitted_summary, oversample_exposure
from ifuqa.process.writers import copy_observation_meta, observation_stem, write_cal
from ifuqa.util.fits_header import add_primary_keywords

__all__ = ["ProcessingError", "ProcessingResult", "process"]


@dataclass
class ProcessingResult:
    """Products written by :func:`process` and the time spent per stage."""

    out_dir: Path
    cleaned_files: list[Path] = field(default_factory=list)
    cal_files: list[Path] = field(default_factory=list)
    cube_file: Path | None = None
    x1d_file: Path | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    jwst_time_s: float = 0.0
    outlier_masks: dict[str, np.ndarray] = field(default_factory=dict)
    config: ProcessingConfig | None = None
    trace_model: list[str] = field(default_factory=list)
    exposure_products: bool = True


@contextmanager
def _stage(result: ProcessingResult, name: str, *, jwst: bool = False) -> Iterator[None]:
    """Add the time the block takes to ``result.timings_s[name]`` (and to the jwst total)."""
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    result.timings_s[name] = result.timings_s.get(name, 0.0) + elapsed
    if jwst:
        result.jwst_time_s += elapsed


def process(input_dir: str | Path, out_dir: str | Path, config: ProcessingConfig | None = None,
            *, rate_files: Iterable[Path] | None = None,
            wavelength_range_um: tuple[float, float] | None = None,
            cache_dir: str | Path | None = None,
            exposure_products: bool = True) -> ProcessingResult:
    """Run the chain on a folder of NIRSpec IFU rate files.

    Parameters
    ----------
    input_dir : path
        Folder with ``*_rate.fits`` (e.g. an ``ifuqa simulate`` output).
    out_dir : path
        Where the ``_cal``, ``_s3d`` and ``_x1d`` products are written.
    config : ProcessingConfig, optional
        Fixes, defects and parameters (default: every fix, jwst defaults).
    rate_files : iterable of path, optional
        Explicit rate files (default: every ``*_rate.fits`` in ``input_dir``).
    wavelength_range_um : (float, float), optional
        Wavelength window to process (default: the simulated band the rate files record,
        ``IFQ_WLO``/``IFQ_WHI``, else the disperser's range).
    cache_dir : path, optional
        Memoise the slow jwst stages (NSClean, outlier detection) here, keyed by the input
        files (path, size, modification time), their parameters and the ifuqa and jwst
        versions, so that several processings of the same exposures (other spaxel scales,
        a reference cube) share them.
    exposure_products : bool
        Write the per-exposure ``_nsclean`` and ``_cal`` files (default). False writes only
        the cube and the spectrum, for further processings of exposures whose exposure-level
        products another processing already wrote (≈ 130 MB per exposure).

    Returns
    -------
    ProcessingResult
    """
    config = config or ProcessingConfig()
    folder = Path(input_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ProcessingResult(out, config=config, exposure_products=exposure_products)
    files = list(rate_files) if rate_files is not None else find_rate_files(folder)
    exposures = [open_rate(Path(f)) for f in files]
    window = wavelength_range_um or exposures[0].band_um
    try:
        return _run(exposures, folder, out, config, window, result,
                    StageCache(Path(cache_dir)) if cache_dir else None)
    finally:
        for exp in exposures:
            exp.model.close()


def _run(exposures: list[RateExposure], folder: Path, out: Path, config: ProcessingConfig,
         window: tuple[float, float] | None, result: ProcessingResult,
         cache: StageCache | None = None) -> ProcessingResult:
    from stdatamodels.jwst.datamodels import dqflags

    first = exposures[0].model.meta.instrument
    gratings = {(e.model.meta.instrument.grating, e.model.meta.instrument.filter)
                for e in exposures}
    if len(gratings) > 1:
        raise ProcessingError(f"{folder}: mixed gratings/filters {sorted(gratings)}")
    disperser = get_disperser(first.grating, first.filter)
    if config.single_dither:
        keep = min(e.exposure for e in exposures)
        exposures = [e for e in exposures if e.exposure == keep]
    maps = {}
    with _stage(result, "instrument model"):
        for det in {e.detector for e in exposures}:
            maps[det] = pixel_map(disperser, det, window)
    data = {e.path: np.array(e.model.data, dtype=np.float64) for e in exposures}
    dq = {e.path: np.array(e.model.dq, dtype=np.uint32) for e in exposures}
    err = {e.path: np.array(e.model.err, dtype=np.float64) for e in exposures}

    if config.effective_clean:
        clean_exposures(exposures, data, dq, disperser, out, config, result, cache,
                        timer=lambda name: _stage(result, name, jwst=True),
                        write_timer=lambda name: _stage(result, name))
    if config.outliers and len({e.exposure for e in exposures}) >= 2:
        flags = flag_outliers(exposures, data, config, cache,
                              timer=lambda name: _stage(result, name, jwst=True))
        for e, flagged in zip(exposures, flags, strict=True):
            result.outlier_masks[e.path.name] = flagged
            dq[e.path][flagged] |= dqflags.pixel["OUTLIER"] | dqflags.pixel["DO_NOT_USE"]

    clouds = []
    for e in exposures:
        pixmap = maps[e.detector]
        with _stage(result, "calibrate"):
            cal = calibrate_pixels(data[e.path], err[e.path], pixmap,
                                   flux_density=config.point_source_in_flux_density)
            good = (dq[e.path][pixmap.y, pixmap.x] & dqflags.pixel["DO_NOT_USE"]) == 0
        if result.exposure_products:
            with _stage(result, "write cal"):
                cal_path = out / e.path.name.replace("_rate.fits", "_cal.fits")
                write_cal(cal_path, e, pixmap, cal, dq[e.path], config)
                result.cal_files.append(cal_path)
        with _stage(result, "point cloud"):
            flux_img = pixmap.to_image(cal.flux, fill=np.nan)
            err_img = pixmap.to_image(cal.err, fill=np.nan)
            good_img = pixmap.to_image(good, fill=False).astype(bool)
        if config.trace_model:
            with _stage(result, "trace model", jwst=True):
                oversampled = oversample_exposure(
                    flux_img, err_img, good_img, pixmap, params=TRACE_MODEL,
                    flux_density=config.point_source_in_flux_density, grating=first.grating)
            result.trace_model.append(f"{e.path.name}: {fitted_summary([oversampled])}")
            del flux_img, err_img, good_img
            with _stage(result, "point cloud"):
                flux_img, err_img, good_img = oversampled.images()
                pixmap = oversampled.pixmap
            del oversampled
        with _stage(result, "point cloud"):
            clouds.append(point_cloud(pixmap, e.pointing, flux_img, err_img, good_img))
        del flux_img, err_img, good_img

    with _stage(result, "cube build", jwst=True):
        grid = grid_for(clouds, spaxel_arcsec=config.spaxel_arcsec,
                        wave_step_um=config.wave_step_um, coord_system=config.coord_system,
                        wavelength_range_um=window, disperser=disperser)
        cube = build_cube(clouds, grid, weighting=config.weighting,
                          flux_units="MJy" if config.point_source_in_flux_density else "MJy/sr")
    del clouds
    copy_observation_meta(cube, exposures[0].model)
    cube_path = out / f"{observation_stem(exposures[0].path)}_s3d.fits"
    cube.meta.filename = cube_path.name
    with _stage(result, "write s3d"):
        cube.save(cube_path)
        add_primary_keywords(cube_path, processing_keywords(config, result.trace_model))
    result.cube_file = cube_path

    with _stage(result, "extract 1-D"):
        psf = load_psf(exposures[0].psf, disperser.wavelength_range_um)
        extraction = extract_point_source(
            cube, psf=psf, radius_fwhm=config.aperture_radius_fwhm,
            radius_arcsec=config.aperture_radius_arcsec,
            annulus_fwhm=config.background_annulus_fwhm, center_xy=config.center_xy,
            autocenter=config.effective_autocenter,
            brightest_spaxel=config.brightest_spaxel and "NS-IFU04" not in config.defects)
        x1d_path = out / f"{observation_stem(exposures[0].path)}_x1d.fits"
        write_x1d(x1d_path, extraction, cube, keywords=processing_keywords(
            config, result.trace_model) | {
            "IFQ_CEN": extraction.centering,
            "IFQ_CX": round(extraction.center_xy[0], 4),
            "IFQ_CY": round(extraction.center_xy[1], 4)})
    cube.close()
    result.x1d_file = x1d_path
    return result


