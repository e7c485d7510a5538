"""1/f cleaning of count-rate images with jwst's ``CleanFlickerNoiseStep`` (the NS-IFU03 fix).

Each exposure is cleaned by the Step itself, with its default parameters (``fit_method="median"``,
``background_method="median"``) and one non-default setting: ``user_mask``, the exposure's
unilluminated pixels (the instrument model's gaps between the slices, DO_NOT_USE pixels
excluded), because the Step's own mask of science regions needs ``assign_wcs`` with reference
files ifuqa cannot make. The cleaned rates are written as the pipeline's ``_nsclean`` products.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.instrument.dispersers import Disperser
from ifuqa.instrument.layout import unilluminated_mask
from ifuqa.metrics.banding import HOLD_OUT_BLOCK, held_out_rows
from ifuqa.process.cache import StageCache
from ifuqa.process.config import ProcessingConfig
from ifuqa.process.jwst_api.clean_flicker_noise import clean_flicker_noise_step
from ifuqa.process.rate_inputs import RateExposure
from ifuqa.process.writers import write_cleaned_rate

__all__ = ["FLICKER_FIT", "clean_exposures"]

FLICKER_FIT = "median"
"""The Step's ``fit_method``: its default. Measured 2026-12-07 on pixels held out from the fit
(alternate 32-pixel blocks of the unilluminated mask; banding = the scatter of the held-out
pixels' column medians, the white-noise floor removed in quadrature; four full frames, NRS1 and
NRS2), residual/raw banding: the Step's default median fit 0.18-0.22, its fft fit (NSClean, with
buffing) 0.47-0.52, NSClean without buffing (ifuqa's former setting) 0.24-0.35; the default is
the best of them, and runs in 0.6 s per frame."""

Timer = Callable[[str], AbstractContextManager[Any]]


def clean_exposures(exposures: list[RateExposure], data: dict[Path, np.ndarray],
                    dq: dict[Path, np.ndarray], disperser: Disperser, out: Path,
                    config: ProcessingConfig, result: Any, cache: StageCache | None, *,
                    timer: Timer, write_timer: Timer) -> None:
    """Clean every exposure's rate in place in ``data`` and write its ``_nsclean`` product.

    Parameters
    ----------
    exposures : list of RateExposure
        The exposures.
    data, dq : dict
        Rate image and DQ per exposure path (``data`` is replaced by the cleaned image).
    disperser : Disperser
        Sets the unilluminated mask.
    out : path
        Where the ``_nsclean`` files go (when ``result.exposure_products``).
    config : ProcessingConfig
        Provenance of the written files.
    result : ProcessingResult
        Receives the written file names.
    cache : StageCache or None
        Memo of cleaned images.
    timer, write_timer : callable
        ``timer(name)`` context managers that account the time of the jwst fit and the writes.
    """
    from stdatamodels.jwst.datamodels import dqflags

    for e in exposures:
        mask = unilluminated_mask(disperser, e.detector)
        mask &= (dq[e.path] & dqflags.pixel["DO_NOT_USE"]) == 0
        # rows held out of the fit, where NS-IFU03's banding check measures the residual out of
        # sample (the cleaned rate records IFQ_HOLD)
        mask &= ~held_out_rows(mask.shape)
        key = (cache.key("clean_flicker_noise", cache.file_id(e.path), FLICKER_FIT,
                         HOLD_OUT_BLOCK)
               if cache else None)
        hit = cache.load(key) if cache else None
        if hit is not None:
            data[e.path] = hit["cleaned"].astype(np.float64)
        else:
            with timer("clean (clean_flicker_noise)"):
                cleaned = clean_flicker_noise_step(e.model, mask, fit_method=FLICKER_FIT,
                                                   data=data[e.path])
                data[e.path] = cleaned.astype(np.float64)
            if cache:
                cache.save(key, cleaned=cleaned)
        if result.exposure_products:
            with write_timer("write cleaned rate"):
                path = out / e.path.name.replace("_rate.fits", "_nsclean.fits")
                write_cleaned_rate(path, e, data[e.path], config)
                result.cleaned_files.append(path)
