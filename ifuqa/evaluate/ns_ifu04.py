"""NS-IFU04 — extraction apertures that miss the source.

Metrics: offset between the x1d's extraction centre and the cube's source centroid (mas), the
flux the aperture loses at that position, and (synthetic) how well the centroid recovers the
true apparent source position.
"""

from __future__ import annotations

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    apparent_source_position,
    fwhm_arcsec,
    require_snr,
    the_cube,
    the_spectrum,
)
from ifuqa.metrics import nanstat
from ifuqa.metrics.cube import MAS_PER_DEG, centroid, extraction_centring
from ifuqa.metrics.result import MetricResult

__all__ = ["centring", "centroid_accuracy"]


def _white(cube) -> np.ndarray:
    with np.errstate(all="ignore"):
        return nanstat.nanmean(cube.data, axis=0)


def centring(dataset, thresholds) -> tuple[MetricResult, MetricResult]:
    """(extraction offset, flux loss) of the dataset's x1d against its cube."""
    cube = the_cube(dataset.s3d)
    require_snr(cube)
    spec = the_spectrum(dataset.x1d)
    if spec.extraction_xy is None:
        raise NotApplicable(f"{spec.path.name} does not record its extraction centre")
    fwhm = float(nanstat.nanmedian(fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    return extraction_centring(
        _white(cube), spec.extraction_xy, cube.spaxel_arcsec * 1000.0,
        radius_pix=2.5 * fwhm / cube.spaxel_arcsec,
        aperture_radius_pix=2.0 * fwhm / cube.spaxel_arcsec,
        offset_threshold_mas=thresholds["ns_ifu04.offset_mas"],
        flux_loss_threshold_percent=thresholds["ns_ifu04.flux_loss_percent"])


def centroid_accuracy(dataset, *, tolerance_mas: float = 10.0) -> MetricResult:
    """Distance (mas) between the cube centroid and the true apparent source position."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true source position (synthetic data)")
    cube = the_cube(dataset.s3d)
    require_snr(cube)
    fwhm = float(nanstat.nanmedian(fwhm_arcsec(cube.wavelength_um)))
    cx, cy = centroid(_white(cube), radius_pix=2.5 * fwhm / cube.spaxel_arcsec)
    mid = np.array([float(np.mean(cube.wavelength_um))])
    ra, dec = cube.pixel_to_sky(np.array([cx]), np.array([cy]), mid)
    ra0, dec0 = apparent_source_position(dataset.truth)
    dist = float(np.hypot((ra[0] - ra0) * np.cos(np.deg2rad(dec0)), dec[0] - dec0) * MAS_PER_DEG)
    return MetricResult("NS-IFU04", "centroid_vs_truth", dist, "mas", tolerance_mas,
                        message=f"cube centroid {dist:.1f} mas from the true source position")
