"""NS-IFU06 — centroid drift with wavelength.

Metrics: the drift of the source centroid over the band (mas) from the cube's WCS, and on
synthetic data the error of the recovered drift vector against the injected one. Both carry the
drift's uncertainty (each wavelength bin's centroid noise, propagated from the cube's background;
noise-dominated bins left out, see :func:`ifuqa.metrics.centroids.centroid_drift`), so a source
too faint to tell gives "could not decide", and a drift that could not be measured gives an
error record naming the bins that had no centroid and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import cube_fwhm, detect_source, limit_for, the_cube
from ifuqa.metrics.centroids import centroid_drift, centroid_track, drift_recovery
from ifuqa.metrics.result import MetricResult
from ifuqa.simulate.truth import Truth

if TYPE_CHECKING:
    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["drift", "drift_accuracy", "injected_drift_sky_mas"]


def drift(dataset: Dataset, thresholds: Thresholds, *, n_bins: int = 12) -> MetricResult:
    """Centroid drift over the band (mas)."""
    cube = the_cube(dataset.s3d)
    detection = detect_source(cube, n_bins=n_bins)
    fwhm = float(np.nanmax(cube_fwhm(cube)))
    limit = limit_for(thresholds, "ns_ifu06.centroid_drift", cube)
    track = centroid_track(cube.data, cube.wavelength_um, cube.pixel_to_sky,
                           radius_pix=2.5 * fwhm / cube.spaxel_arcsec, n_bins=n_bins)
    result = centroid_drift(track, threshold_mas=limit.value)
    result.evidence.update(detection.evidence(), **limit.evidence())
    if limit.fwhm_fraction is not None:
        result.message += (f"; limit {limit.value:.0f} mas = {limit.fwhm_fraction:.2f} x the "
                           "PSF FWHM")
    return result


def injected_drift_sky_mas(truth: Truth, wave_lo: float, wave_hi: float) -> tuple[float, float]:
    """Injected drift (east, north mas) between two wavelengths, from the truth's track."""
    src = truth.source
    w0, w1 = src.track_wavelength_um
    frac = (wave_hi - wave_lo) / (w1 - w0)
    d_across = (src.track_across_arcsec[1] - src.track_across_arcsec[0]) * frac * 1000.0
    d_along = (src.track_along_arcsec[1] - src.track_along_arcsec[0]) * frac * 1000.0
    from ifuqa.instrument.sky import Pointing

    target = Pointing(truth.target_ra_deg, truth.target_dec_deg, truth.position_angle_deg)
    ra, dec = target.ifu_to_sky(np.array([0.0, d_across / 1000.0]),
                                np.array([0.0, d_along / 1000.0]))
    east = (ra[1] - ra[0]) * np.cos(np.deg2rad(dec[0])) * 3.6e6
    north = (dec[1] - dec[0]) * 3.6e6
    return float(east), float(north)


def drift_accuracy(dataset: Dataset, thresholds: Thresholds, *,
                   tolerance_mas: float = 3.0) -> MetricResult:
    """|recovered − injected| drift vector over the band the drift is measured on (mas), with
    the recovered drift's uncertainty."""
    if not dataset.synthetic:
        raise NotApplicable("needs the injected drift (synthetic data)")
    res = drift(dataset, thresholds)
    lo, hi = res.details.get("band_um", (float("nan"), float("nan")))
    injected = ((0.0, 0.0) if not np.isfinite(res.value)
                else injected_drift_sky_mas(dataset.truth, float(lo), float(hi)))
    return drift_recovery(res, injected, tolerance_mas=tolerance_mas)
