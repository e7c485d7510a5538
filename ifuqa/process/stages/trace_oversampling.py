"""The optional adaptive-trace-model stage: jwst's ``adaptive_trace_model`` oversampling.

Between calibration (MJy/sr, outlier flags applied) and cube building, each exposure's image is
oversampled by an integer factor ``f`` along the spatial (row) direction with the jwst algorithm
(:func:`ifuqa.process.jwst_api.adaptive_trace_model.trace_model_oversample`): where a slice holds a
compact,
bright source its columns are modelled with B-splines fitted along the slice (using ±50
neighbouring columns, so the undersampled PSF is sampled at many sub-pixel phases) and the model
plus the linearly interpolated residual is evaluated at the sub-rows; elsewhere the sub-rows are a
linear interpolation. Values stay surface brightness (the sub-rows have ``1/f`` of a pixel's
footprint, see :func:`ifuqa.process.stages.point_cloud.subrow_pixel_map`), errors are inflated by
``0.23 f + 0.77`` as in jwst, and, as in jwst, the first and last ``f`` sub-rows of every slice
column are dropped unless the spline model covers them.

Bounded cost
------------
jwst fits every column of every slice whose fit statistic (jwst 3.0.x: the peak of the collapsed
cross-dispersion profile; 2.0.x: the median column maximum; see
:func:`~ifuqa.process.jwst_api.adaptive_trace_model.trace_region_peak`) exceeds
``mean + fit_threshold × rms`` of the image, working on full-frame arrays for each slice. Here:

* each slice is fitted and oversampled on its own cut-out (its ~30-45 rows × its columns): the
  same pixels, the same threshold (the whole image's statistics), the same column order, hence
  the same spline models as on the full frame, without 30 passes over 2048 × 2048 arrays (the
  oversampled values differ only where jwst, on a full frame, lets the breakpoint count of the
  first fitted slice set the compact-source mask of later slices: ``oversample_flux`` does not
  reset its ``spline_bkpt`` per region);
* only slices whose peak is also at least ``min_peak_fraction`` of the brightest slice's peak are
  fitted (the PSF wings of a bright point source pass jwst's threshold in ~10 slices, but only the
  3-5 core slices carry enough of its light for the fit to matter); the others are linearly
  oversampled, as jwst does below its threshold;
* within a fitted slice, only columns whose peak exceeds the threshold are fitted (all columns of
  a continuum source; only the line columns of a pure emission-line source).

Measured (jwst 3.0.0) on one 543-column G395H frame of the bright point source (2 shared cores):
jwst's choice fits 10 slices (5298 column fits) and takes 45 s on full-frame arrays, 14 s on
cut-outs; with the bounds 5 slices (2648 column fits), 8.6 s, and identical oversampled values in
the cases measured (the wing slices' splines go unused: jwst's compact-source test rejects them).
Both restrictions are ifuqa's, not jwst's, and can be lifted (``min_peak_fraction=0``,
``fit_columns_above_threshold=False``) to reproduce jwst's choice of slices and columns.

Noiseless simulations have zero errors; jwst 3.0.x ignores pixels without a positive error when
it collapses a slice (so would fit nothing). For the fit only, such errors are replaced by the
median positive error of the image (1 when there is none); the oversampled errors are jwst's.
(jwst 2.0.x's fit uses no errors.)

The algorithm is the installed jwst release line's
(:data:`~ifuqa.process.jwst_api.adaptive_trace_model.ALGORITHM`): 2.0.x and 3.0.x differ in the
fit test, the fit parameters, the good pixels the oversampling needs, the restore of a negative
image mean and the scaling of flux densities; :func:`fitted_summary` names the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ifuqa.instrument.layout import DetectorPixelMap
from ifuqa.process.jwst_api.adaptive_trace_model import LINE as TRACE_MODEL_LINE
from ifuqa.process.jwst_api.adaptive_trace_model import (
    trace_fit_statistics,
    trace_model_oversample,
    trace_region_peak,
)
from ifuqa.process.stages.point_cloud import along_slice_at, oversampled_rows, subrow_pixel_map

__all__ = ["OversampledExposure", "SliceCutout", "TraceModelParameters", "fitted_summary",
           "oversample_exposure", "oversampled_alpha", "slice_cutouts"]


@dataclass(frozen=True)
class TraceModelParameters:
    """Parameters of the adaptive-trace-model stage.

    Attributes
    ----------
    oversample_factor : int
        Sub-rows per detector row (jwst ``oversample``; an integer ≥ 2 here).
    fit_threshold : float
        jwst's ``fit_threshold``: a slice is fitted only if its fit statistic
        (:func:`~ifuqa.process.jwst_api.adaptive_trace_model.trace_region_peak`) exceeds
        ``mean + fit_threshold × rms`` of the image (≤ 0: every slice).
    slope_limit : float
        jwst's ``slope_limit`` (normalised model slope above which the spline model is used).
    min_peak_fraction : float
        ifuqa's cost bound: also require the slice's peak to be at least this fraction of the
        brightest slice's (0 disables it).
    fit_columns_above_threshold : bool
        ifuqa's cost bound: fit only the columns whose peak exceeds the threshold.
    """

    oversample_factor: int = 2
    fit_threshold: float = 10.0
    slope_limit: float = 0.1
    min_peak_fraction: float = 0.01
    fit_columns_above_threshold: bool = True

    def __post_init__(self) -> None:
        if int(self.oversample_factor) != self.oversample_factor or self.oversample_factor < 2:
            raise ValueError("oversample_factor must be an integer >= 2")
        if not 0.0 <= self.min_peak_fraction < 1.0:
            raise ValueError("min_peak_fraction must be in [0, 1)")

    def describe(self) -> str:
        """One-line description (recorded in product headers)."""
        return (f"oversample {self.oversample_factor} fit_threshold {self.fit_threshold:g} "
                f"slope_limit {self.slope_limit:g} min_peak_fraction {self.min_peak_fraction:g}")


@dataclass
class OversampledExposure:
    """One exposure/detector on the oversampled grid.

    Attributes
    ----------
    pixmap : DetectorPixelMap
        The sub-row pixel map (``y`` = oversampled row index), from
        :func:`~ifuqa.process.stages.point_cloud.subrow_pixel_map`.
    flux, err : numpy.ndarray
        Surface brightness (or flux density, NS-IFU02 defect) and error per sub-row pixel; NaN
        where jwst leaves no value.
    estimated : numpy.ndarray of bool
        Sub-rows of a bad input pixel that received a model value (jwst: FLUX_ESTIMATED).
    factor : int
        Oversampling factor.
    fitted_slices : tuple of int
        Slices (0-based) that were given a spline fit.
    fitted_columns : int
        Number of (slice, column) spline models.
    peaks : dict
        jwst's fit statistic of every slice (the installed line's, see
        :func:`~ifuqa.process.jwst_api.adaptive_trace_model.trace_region_peak`).
    threshold : float
        The fit threshold in the image's units.
    """

    pixmap: DetectorPixelMap
    flux: np.ndarray
    err: np.ndarray
    estimated: np.ndarray
    factor: int
    fitted_slices: tuple[int, ...]
    fitted_columns: int
    peaks: dict[int, float]
    threshold: float

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of full-frame images on the oversampled grid."""
        from ifuqa.instrument.dispersers import DETECTOR_COLUMNS

        return (self.factor * DETECTOR_COLUMNS, DETECTOR_COLUMNS)

    def images(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(flux, err, good) full-frame images on the oversampled grid, for ``point_cloud``."""
        flux = self.pixmap.to_image(self.flux, fill=np.nan, shape=self.shape)
        err = self.pixmap.to_image(self.err, fill=np.nan, shape=self.shape)
        good = self.pixmap.to_image(np.isfinite(self.flux), fill=False,
                                    shape=self.shape).astype(bool)
        return flux, err, good


@dataclass
class SliceCutout:
    """One slice's pixels in the smallest detector box holding them, as jwst's trace model
    fits a region (NaN, and ``region`` 0, outside the slice).

    Attributes
    ----------
    slice_index : int
        Slice (0-based); ``region`` holds ``slice_index + 1`` on its pixels.
    y0, x0 : int
        Detector row and column of the box's first pixel.
    flux, err, fit_err : numpy.ndarray
        Values, errors and the errors the spline fit weights with, in the box.
    alpha : numpy.ndarray
        The instrument model's along-slice coordinate (arcsec) of each pixel.
    region : numpy.ndarray of int32
        Region map (jwst's slice numbering, 1-based; 0 outside the slice).
    """

    slice_index: int
    y0: int
    x0: int
    flux: np.ndarray
    err: np.ndarray
    fit_err: np.ndarray
    alpha: np.ndarray
    region: np.ndarray


def _fit_error(values: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Errors for the fit: non-positive/non-finite errors of finite values → median error."""
    positive = errors[np.isfinite(errors) & (errors > 0)]
    floor = float(np.median(positive)) if positive.size else 1.0
    ok = np.isfinite(errors) & (errors > 0)
    return np.where(np.isfinite(values) & ~ok, floor, errors)


def slice_cutouts(pixmap: DetectorPixelMap, values: np.ndarray, errors: np.ndarray,
                  fit_errors: np.ndarray) -> list[SliceCutout]:
    """Per-slice boxes of per-pixel arrays (NaN outside the slice), one per slice of
    ``pixmap``, in slice order: what :func:`oversample_exposure` hands jwst's trace model.

    Parameters
    ----------
    pixmap : DetectorPixelMap
        The illuminated pixels.
    values, errors, fit_errors : numpy.ndarray
        One value per pixel of ``pixmap``.

    Returns
    -------
    list of SliceCutout
    """
    out = []
    for k in np.unique(pixmap.slice_index):
        sel = np.flatnonzero(pixmap.slice_index == k)
        x, y = pixmap.x[sel], pixmap.y[sel]
        y0, x0 = int(y.min()), int(x.min())
        shape = (int(y.max()) - y0 + 1, int(x.max()) - x0 + 1)
        idx = (y - y0, x - x0)

        def box(v: np.ndarray, fill: float = np.nan, idx: Any = idx,
                shape: tuple[int, ...] = shape) -> np.ndarray:
            a = np.full(shape, fill, dtype=np.float64)
            a[idx] = v
            return a

        region = np.zeros(shape, dtype=np.int32)
        region[idx] = int(k) + 1
        out.append(SliceCutout(int(k), y0, x0, box(values[sel]), box(errors[sel]),
                           box(fit_errors[sel]), box(along_slice_at(x, y, pixmap.slice_index[sel])),
                           region))
    return out


def _threshold(mean: float, rms: float, fit_threshold: float) -> tuple[float, float]:
    """(offset added to the data, threshold) as jwst: a negative mean is subtracted first."""
    offset = -mean if mean < 0 else 0.0
    return offset, max(mean, 0.0) + fit_threshold * rms


def _select_slices(peaks: dict[int, float], threshold: float,
                   params: TraceModelParameters) -> set[int]:
    """Slices to fit: over jwst's threshold and over the fraction of the brightest peak."""
    finite = {k: p for k, p in peaks.items() if np.isfinite(p)}
    if not finite:
        return set()
    brightest = max(finite.values())
    return {k for k, p in finite.items()
            if (params.fit_threshold <= 0 or p > threshold)
            and p >= params.min_peak_fraction * brightest}


def _fit_columns(cut: SliceCutout, offset: float, threshold: float,
                 params: TraceModelParameters) -> list[int] | None:
    """Columns of a cut-out allowed a fit (None: all)."""
    if not params.fit_columns_above_threshold or params.fit_threshold <= 0:
        return None
    with np.errstate(invalid="ignore"):
        peak = np.nanmax(np.where(np.isfinite(cut.flux), cut.flux, -np.inf), axis=0)
    return [int(c) for c in np.flatnonzero(peak + offset > threshold)]


def oversampled_alpha(cut: SliceCutout, factor: int) -> np.ndarray:
    """The instrument model's along-slice coordinate (arcsec) on a cut-out's grid oversampled
    ``factor`` times along the rows (jwst's ``alpha_os``: row ``j = factor × row + m`` at the
    fractional detector row of :func:`~ifuqa.process.stages.point_cloud.oversampled_rows`).

    Returns
    -------
    numpy.ndarray, shape (factor × ny, nx)
    """
    ny, nx = cut.flux.shape
    _, y_os = oversampled_rows(factor, cut.y0 + np.arange(ny))
    y_os = y_os.T.reshape(-1)  # row-major: j = f * row + m
    x = cut.x0 + np.arange(nx, dtype=float)
    return along_slice_at(x[None, :], y_os[:, None], np.full((1, 1), cut.slice_index))


def oversample_exposure(
    flux_image: np.ndarray,
    err_image: np.ndarray,
    good_image: np.ndarray,
    pixmap: DetectorPixelMap,
    *,
    params: TraceModelParameters | None = None,
    flux_density: bool = False,
    grating: str | None = None,
) -> OversampledExposure:
    """Oversample one calibrated exposure/detector with jwst's adaptive trace model.

    Parameters
    ----------
    flux_image, err_image : numpy.ndarray, shape (2048, 2048)
        Calibrated image and error (``[y, x]``), normally MJy/sr.
    good_image : numpy.ndarray of bool
        False for pixels not to use (DO_NOT_USE, outliers): treated as NaN, as in jwst.
    pixmap : DetectorPixelMap
        The detector's illuminated pixels (slice number, position) from the instrument model.
    params : TraceModelParameters, optional
        Stage parameters (defaults: oversample 2, jwst's thresholds, ifuqa's cost bounds).
    flux_density : bool
        The values are flux densities per pixel (NS-IFU02 defect): jwst then divides the
        oversampled values by the factor.
    grating : str, optional
        Grating name (``"PRISM"`` selects jwst 3.0.x's PRISM fit parameters).

    Returns
    -------
    OversampledExposure
    """
    params = params or TraceModelParameters()
    f = int(params.oversample_factor)
    values = np.asarray(flux_image, dtype=np.float64)[pixmap.y, pixmap.x]
    errors = np.asarray(err_image, dtype=np.float64)[pixmap.y, pixmap.x]
    values = np.where(np.asarray(good_image, dtype=bool)[pixmap.y, pixmap.x], values, np.nan)
    fit_errors = _fit_error(values, errors)
    stats = trace_fit_statistics(values)
    offset, threshold = _threshold(*stats, params.fit_threshold)

    cuts = slice_cutouts(pixmap, values, errors, fit_errors)
    peaks = {c.slice_index: trace_region_peak(c.flux + offset, c.fit_err, c.alpha)
             for c in cuts}
    chosen = _select_slices(peaks, threshold, params)

    sub = subrow_pixel_map(pixmap, f)
    out_flux = np.full(sub.size, np.nan)
    out_err = np.full(sub.size, np.nan)
    out_est = np.zeros(sub.size, dtype=bool)
    fitted = 0
    for cut in cuts:
        fit = cut.slice_index in chosen
        res = trace_model_oversample(
            cut.flux, cut.err, cut.alpha, cut.region, oversample_factor=f,
            alpha_os=oversampled_alpha(cut, f), detector=pixmap.detector, grating=grating,
            fit_threshold=params.fit_threshold, slope_limit=params.slope_limit,
            flux_density=flux_density, statistics=stats, fit_error=cut.fit_err,
            fit_regions=[cut.slice_index + 1] if fit else [],
            fit_columns=_fit_columns(cut, offset, threshold, params) if fit else None)
        fitted += sum(len(m) for m in res.spline_models.values())
        sel = np.flatnonzero(sub.slice_index == cut.slice_index)
        idx = (sub.y[sel] - f * cut.y0, sub.x[sel] - cut.x0)
        out_flux[sel] = res.flux[idx]
        out_err[sel] = res.error[idx]
        out_est[sel] = res.estimated[idx]
    out_err[~np.isfinite(out_flux)] = np.nan
    return OversampledExposure(sub, out_flux, out_err, out_est, f,
                               tuple(sorted(k for k in chosen)), fitted, peaks, threshold)


def fitted_summary(exposures: Sequence[OversampledExposure]) -> str:
    """Short text of what was fitted, and with which jwst line's algorithm (for logs and
    HISTORY)."""
    return "; ".join(f"{e.pixmap.detector}: slices {list(e.fitted_slices)} "
                     f"({e.fitted_columns} column fits, jwst {TRACE_MODEL_LINE}.x algorithm)"
                     for e in exposures)
