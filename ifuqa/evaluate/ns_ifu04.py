"""NS-IFU04 — extraction apertures that miss the source.

Metrics: offset between the x1d's extraction centre and the cube's source centroid (mas), the
flux the aperture loses at that position, and (synthetic) how well the centroid recovers the
true apparent source position.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    apparent_source_position,
    cube_fwhm,
    detect_source,
    fwhm_arcsec,
    limit_for,
    the_cube,
    the_spectrum,
    usable_spectrum,
)
from ifuqa.metrics.apertures import MAS_PER_DEG, aperture_snr, binned_images, curve_of_growth
from ifuqa.metrics.centroids import centroid, extraction_centring
from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra import error_scale, source_significance
from ifuqa.util.stats import nanmean, nanmedian

if TYPE_CHECKING:
    from ifuqa.products import Cube
    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["centring", "centroid_accuracy", "curve_of_growth_total", "jy_per_spaxel_unit",
           "x1d_source"]

ARCSEC_PER_RAD = 206264.80624709636


def _white(cube: Cube) -> np.ndarray:
    with np.errstate(all="ignore"):
        return nanmean(cube.data, axis=0)


def centring(dataset: Dataset, thresholds: Thresholds) -> tuple[MetricResult, MetricResult]:
    """(extraction offset, flux loss) of the dataset's x1d against its cube."""
    cube = the_cube(dataset.s3d)
    detection = detect_source(cube)
    spec = the_spectrum(dataset.x1d)
    if spec.extraction_xy is None:
        raise NotApplicable(f"{spec.path.name} does not record its extraction centre")
    fwhm = float(nanmedian(cube_fwhm(cube)))
    offset_limit = limit_for(thresholds, "ns_ifu04.extraction_offset", cube)
    loss_limit = limit_for(thresholds, "ns_ifu04.extraction_flux_loss", cube)
    offset, loss = extraction_centring(
        _white(cube), spec.extraction_xy, cube.spaxel_arcsec * 1000.0,
        radius_pix=2.5 * fwhm / cube.spaxel_arcsec,
        aperture_radius_pix=2.0 * fwhm / cube.spaxel_arcsec,
        offset_threshold_mas=offset_limit.value, flux_loss_threshold_percent=loss_limit.value)
    # centroid precision of a PSF of width sigma at S/N: sigma / S/N per axis
    offset.uncertainty = float(fwhm * 1000.0 / 2.3548 / detection.snr_white)
    loss.uncertainty = float(100.0 / detection.snr_white)
    offset.evidence.update(detection.evidence(), **offset_limit.evidence())
    loss.evidence.update(detection.evidence(), **loss_limit.evidence())
    return offset, loss


def centroid_accuracy(dataset: Dataset, *, tolerance_mas: float = 10.0) -> MetricResult:
    """Distance (mas) between the cube centroid and the true apparent source position."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true source position (synthetic data)")
    cube = the_cube(dataset.s3d)
    detection = detect_source(cube)
    fwhm = float(nanmedian(fwhm_arcsec(cube.wavelength_um)))
    cx, cy = centroid(_white(cube), radius_pix=2.5 * fwhm / cube.spaxel_arcsec)
    mid = np.array([float(np.mean(cube.wavelength_um))])
    ra, dec = cube.pixel_to_sky(np.array([cx]), np.array([cy]), mid)
    ra0, dec0 = apparent_source_position(dataset.truth)
    dist = float(np.hypot((ra[0] - ra0) * np.cos(np.deg2rad(dec0)), dec[0] - dec0) * MAS_PER_DEG)
    # centroid precision of a PSF of width sigma at S/N: sigma / S/N per axis (as centring's)
    sigma = float(fwhm * 1000.0 / 2.3548 / detection.snr_white)
    result = MetricResult("NS-IFU04", "centroid_vs_truth", dist, "mas", tolerance_mas,
                          message=f"cube centroid {dist:.1f} ± {sigma:.2g} mas from the true "
                                  "source position", uncertainty=sigma)
    result.evidence.update(detection.evidence())
    return result


def jy_per_spaxel_unit(cube: Cube) -> float:
    """Jy per (cube unit × spaxel): MJy/sr times the spaxel solid angle, or MJy."""
    if cube.bunit == "MJy":
        return 1e6
    return 1e6 * (cube.spaxel_arcsec / ARCSEC_PER_RAD) ** 2


def _bin_noise_percent(image: np.ndarray, center: tuple[float, float],
                       radius_pix: float) -> float:
    """1-sigma noise of an aperture sum in % of the sum (:func:`aperture_snr`, background from
    the spaxels beyond ``radius_pix + 3``: small cubes have few beyond 3 radii)."""
    snr = aperture_snr(image, center, radius_pix, background_beyond_pix=radius_pix + 3)
    return float(100.0 / snr) if np.isfinite(snr) and snr > 0 else float("inf")


def curve_of_growth_total(dataset: Dataset, thresholds: Thresholds, *, n_bins: int = 6,
                          judge_fwhm: float = 2.0) -> MetricResult:
    """The x1d against the total flux of the cube's curve of growth (%, worst of ``n_bins``)."""
    from ifuqa.instrument.psf import obscured_airy_encircled_energy

    cube = the_cube(dataset.s3d)
    detection = detect_source(cube)
    spec = the_spectrum(dataset.x1d)
    limit = limit_for(thresholds, "ns_ifu04.x1d_vs_curve_of_growth", cube)
    images, waves = binned_images(cube.data, cube.wavelength_um, n_bins)
    edges = np.linspace(0, cube.data.shape[0], n_bins + 1).astype(int)
    usable = np.where(spec.valid, spec.flux_jy, np.nan)
    flux = np.interp(cube.wavelength_um, spec.wavelength_um, usable, left=np.nan, right=np.nan)
    with np.errstate(all="ignore"):
        spec_bins = np.array([nanmean(flux[a:b]) for a, b in itertools.pairwise(edges)])
    fwhm = fwhm_arcsec(waves, cube.instrument)
    fwhm_pix = fwhm / cube.spaxel_arcsec
    cx, cy = centroid(_white(cube), radius_pix=2.5 * float(np.median(fwhm_pix)))
    per_unit = jy_per_spaxel_unit(cube)

    def encircled(wave: float, radius_fwhm: float) -> float:
        fw = float(fwhm_arcsec(np.array([wave]), cube.instrument)[0])
        return float(obscured_airy_encircled_energy(np.array([wave]),
                                                    np.array([radius_fwhm * fw]))[0])

    noise = np.array([_bin_noise_percent(img, (cx, cy), judge_fwhm * fp)
                      for img, fp in zip(images, fwhm_pix, strict=True)])
    result = curve_of_growth(images, waves, spec_bins, (cx, cy), fwhm_pix, per_unit, encircled,
                             judge_fwhm=judge_fwhm, noise_percent=noise,
                             threshold_percent=limit.value)
    if not np.isfinite(result.value):
        raise NotApplicable("no wavelength bin where both the cube and the x1d have data")
    result.evidence.update(detection.evidence(), **limit.evidence())
    return result


def x1d_source(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Whether the x1d holds its source: the significance of its summed flux over its usable
    rows, errors rescaled to the measured scatter (an aperture that missed the source collects
    noise and background residuals; a spectrum mostly DQ-flagged is an error record)."""
    spec = usable_spectrum(the_spectrum(dataset.x1d))
    scale = error_scale(spec.flux_jy[spec.valid], spec.error_jy[spec.valid])
    result = source_significance(spec.flux_jy, spec.error_jy, valid=spec.valid, scale=scale,
                                 threshold_sigma=limit_for(
                                     thresholds, "ns_ifu04.x1d_source_significance").value)
    result.message += f" in {spec.path.name}"
    result.evidence.update(flagged_fraction=spec.flagged_fraction)
    return result
