"""Writing the chain's products: cleaned rates (``_nsclean``), calibrated images (``_cal``) and
the observation metadata cubes carry, with ifuqa's provenance keywords."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ifuqa import __version__
from ifuqa.instrument.layout import DetectorPixelMap
from ifuqa.metrics.banding import HOLD_OUT_BLOCK
from ifuqa.process.config import ProcessingConfig
from ifuqa.process.provenance import processing_keywords
from ifuqa.process.rate_inputs import RateExposure
from ifuqa.util.fits_header import add_primary_keywords

__all__ = ["copy_observation_meta", "observation_stem", "write_cal", "write_cleaned_rate"]


def observation_stem(path: Path) -> str:
    """Observation stem of a rate file: ``jwPPPPPOOOVVV_GGSAA`` (drop exposure and detector)."""
    parts = path.name.split("_")
    return "_".join(parts[:2]) if len(parts) >= 4 else path.stem


def copy_observation_meta(cube: Any, model: Any) -> None:
    """Copy the observation metadata of an exposure model onto a cube model."""
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


def write_cleaned_rate(path: Path, exposure: RateExposure, data: np.ndarray,
                       config: ProcessingConfig) -> None:
    """The NSClean-corrected count rate (DN/s), like jwst's clean_flicker_noise output."""
    model = exposure.model.copy()
    model.data = data.astype(np.float32)
    model.meta.filename = path.name
    model.meta.cal_step.nsclean = "COMPLETE"
    model.meta.cal_step.clean_flicker_noise = "COMPLETE"
    model.save(path)
    model.close()
    add_primary_keywords(path, {**processing_keywords(config), "IFQ_HOLD": HOLD_OUT_BLOCK})


def write_cal(path: Path, exposure: RateExposure, pixmap: DetectorPixelMap, cal: np.ndarray,
              dq: np.ndarray,
              config: ProcessingConfig) -> None:
    """The calibrated image (MJy/sr, or MJy with the NS-IFU02 defect) with its DQ."""
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
    add_primary_keywords(path, processing_keywords(config))
