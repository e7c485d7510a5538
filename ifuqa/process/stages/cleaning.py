"""1/f cleaning of count-rate images with jwst's NSClean (the NS-IFU03 fix).

Each exposure is cleaned with its unilluminated pixels as the fit mask (the instrument model's
gaps between the slices, DO_NOT_USE pixels excluded); the cleaned rates are written as the
pipeline's ``_nsclean`` products.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.instrument.dispersers import Disperser
from ifuqa.instrument.layout import unilluminated_mask
from ifuqa.process.cache import StageCache
from ifuqa.process.config import ProcessingConfig
from ifuqa.process.jwst_api.clean_flicker_noise import nsclean
from ifuqa.process.rate_inputs import RateExposure
from ifuqa.process.writers import write_cleaned_rate

__all__ = ["NSCLEAN_BUFF", "clean_exposures"]

NSCLEAN_BUFF = False
"""NSClean's "buffing" (a Gaussian smoothing of the fitted model across adjacent lines, on in
jwst's clean_flicker_noise) is off: it leaves the line-to-line part of the 1/f noise, about half
of the banding amplitude in the simulated detectors (residual/injected 0.5 with buffing, 0.14
without, measured on full frames with the IFU mask)."""

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
        key = cache.key("nsclean", cache.file_id(e.path), NSCLEAN_BUFF) if cache else None
        hit = cache.load(key) if cache else None
        if hit is not None:
            data[e.path] = hit["cleaned"].astype(np.float64)
        else:
            with timer("clean (NSClean)"):
                data[e.path], _ = nsclean(data[e.path], mask, e.detector, buff=NSCLEAN_BUFF)
            if cache:
                cache.save(key, cleaned=data[e.path].astype(np.float32))
        if result.exposure_products:
            with write_timer("write cleaned rate"):
                path = out / e.path.name.replace("_rate.fits", "_nsclean.fits")
                write_cleaned_rate(path, e, data[e.path], config)
                result.cleaned_files.append(path)
