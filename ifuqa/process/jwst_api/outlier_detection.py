"""jwst's ``outlier_detection`` for the IFU: ``jwst.outlier_detection.ifu.detect_outliers``.

:func:`ifu_outlier_flags` runs it on copies of the exposures and returns the pixels it newly
flagged. jwst normalises the minimum neighbour differences with stcal's NaN median filter, which
evaluates a 2048 × 2048 × 7 × 7 window array at once (~7.7 GiB per detector);
:func:`chunked_medfilt` computes identical values a block of rows at a time, and
:func:`chunked_median_filter_in_jwst` puts it in place of ``jwst.outlier_detection.ifu.medfilt``
for the duration of the call (an explicit, restoring shim, tested to give the same flags).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.process.jwst_api._api import ApiSpec, fingerprint_problems

__all__ = [
    "REQUIRED_API",
    "check_behaviour",
    "chunked_medfilt",
    "chunked_median_filter_in_jwst",
    "ifu_outlier_flags",
]

_OUTLIER_MOD = "jwst.outlier_detection.ifu"

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    ("jwst.datamodels", "ModelContainer"): None,
    (_OUTLIER_MOD, "detect_outliers"): (
        "input_models",
        "save_intermediate_results",
        "kernel_size",
        "ifu_second_check",
        "threshold_percent",
        "make_output_path",
    ),
    (_OUTLIER_MOD, "medfilt"): None,
}
"""The jwst symbols :func:`ifu_outlier_flags` calls, and the median filter it replaces."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify that ``detect_outliers`` still filters through the module's ``medfilt``.

    Returns
    -------
    checked, problems : list of str
    """
    problems = fingerprint_problems(_OUTLIER_MOD, "flag_outliers",
                                    ("normarr = medfilt(minarr, kern_size)",),
                                    "chunked_median_filter_in_jwst replaces that medfilt")
    return ([] if problems else ["flag_outliers normalises with the module's medfilt"]), problems


@contextmanager
def chunked_median_filter_in_jwst() -> Iterator[None]:
    """Within the block, jwst's IFU outlier method normalises with :func:`chunked_medfilt`.

    ``jwst.outlier_detection.ifu.flag_outliers`` calls the module-level name ``medfilt``
    (stcal's filter); this sets that name to :func:`chunked_medfilt`, which returns identical
    values with a fraction of the memory, and restores stcal's filter on exit, also on error.
    Not thread-safe: ifuqa runs one outlier detection per process at a time.
    """
    import jwst.outlier_detection.ifu as jwst_ifu

    original = jwst_ifu.medfilt
    jwst_ifu.medfilt = chunked_medfilt
    try:
        yield
    finally:
        jwst_ifu.medfilt = original



def _ensure_meta(model: Any, detector: str | None) -> None:
    meta = model.meta
    if not meta.instrument.name:
        meta.instrument.name = "NIRSPEC"
    if not meta.exposure.type:
        meta.exposure.type = "NRS_IFU"
    if not meta.instrument.detector:
        if detector is None:
            raise ValueError(
                "model has no meta.instrument.detector; pass detector= to ifu_outlier_flags"
            )
        meta.instrument.detector = detector
    if meta.wcsinfo.dispersion_direction is None:
        meta.wcsinfo.dispersion_direction = 1  # NIRSpec: dispersion along x


def chunked_medfilt(arr: ArrayLike, kern_size: Sequence[int], *,
                    rows_per_chunk: int = 64) -> NDArray[np.float64]:
    """
    ``stcal.outlier_detection.utils.medfilt`` computed a block of rows at a time.

    jwst's IFU outlier method normalises by this NaN-aware median filter. stcal evaluates it
    on a sliding-window view of the whole 2048² image at once (``nanmedian`` over a
    2048 × 2048 × 7 × 7 array, sorted through masked arrays), which peaks at ~7.7 GiB for one
    detector. Every output pixel depends only on its own window, so filtering blocks of rows
    of the zero-padded image gives identical values (a test compares them exactly) at a small
    fraction of the memory. In a window without NaN (nearly all of them) the median of its
    odd number of values is found by a partial sort, 2-4 times faster than ``nanmedian`` and
    the same value. Used only inside :func:`ifu_outlier_flags`.
    """
    from stcal.outlier_detection.utils import medfilt

    data = np.asarray(arr)
    kern = [int(k) for k in kern_size]
    if data.ndim != 2 or len(kern) != 2:
        return medfilt(data, kern)
    padded = np.pad(data, [[k // 2] for k in kern])
    nan_padded = np.isnan(padded)
    size = kern[0] * kern[1]
    out = None
    for start in range(0, data.shape[0], rows_per_chunk):
        stop = min(start + rows_per_chunk, data.shape[0])
        block = padded[start:stop + kern[0] - 1]
        windows = np.lib.stride_tricks.sliding_window_view(block, kern)
        with_nan = np.lib.stride_tricks.sliding_window_view(
            nan_padded[start:stop + kern[0] - 1], kern).any(axis=(-2, -1))
        if size % 2 == 0 or with_nan.mean() > 0.5:
            values = _nanmedian(windows)
        else:
            # a window without NaN holds an odd number of values: its median is the middle
            # one, which a partial sort finds (the value nanmedian returns, several times
            # faster); the windows with a NaN go through nanmedian
            flat = windows.reshape(*windows.shape[:2], size)
            values = np.partition(flat, size // 2, axis=-1)[..., size // 2]
            if with_nan.any():
                values[with_nan] = _nanmedian(windows[with_nan])
        if out is None:
            out = np.empty(data.shape, dtype=values.dtype)
        out[start:stop] = values
    return out


def _nanmedian(windows: NDArray[Any]) -> NDArray[Any]:
    """NaN-ignoring median over the last two axes, without the all-NaN warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
        return np.nanmedian(windows, axis=(-2, -1))


def ifu_outlier_flags(
    models: Sequence[Any],
    *,
    kernel_size: str = "7 7",
    threshold_percent: float = 99.8,
    ifu_second_check: bool = False,
    detector: str | None = None,
) -> list[NDArray[np.bool_]]:
    """
    Run jwst's IFU outlier detection and return the newly flagged pixels.

    Wraps ``jwst.outlier_detection.ifu.detect_outliers`` on deep copies of the
    input ``IFUImageModel`` s.  That algorithm takes, per detector, the
    *minimum over exposures* of each pixel's smaller absolute difference to
    its two cross-dispersion (y) neighbours, normalises it by a local median
    (``kernel_size``) and flags everything above the ``threshold_percent``
    percentile, in *every* exposure of that detector.  It therefore targets
    detector-fixed outliers (new hot/warm pixels absent from the bad-pixel
    mask) that recur in all dithers; a transient seen in only one exposure is
    normally not flagged.  Note that a percentile cut always flags about
    ``(100 - threshold_percent)`` % of the pixels of each detector: the
    percentile is taken over the interior (a 4-pixel border excluded, the
    reference pixels of a real detector) but the border pixels are flagged
    too, so border flags on synthetic frames with a live border are expected.

    Metadata ``detect_outliers`` reads are set on the copies when absent:
    ``meta.instrument.name`` ("NIRSPEC", selects y-differences),
    ``meta.exposure.type`` ("NRS_IFU"), ``meta.instrument.detector`` (groups
    exposures; from ``detector``) and ``meta.wcsinfo.dispersion_direction``
    (1; not read by jwst 3.0 but set for consistency).  No gwcs is needed.

    Parameters
    ----------
    models : sequence of IFUImageModel
        Exposures (same or mixed NRS1/NRS2 detectors, equal shapes).  Not
        modified.
    kernel_size : str, optional
        "nx ny" median-filter size for the normalisation (jwst default "7 7").
    threshold_percent : float, optional
        Percentile above which normalised minimum differences are flagged.
    ifu_second_check : bool, optional
        Also flag pixels whose minimum difference is NaN.
    detector : str or None, optional
        Detector to assume for models lacking ``meta.instrument.detector``.

    Returns
    -------
    list of ndarray of bool
        Per model, True where ``detect_outliers`` set the OUTLIER DQ bit that
        was not already set.  With fewer than two models jwst skips the
        detection, and all masks are False.
    """
    from jwst.datamodels import ModelContainer
    from jwst.outlier_detection.ifu import detect_outliers
    from stdatamodels.jwst.datamodels import dqflags

    if len(models) == 0:
        return []
    outlier_bit = dqflags.pixel["OUTLIER"]
    copies = []
    before = []
    for model in models:
        dup = copy.deepcopy(model)
        if dup.data is None or np.ndim(dup.data) != 2:
            raise ValueError("each model must carry a 2-D data array")
        dup.dq = np.array(dup.dq, dtype=np.uint32, copy=True)  # materialise default DQ
        _ensure_meta(dup, detector)
        before.append((dup.dq & outlier_bit) != 0)
        copies.append(dup)
    shapes = {c.data.shape for c in copies}
    if len(shapes) != 1:
        raise ValueError(f"all models must have the same shape, got {sorted(shapes)}")
    if len(copies) < 2:
        return [np.zeros(copies[0].data.shape, dtype=bool)]

    container = ModelContainer(copies)
    with warnings.catch_warnings(), chunked_median_filter_in_jwst():
        # NaN-only neighbourhoods (e.g. inter-slice gaps) in nanmedian/nanpercentile
        warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        result = detect_outliers(
            container,
            save_intermediate_results=False,
            kernel_size=kernel_size,
            ifu_second_check=ifu_second_check,
            threshold_percent=threshold_percent,
            make_output_path=None,
        )
    return [
        ((np.asarray(m.dq) & outlier_bit) != 0) & ~was
        for m, was in zip(result, before, strict=True)
    ]
