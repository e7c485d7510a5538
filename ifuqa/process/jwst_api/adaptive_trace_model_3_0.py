"""jwst 3.0.x's adaptive trace model: what differs from the 2.0.x line (see
:mod:`ifuqa.process.jwst_api.adaptive_trace_model`, which holds the common code).

In 3.0 (jwst #10264, #10391) a region is fitted when the peak of its collapsed cross-dispersion
profile (``_crossdisp_profile``: the flux median-combined over wavelength in bins of half a native
pixel, pixels without a positive error ignored) exceeds the threshold, re-tested after
``_trim_edges``; the breakpoints and the minimum good pixels per column follow the slice's
native sampling (PRISM has its own factors); the oversampling needs 3 good pixels per column; a
negative image mean subtracted before the fit is added back; flux densities are divided by the
oversampling factor.
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

ALGORITHM = ("jwst 3.0.x: fit test on the collapsed cross-dispersion peak (or SNR), edge "
             "trimming, breakpoints from the native sampling, require_ngood 3 for "
             "oversampling, negative mean restored, flux densities divided by the factor")
"""One line on what this line's trace model does (for logs and provenance)."""

RESTORES_NEGATIVE_MEAN = True
"""A negative image mean, subtracted before the fit, is added back to the outputs."""

SCALES_FLUX_DENSITY = True
"""Flux-density data (not surface brightness) are divided by the oversampling factor."""

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    (_TRACE_MOD, "fit_all_regions"): ("flux", "error", "alpha", "region_map", "maximum_cores"),
    (_TRACE_MOD, "fit_2d_spline_trace"): (
        "flux",
        "alpha",
        "fit_scale",
        "lrange",
        "col_index",
        "space_ratio",
        "sigma_low",
        "sigma_high",
        "fit_iter",
        "require_ngood",
        "spline_bkpt",
        "auto_ngood_factor",
        "auto_bkpt_factor",
    ),
    (_TRACE_MOD, "_fit_one_region"): (
        "flux",
        "error",
        "alpha",
        "region_map",
        "region_number",
        "peak_threshold",
        "snr_threshold",
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
    (_TRACE_MOD, "_crossdisp_profile"): ("data_slice", "err_slice", "alpha_slice"),
    (_TRACE_MOD, "_set_fit_kwargs"): ("mode", "detector", "grating", "xsize"),
    (_TRACE_MOD, "_set_oversample_kwargs"): ("mode", "detector"),
    (_TRACE_MOD, "_reindex"): ("xmin", "xmax", "scale"),
    (_TRACE_MOD, "_inflate_error"): ("error_array", "extname", "oversample_factor"),
}
"""The jwst 3.0.x trace-model functions the adapter calls."""

_FIT_AND_OVERSAMPLE_FINGERPRINT = (
    "restore_mean = overall_mean",
    "flux_os += restore_mean",
    "if is_flux_density(model.meta.bunit_data):",
    "threshold = overall_mean + fit_threshold * overall_rms",
    'fit_kwargs["peak_threshold"] = peak_threshold',
    'oversample_kwargs["require_ngood"],',
)
"""Lines of ``fit_and_oversample`` (3.0.x) whose behaviour the adapter reproduces."""

_FIT_ONE_REGION_FINGERPRINT = (
    "_crossdisp_profile(",
    "_threshold_test(flux_xdisp, snr_xdisp, region_number, peak_threshold, snr_threshold)",
)
"""Lines of ``_fit_one_region`` that make ``_crossdisp_profile``'s peak the fit test
(what :func:`region_peak` returns)."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify that jwst's NRS_IFU trace model is still the 3.0.x one reproduced here.

    Returns
    -------
    checked, problems : list of str
    """
    what = "trace_model_oversample reproduces fit_and_oversample (jwst 3.0.x)"
    problems = (fingerprint_problems(_TRACE_MOD, "fit_and_oversample",
                                     _FIT_AND_OVERSAMPLE_FINGERPRINT, what)
                + fingerprint_problems(_TRACE_MOD, "_fit_one_region",
                                       _FIT_ONE_REGION_FINGERPRINT,
                                       "trace_region_peak is the fit test (jwst 3.0.x)"))
    return ([] if problems else ["fit_and_oversample NRS_IFU fingerprint (jwst 3.0.x)"]), problems


def region_peak(tm: ModuleType, flux: np.ndarray, error: np.ndarray, alpha: np.ndarray) -> float:
    """The fit statistic of one region: the peak of ``_crossdisp_profile``.

    Parameters
    ----------
    tm : module
        ``jwst.adaptive_trace_model.trace_model``.
    flux, error, alpha : numpy.ndarray
        One region's arrays, NaN outside it.

    Returns
    -------
    float
        NaN when the region has no usable pixel.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        _, profile, _, _ = tm._crossdisp_profile(flux, error, alpha)
        if profile is None or not np.isfinite(profile).any():
            return float("nan")
        return float(np.nanmax(profile))


def fit_regions(tm: ModuleType, flux: np.ndarray, error: np.ndarray, alpha: np.ndarray,
                fit_map: np.ndarray, *, threshold: float | None, detector: str,
                grating: str | None, fit_columns: Collection[int] | None,
                maximum_cores: str) -> tuple[dict, dict[str, Any]]:
    """Spline models of the regions of ``fit_map`` and the keyword arguments of the
    oversampling, as 3.0.x's ``fit_and_oversample`` (NRS_IFU) makes them.

    Parameters
    ----------
    tm : module
        ``jwst.adaptive_trace_model.trace_model``.
    flux, error, alpha : numpy.ndarray
        Image (negative mean already subtracted), error used by the fit, along-slice coordinate.
    fit_map : numpy.ndarray of int
        Regions allowed a fit (0 elsewhere).
    threshold : float or None
        The peak threshold; None fits every region.
    detector, grating : str
        Select the fit parameters (``"PRISM"`` has its own).
    fit_columns : collection of int or None
        Columns that may be fitted (None: all).
    maximum_cores : str
        jwst's multiprocessing switch.

    Returns
    -------
    spline_models, oversample_kwargs : dict
        ``fit_all_regions`` output; keyword arguments for ``oversample_flux``, including
        ``require_ngood`` (also used for the error's ``linear_oversample``).
    """
    xsize = flux.shape[1]
    fit_kwargs = tm._set_fit_kwargs("NRS_IFU", detector, grating, xsize)
    if threshold is None:
        fit_kwargs["snr_threshold"] = None
    else:
        fit_kwargs["peak_threshold"] = dict.fromkeys(np.unique(fit_map[fit_map > 0]), threshold)
    if fit_columns is not None:
        allowed = {int(c) for c in fit_columns}
        fit_kwargs["col_index"] = [c for c in fit_kwargs["col_index"] if c in allowed]
    spline_models: dict = {}
    if (fit_map > 0).any():  # jwst's fit_all_regions fails on an empty region map
        spline_models = tm.fit_all_regions(flux, error, alpha, fit_map,
                                           maximum_cores=maximum_cores, **fit_kwargs)
    return spline_models, dict(tm._set_oversample_kwargs("NRS_IFU", detector))
