"""jwst's ``adaptive_trace_model``: spline trace models and oversampling of IFU images.

``jwst.adaptive_trace_model.trace_model.fit_and_oversample`` needs a NIRSpec gwcs, which ifuqa's
products do not have; :func:`trace_model_oversample` reproduces its NRS_IFU branch from the same
jwst building blocks with the gwcs evaluations replaced by caller-supplied along-slice
coordinates. :func:`trace_fit_statistics` and :func:`trace_region_peak` expose its fit-threshold
statistics so that slice-sized cut-outs of one image can be fitted with the whole image's
threshold.

The NRS_IFU algorithm differs between jwst release lines (3.0.0: #10264, #10391): which regions
are fitted, the fit parameters, the good pixels the oversampling needs, whether a negative image
mean is restored and whether flux densities are divided by the factor. Those parts live in
:mod:`~ifuqa.process.jwst_api.adaptive_trace_model_2_0` and
:mod:`~ifuqa.process.jwst_api.adaptive_trace_model_3_0`; the installed line's is used
(:data:`LINE`), and its ``REQUIRED_API`` and fingerprints are what :func:`check_jwst_api` checks.
Both lines are reproduced faithfully (each checked against its own ``fit_and_oversample``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.process.jwst_api._api import ApiSpec
from ifuqa.process.jwst_api._lines import installed_line, line_module

__all__ = ["ALGORITHM", "LINE", "REQUIRED_API", "TraceOversampleResult", "check_behaviour",
           "trace_fit_statistics", "trace_model_oversample", "trace_region_peak"]

LINE = installed_line()
"""The jwst release line whose trace model this adapter reproduces (the installed one)."""

_line = line_module("adaptive_trace_model", LINE)

REQUIRED_API: dict[tuple[str, str], ApiSpec] = dict(_line.REQUIRED_API)
"""The jwst trace-model functions :func:`trace_model_oversample` calls on the installed line
(``adaptive_trace_model_2_0`` / ``adaptive_trace_model_3_0``)."""

ALGORITHM: str = _line.ALGORITHM
"""What the installed line's trace model does, in one line."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify that the installed jwst's trace model is the one its line's module reproduces.

    Returns
    -------
    checked, problems : list of str
    """
    return _line.check_behaviour()


@dataclass(frozen=True)
class TraceOversampleResult:
    """
    Output of :func:`trace_model_oversample`.

    Oversampled arrays have shape ``(ny_os, nx)`` with
    ``ny_os = ceil(ny * oversample_factor)``; columns are unchanged.  Row ``j``
    of the oversampled grid is centred at fractional detector row ``y_os[j]``
    and spans ``y_os[j] ± row_height / 2`` in original detector pixels, so an
    oversampled pixel ``(j, i)`` covers the detector footprint
    ``x ∈ [i - 0.5, i + 0.5]``, ``y ∈ [y_os[j] - row_height/2, y_os[j] + row_height/2]``;
    evaluate the instrument model's along-slice coordinate and wavelength at
    ``(i, y_os[j])`` to place it.

    Attributes
    ----------
    flux : ndarray
        Oversampled flux (spline model + residual where the source is
        compact, linear interpolation elsewhere), NaN outside regions.
    error : ndarray
        Linearly oversampled error, inflated by ``0.23 f + 0.77`` (jwst).
    y_os : ndarray, shape (ny_os,)
        Fractional detector y (0-based pixel centres) of each oversampled row.
    row_height : float
        Height of an oversampled row in detector pixels (``1 / f``).
    region_map : ndarray of int
        Nearest-pixel region (slice) map on the oversampled grid.
    alpha_os : ndarray
        Along-slice coordinate used for each oversampled pixel.
    trace_used, full_trace, linear, residual : ndarray
        Intermediate arrays from ``oversample_flux`` (spline model where used,
        everywhere, linear interpolation, interpolated residual).
    estimated : ndarray of bool
        Oversampled pixels whose nearest input pixel was bad/NaN but which now
        have a value (jwst flags these FLUX_ESTIMATED).
    spline_models : dict
        ``fit_all_regions`` output: region -> column -> spline model dict.
    """

    flux: NDArray[np.floating]
    error: NDArray[np.floating]
    y_os: NDArray[np.float64]
    row_height: float
    region_map: NDArray[np.integer]
    alpha_os: NDArray[np.floating]
    trace_used: NDArray[np.floating]
    full_trace: NDArray[np.floating]
    linear: NDArray[np.floating]
    residual: NDArray[np.floating]
    estimated: NDArray[np.bool_]
    spline_models: dict = field(repr=False)


def trace_fit_statistics(values: ArrayLike) -> tuple[float, float]:
    """
    The image statistics ``fit_and_oversample`` derives its fit threshold from.

    Sigma-clipped (astropy defaults, 3 sigma) mean and standard deviation of the
    in-region flux, each replaced by 0 when not finite, exactly as
    ``jwst.adaptive_trace_model.trace_model.fit_and_oversample`` computes
    ``overall_mean`` and ``overall_rms`` (the NRS_IFU threshold is then
    ``overall_mean + fit_threshold * overall_rms``, after a negative mean is
    subtracted from the image and set to 0).

    Parameters
    ----------
    values : array_like
        Flux of every in-region pixel of the whole image (NaNs are ignored).

    Returns
    -------
    mean, rms : float
    """
    from astropy.stats import sigma_clipped_stats
    from astropy.utils.exceptions import AstropyUserWarning

    data = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=AstropyUserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        mean, _, rms = sigma_clipped_stats(data)
    mean = float(mean) if np.isfinite(mean) else 0.0
    rms = float(rms) if np.isfinite(rms) else 0.0
    return mean, rms


def trace_region_peak(flux: ArrayLike, error: ArrayLike, alpha: ArrayLike) -> float:
    """
    The statistic jwst's fit test compares with the threshold, for one region.

    jwst 3.0.x (``_fit_one_region``) fits a slice only if the maximum of
    ``_crossdisp_profile`` (the flux median-combined over wavelength in bins
    of half a native pixel in alpha; pixels with a non-positive error are
    ignored) exceeds the threshold; jwst 2.0.x (``fit_all_regions``) compares
    the median over columns of each column's maximum flux.  This returns the
    installed line's statistic for the pixels of one region.

    Parameters
    ----------
    flux, error, alpha : array_like, shape (ny, nx)
        One region's flux, error and along-slice coordinate, NaN outside it
        (a cut-out around the region is enough).

    Returns
    -------
    float
        The statistic, or NaN when the region has no usable pixel.
    """
    from jwst.adaptive_trace_model import trace_model as tm

    return _line.region_peak(tm, np.asarray(flux, dtype=np.float64),
                             np.asarray(error, dtype=np.float64),
                             np.asarray(alpha, dtype=np.float64))


def trace_model_oversample(
    flux: ArrayLike,
    error: ArrayLike,
    alpha: ArrayLike,
    region_map: ArrayLike,
    *,
    oversample_factor: float = 2,
    alpha_os: ArrayLike | Callable[[NDArray, NDArray], ArrayLike] | None = None,
    bad: ArrayLike | None = None,
    detector: str = "NRS1",
    grating: str | None = None,
    fit_threshold: float = 10.0,
    slope_limit: float = 0.1,
    psf_optimal: bool = False,
    flux_density: bool = False,
    maximum_cores: str = "none",
    statistics: tuple[float, float] | None = None,
    fit_error: ArrayLike | None = None,
    fit_regions: Collection[int] | None = None,
    fit_columns: Collection[int] | None = None,
) -> TraceOversampleResult:
    """
    Adaptive-trace-model oversampling of a NIRSpec IFU image from arrays.

    ``jwst.adaptive_trace_model.trace_model.fit_and_oversample`` itself cannot
    run on ifuqa's models: for ``IFUImageModel`` it calls
    ``jwst.assign_wcs.nirspec.nrs_ifu_wcs(model)`` (a full NIRSpec gwcs with
    per-slice ``detector -> slicer`` transforms) both for the input alpha map
    and for the alpha/wavelength of the oversampled grid, and it rewrites
    ``model.meta.wcs``.  This function reproduces its NRS_IFU branch with the
    same jwst building blocks - ``_set_fit_kwargs`` / ``_set_oversample_kwargs``
    (mode ``"NRS_IFU"``), ``fit_all_regions`` (spline trace model),
    ``oversample_flux``, ``linear_oversample`` + ``_inflate_error`` for the
    error, ``_reindex`` for the new row positions - and the same thresholding
    (sigma-clipped mean/rms of in-region flux, negative-mean offset) - with
    the gwcs evaluations replaced by ``alpha`` and ``alpha_os``, as the
    installed jwst line does it (:data:`ALGORITHM`).

    Parameters
    ----------
    flux, error : array_like, shape (ny, nx)
        Flux and 1-sigma error, DMS orientation (dispersion along x).
    alpha : array_like, shape (ny, nx)
        Along-slice coordinate per pixel, increasing with y within a slice
        (jwst uses ``-alpha`` of the slicer frame); NaN outside slices.
    region_map : array_like of int, shape (ny, nx)
        Slice number per pixel (>0), 0 outside slices.
    oversample_factor : float, optional
        Oversampling factor along y; must be > 1.
    alpha_os : array_like, callable or None, optional
        Along-slice coordinate of the oversampled pixels, shape
        ``(ny_os, nx)``, or a callable ``f(x_os, y_os) -> alpha`` evaluated on
        full ``(ny_os, nx)`` coordinate grids (jwst evaluates its gwcs there).
        None linearly interpolates ``alpha`` along each column of each slice
        (``linear_oversample``), which is exact when alpha is linear in y
        within a slice column and an approximation otherwise.
    bad : array_like of bool or None, optional
        DO_NOT_USE pixels (jwst uses the DQ array); None uses non-finite flux.
    detector : {"NRS1", "NRS2"}, optional
        Sets the column fitting order.
    grating : str or None, optional
        "PRISM" switches to the PRISM fit parameters (jwst 3.0.x; 2.0.x has
        none).
    fit_threshold, slope_limit, psf_optimal : optional
        As in ``fit_and_oversample`` (``psf_optimal`` forces both to 0).
    flux_density : bool, optional
        True if the data are a flux density (not surface brightness): flux
        and error are then divided by the oversampling factor, as jwst 3.0.x
        does (2.0.x does not).
    maximum_cores : str, optional
        Passed to ``fit_all_regions`` ("none" = single process; jwst 3.0.x).
    statistics : (float, float) or None, optional
        ``(overall_mean, overall_rms)`` of the *whole* image
        (:func:`trace_fit_statistics`), for when ``flux`` is a cut-out of it;
        None computes them from ``flux`` as jwst does.
    fit_error : array_like or None, optional
        Error used by the fit only (jwst 3.0.x ignores pixels whose error is
        not positive when it collapses a slice; 2.0.x's fit uses no error);
        None uses ``error``.
    fit_regions : collection of int or None, optional
        Regions allowed a spline fit; the others get no spline model and are
        linearly oversampled (what jwst does for regions below the
        threshold).  None: every region, as in jwst.
    fit_columns : collection of int or None, optional
        Columns (indices into ``flux``) that may be fitted, in jwst's fitting
        order; the other columns are linearly oversampled.  None: every
        column, as in jwst.

    Returns
    -------
    TraceOversampleResult
        Oversampled arrays and the row mapping; see its docstring.
    """
    from jwst.adaptive_trace_model import trace_model as tm

    flux_in = np.array(flux, dtype=np.float64, copy=True)
    err_in = np.array(error, dtype=np.float64, copy=True)
    alpha_in = np.array(alpha, dtype=np.float64, copy=True)
    regions = np.array(region_map, dtype=np.int32, copy=True)
    if not flux_in.ndim == 2 or not (flux_in.shape == err_in.shape == alpha_in.shape):
        raise ValueError("flux, error and alpha must be 2-D arrays of the same shape")
    if regions.shape != flux_in.shape:
        raise ValueError("region_map must have the shape of flux")
    if not oversample_factor > 1:
        raise ValueError("oversample_factor must be > 1")
    ysize, xsize = flux_in.shape
    det = str(detector).upper()

    if psf_optimal:
        fit_threshold = 0
        slope_limit = 0

    if statistics is None:
        overall_mean, overall_rms = trace_fit_statistics(flux_in[regions > 0])
    else:
        overall_mean, overall_rms = (float(v) for v in statistics)
    restore_mean = None
    if overall_mean < 0:
        restore_mean = overall_mean
        flux_in = flux_in - overall_mean
        overall_mean = 0.0

    region_numbers = np.unique(regions[regions > 0])
    threshold = None if fit_threshold <= 0 else overall_mean + fit_threshold * overall_rms
    fit_map = regions
    if fit_regions is not None:
        fit_map = np.where(np.isin(regions, list(fit_regions)), regions, 0)
    err_fit = err_in if fit_error is None else np.asarray(fit_error, dtype=np.float64)
    if err_fit.shape != flux_in.shape:
        raise ValueError("fit_error must have the shape of flux")
    spline_models, oversample_kwargs = _line.fit_regions(
        tm, flux_in, err_fit, alpha_in, fit_map, threshold=threshold, detector=det,
        grating=grating, fit_columns=fit_columns, maximum_cores=maximum_cores)
    for number in region_numbers:
        spline_models.setdefault(number, {})

    _, oldy = tm._reindex(0, ysize - 1, scale=oversample_factor)
    os_shape = (int(np.ceil(ysize * oversample_factor)), xsize)
    y_os = np.asarray(oldy, dtype=np.float64)
    if y_os.shape[0] != os_shape[0]:  # pragma: no cover - non-integer factors
        raise ValueError("oversample_factor gives a non-integral number of rows")
    y_grid = np.broadcast_to(y_os[:, None], os_shape)
    x_grid = np.broadcast_to(np.arange(xsize, dtype=np.float64)[None, :], os_shape)

    if alpha_os is None:
        alpha_grid = tm.linear_oversample(
            alpha_in, regions, oversample_factor, 1, edge_limit=0, preserve_nan=False
        ).astype(np.float64)
    elif callable(alpha_os):
        alpha_grid = np.array(alpha_os(x_grid.copy(), y_grid.copy()), dtype=np.float64)
    else:
        alpha_grid = np.array(alpha_os, dtype=np.float64, copy=True)
    if alpha_grid.shape != os_shape:
        raise ValueError(f"alpha_os must have shape {os_shape}, got {alpha_grid.shape}")

    with warnings.catch_warnings():
        # jwst 2.0.x lacks 3.0.x's RuntimeWarning guards in the compact-source histogram
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        flux_os, trace_used, full_trace, linear, residual = tm.oversample_flux(
            flux_in,
            alpha_in,
            regions,
            spline_models,
            oversample_factor,
            alpha_grid,
            slope_limit=slope_limit,
            psf_optimal=psf_optimal,
            **oversample_kwargs,
        )

    closest = (np.round(y_grid).astype(int), np.round(x_grid).astype(int))
    regions_os = regions[closest]
    bad_in = ~np.isfinite(flux_in) if bad is None else np.asarray(bad, dtype=bool)
    estimated = np.isfinite(flux_os) & bad_in[closest]

    err_os = tm.linear_oversample(
        err_in,
        regions,
        oversample_factor,
        oversample_kwargs["require_ngood"],
        edge_limit=0,
        preserve_nan=False,
    ).astype(np.float64)
    err_os[~np.isfinite(err_in[closest]) & ~estimated] = np.nan
    tm._inflate_error(err_os, "err", oversample_factor)

    if restore_mean is not None and _line.RESTORES_NEGATIVE_MEAN:
        flux_os = flux_os + restore_mean
        trace_used = trace_used + restore_mean
        full_trace = full_trace + restore_mean
    if flux_density and _line.SCALES_FLUX_DENSITY:
        flux_os = flux_os / oversample_factor
        trace_used = trace_used / oversample_factor
        linear = linear / oversample_factor
        residual = residual / oversample_factor
        err_os = err_os / oversample_factor

    # jwst's match_nans_and_flags: error is NaN wherever flux is.
    err_os[~np.isfinite(flux_os)] = np.nan
    return TraceOversampleResult(
        flux=flux_os,
        error=err_os,
        y_os=y_os,
        row_height=1.0 / oversample_factor,
        region_map=regions_os,
        alpha_os=alpha_grid,
        trace_used=trace_used,
        full_trace=full_trace,
        linear=linear,
        residual=residual,
        estimated=estimated,
        spline_models=spline_models,
    )
