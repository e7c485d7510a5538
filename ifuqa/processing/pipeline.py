"""The processing chain: rate → (clean) → (outliers) → cal → (trace model) → s3d → x1d.

Each stage is a thin adapter over the jwst algorithm (through :mod:`ifuqa.processing.jwst_adapter`)
fed by the synthetic instrument model instead of reference files. Products keep the pipeline's
suffixes and record in their primary headers which fixes and defects were used:

``IFQ_VER``  ifuqa version · ``IFQ_DEF`` defects re-created (comma-separated NS-IFU IDs, or
``NONE``) · ``IFQ_FIX`` the fixes in force · ``IFQ_WGT`` cube weighting · ``IFQ_SPAX`` spaxel
scale (arcsec) · ``IFQ_CSYS`` cube coordinate system · ``IFQ_TRM`` whether the adaptive trace
model oversampled the images before cube building (``IFQ_TRMF`` its factor, ``IFQ_TRMP`` its
parameters, and a HISTORY line with the slices fitted per exposure, when it did).

The cal products are written at the detector sampling, before the trace model (as jwst's
calwebb_spec3 runs ``adaptive_trace_model`` on the cal images after outlier detection).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ifuqa import __version__
from ifuqa.instrument.dispersers import get_disperser
from ifuqa.instrument.layout import pixel_map, unilluminated_mask
from ifuqa.instrument.sky import Pointing
from ifuqa.processing.calibrate import calibrate_pixels
from ifuqa.processing.defects import DEFECTS, ProcessingConfig
from ifuqa.processing.provenance import add_provenance
from ifuqa.processing.trace import TraceModelParameters, fitted_summary, oversample_exposure

__all__ = ["ProcessingError", "ProcessingResult", "find_rate_files", "process"]


NSCLEAN_BUFF = False
"""NSClean's "buffing" (a Gaussian smoothing of the fitted model across adjacent lines, on in
jwst's clean_flicker_noise) is off: it leaves the line-to-line part of the 1/f noise, about half
of the banding amplitude in the simulated detectors (residual/injected 0.5 with buffing, 0.14
without, measured on full frames with the IFU mask)."""

TRACE_MODEL = TraceModelParameters()
"""Parameters of the adaptive-trace-model stage (``ProcessingConfig.trace_model``)."""


class ProcessingError(RuntimeError):
    """The input cannot be processed (the message names the file and the reason)."""


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


@dataclass
class _Exposure:
    path: Path
    model: object  # IFUImageModel (opened)
    detector: str
    pointing: Pointing
    exposure: int


def find_rate_files(folder: Path) -> list[Path]:
    """The ``*_rate.fits`` files of a folder, sorted."""
    files = sorted(Path(folder).glob("*_rate.fits"))
    if not files:
        raise ProcessingError(f"{folder}: no *_rate.fits files to process")
    return files


def _open_rate(path: Path) -> _Exposure:
    from stdatamodels.jwst import datamodels

    from ifuqa.products import ProductError, probe_fits

    try:
        probe_fits(path)
    except ProductError as exc:
        raise ProcessingError(str(exc)) from exc
    try:
        model = datamodels.open(path)
    except Exception as exc:
        raise ProcessingError(f"{path}: cannot be opened as a JWST product ({exc})") from exc
    if not isinstance(model, datamodels.IFUImageModel):
        model.close()
        raise ProcessingError(f"{path}: not an IFU image (opened as {type(model).__name__})")
    meta = model.meta
    if meta.instrument.name != "NIRSPEC" or meta.exposure.type != "NRS_IFU":
        model.close()
        raise ProcessingError(f"{path}: not a NIRSpec IFU exposure "
                              f"(INSTRUME={meta.instrument.name}, EXP_TYPE={meta.exposure.type})")
    if meta.bunit_data not in (None, "DN/s"):
        model.close()
        raise ProcessingError(f"{path}: expected a count-rate image in DN/s, found "
                              f"BUNIT={meta.bunit_data!r}")
    info = meta.wcsinfo
    if info.ra_ref is None or info.dec_ref is None:
        model.close()
        raise ProcessingError(f"{path}: no pointing (RA_REF/DEC_REF) in the header")
    pointing = Pointing(float(info.ra_ref), float(info.dec_ref), float(info.roll_ref or 0.0))
    return _Exposure(path, model, meta.instrument.detector, pointing,
                     int(meta.dither.position_number or 1))


@contextmanager
def _stage(result: ProcessingResult, name: str, *, jwst: bool = False):
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    result.timings_s[name] = result.timings_s.get(name, 0.0) + elapsed
    if jwst:
        result.jwst_time_s += elapsed


def _keywords(config: ProcessingConfig, trace_history: list[str] | None = None
              ) -> dict[str, object]:
    keywords: dict[str, object] = {
        "IFQ_VER": __version__,
        "IFQ_DEF": ",".join(sorted(config.defects)) or "NONE",
        "IFQ_FIX": ",".join(f.split()[0] for f in config.fixes()) or "NONE",
        "HISTORY": [f"ifuqa fix: {f}" for f in config.fixes()]
        + [f"ifuqa defect re-created: {d} ({DEFECTS[d]})" for d in sorted(config.defects)],
        "IFQ_WGT": config.weighting,
        "IFQ_SPAX": config.spaxel_arcsec,
        "IFQ_CSYS": config.coord_system,
        "IFQ_TRM": bool(config.trace_model),
    }
    if config.trace_model:
        keywords["IFQ_TRMF"] = TRACE_MODEL.oversample_factor
        keywords["IFQ_TRMP"] = TRACE_MODEL.describe()
        keywords["HISTORY"] = [*keywords["HISTORY"],  # type: ignore[misc]
                               f"ifuqa adaptive trace model: {TRACE_MODEL.describe()}",
                               *(f"ifuqa trace model {line}" for line in trace_history or [])]
    return keywords


def _window_from_truth(folder: Path) -> tuple[float, float] | None:
    truth = folder / "truth.json"
    if truth.is_file():
        lo, hi = json.loads(truth.read_text())["wavelength_range_um"]
        return float(lo), float(hi)
    return None


def _load_psf(folder: Path, disperser):
    """The known PSF: the scenario's (when processing a simulation), else the model PSF."""
    from ifuqa.psf import DiffractionPSF

    scenario_file = folder / "scenario.toml"
    if scenario_file.is_file():
        from ifuqa.scenario import load_scenario
        from ifuqa.simulate import load_psf

        return load_psf(load_scenario(scenario_file), disperser)
    return DiffractionPSF(disperser.wavelength_min_um, disperser.wavelength_max_um)


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
        Wavelength window to process (default: the simulation's window from ``truth.json``,
        else the disperser's range).
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
    window = wavelength_range_um or _window_from_truth(folder)
    exposures = [_open_rate(Path(f)) for f in files]
    try:
        return _run(exposures, folder, out, config, window, result,
                    _StageCache(Path(cache_dir)) if cache_dir else None)
    finally:
        for exp in exposures:
            exp.model.close()


class _StageCache:
    """On-disk memo of stage outputs (arrays), keyed by a hash of the stage's inputs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(*parts: object) -> str:
        import hashlib
        from importlib.metadata import version

        blob = repr((parts, __version__, version("jwst"))).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    @staticmethod
    def file_id(path: Path) -> tuple[str, int, int]:
        stat = Path(path).stat()
        return str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.root / f"{key}.npz"
        if not path.is_file():
            return None
        with np.load(path) as data:
            return {k: data[k] for k in data.files}

    def save(self, key: str, **arrays: np.ndarray) -> None:
        import os
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".npz")
        os.close(fd)
        np.savez(tmp, **arrays)
        os.replace(tmp, self.root / f"{key}.npz")


def _run(exposures: list[_Exposure], folder: Path, out: Path, config: ProcessingConfig,
         window: tuple[float, float] | None, result: ProcessingResult,
         cache: _StageCache | None = None) -> ProcessingResult:
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
        from ifuqa.processing.jwst_adapter import nsclean

        for e in exposures:
            mask = unilluminated_mask(disperser, e.detector)
            mask &= (dq[e.path] & dqflags.pixel["DO_NOT_USE"]) == 0
            key = cache.key("nsclean", cache.file_id(e.path), NSCLEAN_BUFF) if cache else None
            hit = cache.load(key) if cache else None
            if hit is not None:
                data[e.path] = hit["cleaned"].astype(np.float64)
            else:
                with _stage(result, "clean (NSClean)", jwst=True):
                    data[e.path], _ = nsclean(data[e.path], mask, e.detector,
                                              buff=NSCLEAN_BUFF)
                if cache:
                    cache.save(key, cleaned=data[e.path].astype(np.float32))
            if result.exposure_products:
                with _stage(result, "write cleaned rate"):
                    path = out / e.path.name.replace("_rate.fits", "_nsclean.fits")
                    _write_cleaned(path, e, data[e.path], config)
                    result.cleaned_files.append(path)

    if config.outliers and len({e.exposure for e in exposures}) >= 2:
        from ifuqa.processing.jwst_adapter import ifu_outlier_flags

        kernel, threshold = config.kernel_size, config.threshold_percent
        per_exposure = config.outliers_per_exposure
        key = cache.key("outliers", [cache.file_id(e.path) for e in exposures],
                        config.effective_clean, kernel, threshold, per_exposure) if cache else None
        hit = cache.load(key) if cache else None
        if hit is not None:
            flags = [hit[f"flags{i}"] for i in range(len(exposures))]
        else:
            models = []  # the (cleaned) rates jwst judges; only built when not cached
            for e in exposures:
                m = e.model.copy()
                m.data = data[e.path].astype(np.float32)
                models.append(m)
            with _stage(result, "outlier detection", jwst=True):
                if per_exposure:  # NS-IFU01 defect: no minimum across dithers
                    flags = [ifu_outlier_flags([m, m], kernel_size=kernel,
                                               threshold_percent=threshold)[0] for m in models]
                else:
                    flags = ifu_outlier_flags(models, kernel_size=kernel,
                                              threshold_percent=threshold)
            for m in models:
                m.close()
            if cache:
                cache.save(key, **{f"flags{i}": f for i, f in enumerate(flags)})
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
                _write_cal(cal_path, e, pixmap, cal, dq[e.path], config)
                result.cal_files.append(cal_path)
        with _stage(result, "point cloud"):
            from ifuqa.processing.cloud import point_cloud

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
        from ifuqa.processing.cube import build_cube, grid_for

        grid = grid_for(clouds, spaxel_arcsec=config.spaxel_arcsec,
                        wave_step_um=config.wave_step_um, coord_system=config.coord_system,
                        wavelength_range_um=window, disperser=disperser)
        cube = build_cube(clouds, grid, weighting=config.weighting,
                          flux_units="MJy" if config.point_source_in_flux_density else "MJy/sr")
    del clouds
    _copy_meta(cube, exposures[0].model)
    cube_path = out / f"{_stem(exposures[0].path)}_s3d.fits"
    cube.meta.filename = cube_path.name
    with _stage(result, "write s3d"):
        cube.save(cube_path)
        add_provenance(cube_path, _keywords(config, result.trace_model))
    result.cube_file = cube_path

    with _stage(result, "extract 1-D"):
        from ifuqa.processing.extract import extract_point_source, write_x1d

        psf = _load_psf(folder, disperser)
        extraction = extract_point_source(
            cube, psf=psf, radius_fwhm=config.aperture_radius_fwhm,
            radius_arcsec=config.aperture_radius_arcsec,
            annulus_fwhm=config.background_annulus_fwhm, center_xy=config.center_xy,
            autocenter=config.effective_autocenter,
            brightest_spaxel=config.brightest_spaxel and "NS-IFU04" not in config.defects)
        x1d_path = out / f"{_stem(exposures[0].path)}_x1d.fits"
        write_x1d(x1d_path, extraction, cube, keywords=_keywords(config, result.trace_model) | {
            "IFQ_CEN": extraction.centering,
            "IFQ_CX": round(extraction.center_xy[0], 4),
            "IFQ_CY": round(extraction.center_xy[1], 4)})
    cube.close()
    result.x1d_file = x1d_path
    return result


def _stem(path: Path) -> str:
    """Observation stem of a rate file: ``jwPPPPPOOOVVV_GGSAA`` (drop exposure and detector)."""
    parts = path.name.split("_")
    return "_".join(parts[:2]) if len(parts) >= 4 else path.stem


def _copy_meta(cube, model) -> None:
    meta, src = cube.meta, model.meta
    meta.telescope = "JWST"
    meta.instrument.name = src.instrument.name
    meta.instrument.grating = src.instrument.grating
    meta.instrument.filter = src.instrument.filter
    meta.instrument.detector = "MULTIPLE"
    meta.exposure.type = src.exposure.type
    meta.exposure.readpatt = src.exposure.readpatt
    meta.dither.total_points = src.dither.total_points
    meta.target.ra = src.target.ra
    meta.target.dec = src.target.dec
    meta.target.source_type = src.target.source_type
    meta.observation.date = src.observation.date
    meta.calibration_software_name = "ifuqa"
    meta.calibration_software_version = __version__


def _write_cleaned(path: Path, exposure: _Exposure, data: np.ndarray,
                   config: ProcessingConfig) -> None:
    """The NSClean-corrected count rate (DN/s), like jwst's clean_flicker_noise output."""
    model = exposure.model.copy()
    model.data = data.astype(np.float32)
    model.meta.filename = path.name
    model.meta.cal_step.nsclean = "COMPLETE"
    model.save(path)
    model.close()
    add_provenance(path, _keywords(config))


def _write_cal(path: Path, exposure: _Exposure, pixmap, cal, dq: np.ndarray,
               config: ProcessingConfig) -> None:
    model = exposure.model.copy()
    model.data = pixmap.to_image(cal.flux, fill=np.nan).astype(np.float32)
    model.err = pixmap.to_image(cal.err, fill=np.nan).astype(np.float32)
    model.var_poisson = None
    model.var_rnoise = None
    model.dq = dq
    model.meta.bunit_data = cal.unit
    model.meta.bunit_err = cal.unit
    model.meta.filename = path.name
    model.meta.cal_step.photom = "COMPLETE"
    model.meta.cal_step.nsclean = "COMPLETE" if config.effective_clean else "SKIPPED"
    model.save(path)
    model.close()
    add_provenance(path, _keywords(config))
