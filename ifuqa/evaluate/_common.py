"""Helpers shared by the evaluations: reading a dataset's products, PSF widths, truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.instrument.psf import cube_fwhm_arcsec as fwhm_arcsec
from ifuqa.products import Cube, Spectrum, read_cube, read_spectrum
from ifuqa.simulate.truth import Truth
from ifuqa.util.stats import nanmean, nanmedian

__all__ = ["MIN_BIN_SNR", "MIN_WHITE_SNR", "apparent_source_position", "fwhm_arcsec",
           "require_snr", "the_cube", "the_spectrum", "true_spectrum"]

MIN_WHITE_SNR = 20.0
"""Minimum S/N of the source in the white-light image for centroid-based metrics."""

MIN_BIN_SNR = 30.0
"""Minimum S/N of the source in each wavelength-bin image (centroid track, hole depth): a
centroid to ~FWHM / (2.4 S/N) ≈ 2 mas."""


def the_cube(paths: list[Path]) -> Cube:
    """The dataset's (first) s3d cube, or NotApplicable."""
    if not paths:
        raise NotApplicable("no s3d cube in this dataset")
    return read_cube(paths[0])


def the_spectrum(paths: list[Path]) -> Spectrum:
    """The dataset's (first) x1d spectrum, or NotApplicable."""
    if not paths:
        raise NotApplicable("no x1d spectrum in this dataset")
    return read_spectrum(paths[0])


def true_spectrum(truth: Truth) -> tuple[np.ndarray, np.ndarray, float]:
    """(wavelength µm, flux Jy, resolving power) of the first source of a synthetic truth."""
    return truth.source.wavelength_um, truth.source.flux_jy, truth.resolving_power


def apparent_source_position(truth: Truth) -> tuple[float, float]:
    """Band-averaged sky position (RA, Dec deg) where the cube should show the first source.

    The pipeline assumes the commanded pointing, so the source appears at the target shifted by
    its offset plus the (unknown to the pipeline) pointing offset, in the IFU frame at the
    position angle; the centroid track's mean is used for drifting sources.
    """
    from ifuqa.instrument.sky import Pointing

    across = float(np.mean(truth.source.track_across_arcsec))
    along = float(np.mean(truth.source.track_along_arcsec))
    px, py = truth.pointing_offset_arcsec
    target = Pointing(truth.target_ra_deg, truth.target_dec_deg, truth.position_angle_deg)
    ra, dec = target.ifu_to_sky(np.array([across + px]), np.array([along + py]))
    return float(ra[0]), float(dec[0])


def require_snr(cube: Cube, *, n_bins: int = 1, minimum: float = MIN_WHITE_SNR) -> float:
    """The lowest source S/N over ``n_bins`` wavelength-bin images; NotApplicable below
    ``minimum`` (the metric would measure noise, not the source)."""
    from ifuqa.metrics.apertures import aperture_snr, binned_images
    from ifuqa.metrics.centroids import centroid

    fwhm = float(nanmedian(fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    radius = 2.0 * fwhm / cube.spaxel_arcsec
    images, _ = binned_images(cube.data, cube.wavelength_um, n_bins)
    with np.errstate(all="ignore"):
        white = nanmean(images, axis=0)
    center = centroid(white, radius_pix=1.25 * radius)
    snr = min(aperture_snr(img, center, radius) for img in images)
    if not np.isfinite(snr) or snr < minimum:
        where = "white-light image" if n_bins == 1 else f"faintest of {n_bins} wavelength bins"
        raise NotApplicable(f"source too faint: S/N {snr:.1f} in the {where} "
                            f"(needs >= {minimum:g})")
    return snr
