"""IFU outlier detection between dithers with jwst's minimum-neighbour-difference method (the
NS-IFU01 fix), and its defect: each exposure judged alone, without the minimum across dithers
that protects the undersampled PSF peak."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.process.cache import StageCache
from ifuqa.process.config import ProcessingConfig
from ifuqa.process.jwst_api.outlier_detection import ifu_outlier_flags
from ifuqa.process.rate_inputs import RateExposure

__all__ = ["flag_outliers"]


def flag_outliers(exposures: list[RateExposure], data: dict[Path, np.ndarray],
                  config: ProcessingConfig, cache: StageCache | None, *,
                  timer: Callable[[str], AbstractContextManager[Any]] | None = None
                  ) -> list[np.ndarray]:
    """The pixels jwst's IFU outlier detection flags in each exposure.

    Parameters
    ----------
    exposures : list of RateExposure
        At least two dither positions.
    data : dict
        The (cleaned) rate image per exposure path, what jwst judges.
    config : ProcessingConfig
        ``kernel_size``, ``threshold_percent`` and the NS-IFU01 defect switch.
    cache : StageCache or None
        Memo of the flags.
    timer : callable, optional
        ``timer(name)`` context manager accounting the time jwst takes (on a cache miss).

    Returns
    -------
    list of numpy.ndarray of bool
        Newly flagged pixels, per exposure.
    """
    timer = timer or (lambda name: nullcontext())
    kernel, threshold = config.kernel_size, config.threshold_percent
    per_exposure = config.outliers_per_exposure
    key = cache.key("outliers", [cache.file_id(e.path) for e in exposures],
                    config.effective_clean, kernel, threshold, per_exposure) if cache else None
    hit = cache.load(key) if cache else None
    if hit is not None:
        return [hit[f"flags{i}"] for i in range(len(exposures))]
    models = []  # the (cleaned) rates jwst judges; only built when not cached
    for e in exposures:
        m = e.model.copy()
        m.data = data[e.path].astype(np.float32)
        models.append(m)
    with timer("outlier detection"):
        if per_exposure:  # NS-IFU01 defect: no minimum across dithers
            flags = [ifu_outlier_flags([m, m], kernel_size=kernel,
                                       threshold_percent=threshold)[0] for m in models]
        else:
            flags = ifu_outlier_flags(models, kernel_size=kernel, threshold_percent=threshold)
    for m in models:
        m.close()
    if cache:
        cache.save(key, **{f"flags{i}": f for i, f in enumerate(flags)})
    return flags
