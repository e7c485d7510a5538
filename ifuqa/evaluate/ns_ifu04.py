"""NS-IFU04 — extraction apertures that miss the source.

Metrics: offset between the x1d's extraction centre and the cube's source centroid (mas), the
flux the aperture loses at that position, and (synthetic) how well the centroid recovers the
true apparent source position.
"""

from __future__ import annotations

import itertools

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    apparent_source_position,
    fwhm_arcsec,
    require_snr,
    the_cube,
    the_spectrum,
)
from ifuqa.metrics.apertures import MAS_PER_DEG, aperture_snr, binned_images, curve_of_growth
from ifuqa.metrics.centroids import centroid, extraction_centring
from ifuqa.metrics.result import MetricResult
from ifuqa.util.stats import nanmean, nanmedian

__all__ = ["centring", "centroid_accuracy", "curve_of_growth_total", "jy_per_spaxel_unit"]

ARCSEC_PER_RAD = 206264.80624709636


def _white(cube) -> np.ndarray:
    with np.errstate(all="ignore"):
        return nanmean(cube.data, axis=0)


def centring(dataset, thresholds) -> tuple[MetricResult, MetricResult]:
    """(extraction offset, flux loss) of the dataset's x1d against its cube."""
    cube = the_cube(dataset.s3d)
    require_snr(cube)
    spec = the_spectrum(dataset.x1d)
    if spec.extraction_xy is None:
        raise NotApplicable(f"{spec.path.name} does not record its extraction centre")
    fwhm = float(nanmedian(fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    return extraction_centring(
        _white(cube), spec.extraction_xy, cube.spaxel_arcsec * 1000.0,
        radius_pix=2.5 * fwhm / cube.spaxel_arcsec,
        aperture_radius_pix=2.0 * fwhm / cube.spaxel_arcsec,
        offset_threshold_mas=thresholds["ns_ifu04.extraction_offset"],
        flux_loss_threshold_percent=thresholds["ns_ifu04.extraction_flux_loss"])


def centroid_accuracy(dataset, *, tolerance_mas: float = 10.0) -> MetricResult:
    """Distance (mas) between the cube centroid and the true apparent source position."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true source position (synthetic data)")
    cube = the_cube(dataset.s3d)
    require_snr(cube)
    fwhm = float(nanmedian(fwhm_arcsec(cube.wavelength_um)))
    cx, cy = centroid(_white(cube), radius_pix=2.5 * fwhm / cube.spaxel_arcsec)
    mid = np.array([float(np.mean(cube.wavelength_um))])
    ra, dec = cube.pixel_to_sky(np.array([cx]), np.array([cy]), mid)
    ra0, dec0 = apparent_source_position(dataset.truth)
    dist = float(np.hypot((ra[0] - ra0) * np.cos(np.deg2rad(dec0)), dec[0] - dec0) * MAS_PER_DEG)
    return MetricResult("NS-IFU04", "centroid_vs_truth", dist, "mas", tolerance_mas,
                        message=f"cube centroid {dist:.1f} mas from the true source position")


def jy_per_spaxel_unit(cube) -> float:
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


def curve_of_growth_total(dataset, thresholds, *, n_bins: int = 6,
                          judge_fwhm: float = 2.0) -> MetricResult:
    """The x1d against the total flux of the cube's curve of growth (%, worst of ``n_bins``)."""
    from ifuqa.instrument.psf import obscured_airy_encircled_energy

    cube = the_cube(dataset.s3d)
    require_snr(cube)
    spec = the_spectrum(dataset.x1d)
    images, waves = binned_images(cube.data, cube.wavelength_um, n_bins)
    edges = np.linspace(0, cube.data.shape[0], n_bins + 1).astype(int)
    flux = np.interp(cube.wavelength_um, spec.wavelength_um, spec.flux_jy,
                     left=np.nan, right=np.nan)
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
                             threshold_percent=thresholds["ns_ifu04.x1d_vs_curve_of_growth"])
    if not np.isfinite(result.value):
        raise NotApplicable(f"cube too noisy for a {result.threshold:g} % flux comparison "
                            f"(best bin noise {np.nanmin(noise):.2g} % within {judge_fwhm:g} "
                            "FWHM)")
    return result

