"""The processing chain: rate → (clean) → (outliers) → cal → (trace model) → s3d → x1d.

Each stage (:mod:`ifuqa.process.stages`) is a thin adapter over the jwst algorithm (through
:mod:`ifuqa.process.jwst_api`) fed by the synthetic instrument model instead of reference
files. Products keep the pipeline's suffixes and record in their primary headers which fixes and
defects were used (:mod:`ifuqa.process.provenance`).

The cal products are written at the detector sampling, before the trace model (as jwst's
calwebb_spec3 runs ``adaptive_trace_model`` on the cal images after outlier detection).

An optional stage the installed jwst line cannot provide
(:func:`ifuqa.process.jwst_api.stage_availability`) is never replaced by processing without it:
asking for it raises :class:`StageUnavailableError`, naming the stage and the reason, before
anything is processed.
"""

from __future__ import annotations

import dataclasses
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
from ifuqa.process.jwst_api import stage_availability
from ifuqa.process.provenance import TRACE_MODEL, processing_keywords
from ifuqa.process.rate_inputs import ProcessingError, RateExposure, find_rate_files, open_rate
from ifuqa.process.stages.calibration import calibrate_pixels
from ifuqa.process.stages.cleaning import clean_exposures
from ifuqa.process.stages.cube_building import build_cube, grid_for
from ifuqa.process.stages.extraction import extract_with_step, write_step_x1d
from ifuqa.process.stages.outlier_flags import flag_outliers
from ifuqa.process.stages.point_cloud import point_cloud
from ifuqa.process.stages.trace_oversampling import fitted_summary, oversample_exposure
from ifuqa.process.writers import copy_observation_meta, observation_stem, write_cal
from ifuqa.util.fits_header import add_primary_keywords

__all__ = ["ProcessingError", "ProcessingResult", "StageUnavailableError", "build_again",
           "extract_again",
           "process", "require_stages"]


class StageUnavailableError(ProcessingError):
    """A stage the configuration asks for is unavailable on the installed jwst line.

    Attributes
    ----------
    stage : str
        The stage module (``"adaptive_trace_model"``).
    reason : str
        Why the line cannot provide it.
    """

    def __init__(self, message: str, *, stage: str, reason: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.reason = reason


OPTIONAL_STAGES = {"trace_model": ("adaptive_trace_model", "--trace-model")}
"""Configuration switch → (jwst stage module, how it is asked for) of the optional stages."""


def require_stages(config: ProcessingConfig) -> None:
    """Fail, naming the stage and the reason, if ``config`` asks for an optional stage the
    installed jwst line cannot provide.

    Parameters
    ----------
    config : ProcessingConfig
        The processing configuration.

    Raises
    ------
    StageUnavailableError
        When a stage it switches on is unavailable (nothing is replaced by processing without
        it).
    """
    for switch, (stage, option) in OPTIONAL_STAGES.items():
        if not getattr(config, switch):
            continue
        availability = stage_availability(stage)
        if not availability.available:
            raise StageUnavailableError(
                f"{option}: {availability.describe()}. Nothing was processed: the stage is "
                "not replaced by processing without it", stage=stage,
                reason=availability.reason)


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
    psf: object = None
    """The PSF model the extraction used (for :func:`extract_again`)."""
    clouds: list = field(default_factory=list, repr=False)
    """The exposures' point clouds, kept when :func:`process` is asked to (``keep_clouds``),
    for :func:`build_again`."""
    window: tuple[float, float] | None = None
    rate_files: list[Path] = field(default_factory=list)


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
            exposure_products: bool = True, keep_clouds: bool = False) -> ProcessingResult:
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
    keep_clouds : bool
        Keep the exposures' point clouds in the result, so that :func:`build_again` can build
        cubes at other spaxel scales from them without processing the exposures again.

    Returns
    -------
    ProcessingResult

    Raises
    ------
    StageUnavailableError
        When ``config`` asks for a stage the installed jwst line cannot provide.
    """
    config = config or ProcessingConfig()
    require_stages(config)
    folder = Path(input_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ProcessingResult(out, config=config, exposure_products=exposure_products)
    files = list(rate_files) if rate_files is not None else find_rate_files(folder)
    exposures = [open_rate(Path(f)) for f in files]
    window = wavelength_range_um or exposures[0].band_um
    try:
        return _run(exposures, folder, out, config, window, result,
                    StageCache(Path(cache_dir)) if cache_dir else None,
                    keep_clouds=keep_clouds)
    finally:
        for exp in exposures:
            exp.model.close()


def _run(exposures: list[RateExposure], folder: Path, out: Path, config: ProcessingConfig,
         window: tuple[float, float] | None, result: ProcessingResult,
         cache: StageCache | None = None, *, keep_clouds: bool = False) -> ProcessingResult:
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

    if keep_clouds:
        result.clouds, result.window = clouds, window
        result.rate_files = [e.path for e in exposures]
    _cube_and_spectrum(clouds, exposures[0], disperser, config, window, out, result)
    return result


def _cube_and_spectrum(clouds: list, first: RateExposure, disperser: object,
                       config: ProcessingConfig, window: tuple[float, float] | None, out: Path,
                       result: ProcessingResult, psf: object = None,
                       center_sky: tuple[float, float, float] | None = None) -> None:
    """Build the cube of the point clouds, write it and extract its spectrum (the end of the
    chain, shared by :func:`process` and :func:`build_again`); with ``center_sky`` (RA, Dec in
    degrees and a wavelength in µm) the spectrum is extracted there instead of where the
    configuration's centring would put it."""
    with _stage(result, "cube build", jwst=True):
        grid = grid_for(clouds, spaxel_arcsec=config.spaxel_arcsec,
                        wave_step_um=config.wave_step_um, coord_system=config.coord_system,
                        wavelength_range_um=window, disperser=disperser)
        cube = build_cube(clouds, grid, weighting=config.weighting,
                          flux_units="MJy" if config.point_source_in_flux_density else "MJy/sr")
    copy_observation_meta(cube, first.model)
    cube_path = out / f"{observation_stem(first.path)}_s3d.fits"
    cube.meta.filename = cube_path.name
    with _stage(result, "write s3d"):
        cube.save(cube_path)
        add_primary_keywords(cube_path, processing_keywords(config, result.trace_model))
    result.cube_file = cube_path

    with _stage(result, "extract 1-D", jwst=True):
        if psf is None:
            psf = load_psf(first.psf, disperser.wavelength_range_um)
        result.psf = psf
        extract_config = config
        if center_sky is not None:
            x, y = cube.meta.wcs.invert(*center_sky)[:2]
            extract_config = dataclasses.replace(config, center_xy=(float(x), float(y)))
        x1d_path = out / f"{observation_stem(first.path)}_x1d.fits"
        result.x1d_file = _extract(cube, psf, extract_config, x1d_path, result.trace_model)
    cube.close()


def _extraction_sky(result: ProcessingResult) -> tuple[float, float, float] | None:
    """Where the earlier result's x1d was extracted, on the sky: (RA, Dec in degrees, the
    cube's middle wavelength in µm), from its ``IFQ_CX``/``IFQ_CY`` and its cube's WCS; None
    when either is missing."""
    from astropy.io import fits
    from stdatamodels.jwst.datamodels import IFUCubeModel

    if result.x1d_file is None or result.cube_file is None:
        return None
    header = fits.getheader(result.x1d_file)
    if "IFQ_CX" not in header or "IFQ_CY" not in header:
        return None
    with IFUCubeModel(str(result.cube_file)) as cube:
        plane = cube.data.shape[0] // 2
        ra, dec, lam = cube.meta.wcs(float(header["IFQ_CX"]), float(header["IFQ_CY"]), plane)
    return float(ra), float(dec), float(lam)


CUBE_FIELDS = frozenset({"spaxel_arcsec", "wave_step_um", "weighting", "coord_system"})
"""Configuration fields that change the cube but not the exposures' point clouds."""

EXTRACTION_FIELDS = frozenset({"aperture_radius_fwhm", "aperture_radius_arcsec",
                               "background_annulus_fwhm", "center_xy", "brightest_spaxel"})
"""Configuration fields that change only the 1-D extraction."""


def _differing_fields(before: ProcessingConfig, config: ProcessingConfig) -> set[str]:
    import dataclasses

    return {f.name for f in dataclasses.fields(ProcessingConfig)
            if getattr(before, f.name) != getattr(config, f.name)}


def build_again(result: ProcessingResult, out_dir: str | Path,
                config: ProcessingConfig) -> ProcessingResult:
    """Build the cube of an earlier :func:`process` (run with ``keep_clouds=True``) again from
    its point clouds, with other cube settings (spaxel scale, wavelength step, weighting,
    orientation) and extraction settings, and extract it; the exposures are not processed
    again. The products are those :func:`process` with ``config`` and
    ``exposure_products=False`` writes, except that a spectrum the earlier processing centred
    by itself (``ifu_autocen``) is extracted at the same place on the sky rather than centred
    again: at a coarse spaxel scale ``ifu_autocen`` may find nothing and fall back to the target
    position, which is not the source's when the source is off the field's centre, and a study
    of the cube's spaxel scale must not turn into one of the centring.

    Parameters
    ----------
    result : ProcessingResult
        The earlier processing, with its point clouds.
    out_dir : path
        Where the new ``_s3d`` and ``_x1d`` go.
    config : ProcessingConfig
        The earlier configuration with other cube or extraction settings.

    Returns
    -------
    ProcessingResult
        The new products and the time spent.

    Raises
    ------
    ProcessingError
        When ``config`` changes more than the cube and the extraction, or the result kept no
        point clouds.
    """
    before = result.config or ProcessingConfig()
    other = _differing_fields(before, config) - CUBE_FIELDS - EXTRACTION_FIELDS
    if other or not result.clouds:
        raise ProcessingError(f"build_again: {sorted(other) or 'no point clouds kept'}; run "
                              "process() instead")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    again = ProcessingResult(out, config=config, exposure_products=False,
                             trace_model=list(result.trace_model))
    same_place = (config.effective_autocenter and config.center_xy is None
                  and not config.brightest_spaxel)
    center_sky = _extraction_sky(result) if same_place else None
    first = open_rate(result.rate_files[0])
    try:
        instrument = first.model.meta.instrument
        _cube_and_spectrum(result.clouds, first, get_disperser(instrument.grating,
                                                               instrument.filter),
                           config, result.window, out, again, psf=result.psf,
                           center_sky=center_sky)
    finally:
        first.model.close()
    return again


def _extract(cube: object, psf: object, config: ProcessingConfig, x1d_path: Path,
             trace_model: list[str]) -> Path:
    """Extract the cube's spectrum with jwst's ``Extract1dStep`` (ifuqa's EXTRACT1D and APCORR
    files from the known PSF) and write the x1d with ifuqa's keywords."""
    extraction = extract_with_step(
        cube, psf=psf, radius_fwhm=config.aperture_radius_fwhm,
        radius_arcsec=config.aperture_radius_arcsec,
        annulus_fwhm=config.background_annulus_fwhm, center_xy=config.center_xy,
        autocenter=config.effective_autocenter,
        brightest_spaxel=config.brightest_spaxel and "NS-IFU04" not in config.defects)
    write_step_x1d(x1d_path, extraction, keywords=processing_keywords(config, trace_model) | {
        "IFQ_CEN": extraction.centering,
        "IFQ_CX": round(extraction.center_xy[0], 4),
        "IFQ_CY": round(extraction.center_xy[1], 4)})
    return x1d_path


def extract_again(result: ProcessingResult, out_dir: str | Path,
                  config: ProcessingConfig) -> ProcessingResult:
    """Extract the cube of an earlier :func:`process` again with other extraction settings
    (``config`` may differ from ``result.config`` only in them: the cube is reused, not rebuilt).

    Parameters
    ----------
    result : ProcessingResult
        The earlier processing (its cube and configuration).
    out_dir : path
        Where the new ``_x1d`` goes.
    config : ProcessingConfig
        The earlier configuration with other aperture settings.

    Returns
    -------
    ProcessingResult
        The new products and the time spent.
    """
    from stdatamodels.jwst.datamodels import IFUCubeModel

    other = _differing_fields(result.config or ProcessingConfig(), config) - EXTRACTION_FIELDS
    if other or result.cube_file is None:
        raise ProcessingError(f"extract_again: {sorted(other)} change the cube; run process() "
                              "instead")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    again = ProcessingResult(out, config=config, exposure_products=False,
                             trace_model=list(result.trace_model))
    again.cube_file = result.cube_file
    with _stage(again, "extract 1-D", jwst=True), IFUCubeModel(str(result.cube_file)) as cube:
        name = result.cube_file.name.replace("_s3d.fits", "_x1d.fits")
        again.x1d_file = _extract(cube, result.psf, config, out / name, again.trace_model)
    again.psf = result.psf
    return again


