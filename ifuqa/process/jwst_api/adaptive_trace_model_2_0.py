"""jwst 2.0.x's adaptive trace model: what differs from the 3.0.x line (see
:mod:`ifuqa.process.jwst_api.adaptive_trace_model`, which holds the common code).

In 2.0 a region is fitted when the median over columns of each column's maximum,
``nanmedian(nanmax(slice, axis=0))``, exceeds the threshold (``fit_all_regions`` takes the
thresholds as its fourth argument; the error is not used anywhere in the fit); NIRSpec's fit
parameters are fixed (``require_ngood`` 15, 68 breakpoints, no PRISM case); the oversampling and
the error interpolation need more than 15 good pixels per column; a negative image mean
subtracted before the fit is **not** added back; flux densities are not divided by the
oversampling factor. jwst 3.0.0 changed all of this (#10264, #10391). Everything else the adapter
calls (``oversample_flux``, ``linear_oversample``, ``_reindex``, ``_inflate_error``) has the same
signature and arithmetic in both lines.

Reproduced from jwst 2.0.1's ``fit_and_oversample`` (NRS_IFU branch) and checked against it with
only its gwcs evaluations replaced (``tests/test_jwst_lines.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from types import ModuleType
from typing import Any

import numpy as np

from ifuqa.process.jwst_api._api import ApiSpec, fingerprint_problems

__all__ = ["ALGORITHM", "REQUIRED_API", "RESTORES_NEGATIVE_MEAN", "SCALES_FLUX_DENSITY",
           "check_behaviour", "fit_regions", "region_peak"]

_TRACE_MOD = "jwst.adaptive_trace_model.trace_model"

ALGORITHM = ("jwst 2.0.x: fit test on the median column maximum, fixed 68 breakpoints and "
             "require_ngood 15, negative mean not restored, flux densities not divided by "
             "the factor")
"""One line on what this line's trace model does (for logs and provenance)."""

RESTORES_NEGATIVE_MEAN = False
"""2.0.x leaves a subtracted negative image mean out of its outputs."""

SCALES_FLUX_DENSITY = False
"""2.0.x does not divide flux-density data by the oversampling factor."""

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    (_TRACE_MOD, "fit_all_regions"): ("flux", "alpha", "region_map", "signal_threshold"),
    (_TRACE_MOD, "fit_2d_spline_trace"): (
        "flux",
        "alpha",
        "fit_scale",
        "lrange",
        "col_index",
        "require_ngood",
        "spline_bkpt",
        "space_ratio",
    ),
    (_TRACE_MOD, "oversample_flux"): (
        "flux",
        "alpha",
        "region_map",
        "spline_models",
        "oversample_factor",
        "alpha_os",
        "require_ngood",
        "slope_limit",
        "psf_optimal",
        "trim_ends",
        "pad",
    ),
    (_TRACE_MOD, "linear_oversample"): (
        "data",
        "region_map",
        "oversample_factor",
        "require_ngood",
        "edge_limit",
        "preserve_nan",
    ),
    (_TRACE_MOD, "_set_fit_kwargs"): ("detector", "xsize"),
    (_TRACE_MOD, "_set_oversample_kwargs"): ("detector",),
    (_TRACE_MOD, "_reindex"): ("xmin", "xmax", "scale"),
    (_TRACE_MOD, "_inflate_error"): ("error_array", "extname", "oversample_factor"),
}
"""The jwst 2.0.x trace-model functions the adapter calls."""

_FIT_AND_OVERSAMPLE_FINGERPRINT = (
    "flux_orig = flux_orig - overall_mean",
    "threshold = overall_mean + fit_threshold * overall_rms",
    "signal_threshold = dict.fromkeys(slice_numbers, threshold)",
    "signal_threshold = dict.fromkeys(slice_numbers, -np.inf)",
    'require_ngood=fit_kwargs["require_ngood"],',
)
"""Lines of ``fit_and_oversample`` (2.0.x) whose behaviour the adapter reproduces."""

_FIT_AND_OVERSAMPLE_ABSENT = ("restore_mean", "is_flux_density")
"""What 2.0.x's ``fit_and_oversample`` does not do (restore a negative mean, scale flux
densities); a 2.0.x release that did would no longer be what the adapter reproduces."""

_FIT_ALL_REGIONS_FINGERPRINT = (
    "collapse = np.nanmax(data_slice, axis=0)",
    "medcmax = np.nanmedian(collapse)",
    "if medcmax > signal_threshold[slnum]:",
)
"""Lines of ``fit_all_regions`` (2.0.x) that make the fit test what :func:`region_peak` returns."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify that jwst's NRS_IFU trace model is still the 2.0.x one reproduced here.

    Returns
    -------
    checked, problems : list of str
    """
    what = "trace_model_oversample reproduces fit_and_oversample (jwst 2.0.x)"
    problems = (fingerprint_problems(_TRACE_MOD, "fit_and_oversample",
                                     _FIT_AND_OVERSAMPLE_FINGERPRINT, what,
                                     absent=_FIT_AND_OVERSAMPLE_ABSENT)
                + fingerprint_problems(_TRACE_MOD, "fit_all_regions",
                                       _FIT_ALL_REGIONS_FINGERPRINT,
                                       "trace_region_peak is the fit test (jwst 2.0.x)"))
    return ([] if problems else ["fit_and_oversample NRS_IFU fingerprint (jwst 2.0.x)"]), problems


def region_peak(tm: ModuleType, flux: np.ndarray, error: np.ndarray, alpha: np.ndarray) -> float:
    """The fit statistic of one region: the median over columns of each column's maximum.

    Parameters
    ----------
    tm : module
        ``jwst.adaptive_trace_model.trace_model`` (unused: 2.0.x writes the statistic inline).
    flux, error, alpha : numpy.ndarray
        One region's arrays, NaN outside it (only ``flux`` is used, as in jwst 2.0.x).

    Returns
    -------
    float
        NaN when the region has no finite pixel.
    """
    del tm, error, alpha
    data = np.asarray(flux, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        collapse = np.nanmax(data, axis=0) if data.size else np.array([np.nan])
        if not np.isfinite(collapse).any():
            return float("nan")
        return float(np.nanmedian(collapse))


def fit_regions(tm: ModuleType, flux: np.ndarray, error: np.ndarray, alpha: np.ndarray,
                fit_map: np.ndarray, *, threshold: float | None, detector: str,
                grating: str | None, fit_columns: Collection[int] | None,
                maximum_cores: str) -> tuple[dict, dict[str, Any]]:
    """Spline models of the regions of ``fit_map`` and the keyword arguments of the
    oversampling, as 2.0.x's ``fit_and_oversample`` (NRS_IFU) makes them.

    Parameters
    ----------
    tm : module
        ``jwst.adaptive_trace_model.trace_model``.
    flux, alpha : numpy.ndarray
        Image (negative mean already subtracted) and along-slice coordinate.
    error : numpy.ndarray
        Unused: 2.0.x's fit does not use errors.
    fit_map : numpy.ndarray of int
        Regions allowed a fit (0 elsewhere).
    threshold : float or None
        The signal threshold; None fits every region (jwst: ``-inf``).
    detector : str
        Selects the column fitting order.
    grating : str or None
        Unused: 2.0.x has no PRISM parameters.
    fit_columns : collection of int or None
        Columns that may be fitted (None: all).
    maximum_cores : str
        Unused: 2.0.x has no multiprocessing.

    Returns
    -------
    spline_models, oversample_kwargs : dict
        ``fit_all_regions`` output; keyword arguments for ``oversample_flux``, including
        ``require_ngood`` (2.0.x passes the fit's, 15, to the oversampling and the errors).
    """
    del error, grating, maximum_cores
    xsize = flux.shape[1]
    fit_kwargs = tm._set_fit_kwargs(detector, xsize)
    numbers = np.unique(fit_map[fit_map > 0])
    signal_threshold = dict.fromkeys(numbers, -np.inf if threshold is None else threshold)
    if fit_columns is not None:
        allowed = {int(c) for c in fit_columns}
        fit_kwargs["col_index"] = [c for c in fit_kwargs["col_index"] if c in allowed]
    spline_models: dict = {}
    if numbers.size:
        # 2.0.x lacks 3.0's guards (the fit_scale division, nanmedian of an all-NaN column
        # maximum): numpy's RuntimeWarnings there are expected, and ignored as jwst 3.0 does.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            spline_models = tm.fit_all_regions(flux, alpha, fit_map, signal_threshold,
                                               **fit_kwargs)
    oversample_kwargs = dict(tm._set_oversample_kwargs(detector))
    oversample_kwargs["require_ngood"] = fit_kwargs["require_ngood"]
    return spline_models, oversample_kwargs
