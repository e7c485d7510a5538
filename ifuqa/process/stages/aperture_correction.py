"""Aperture corrections for cube extraction, computed from the known PSF.

A point source in a cube built from dithered exposures is the PSF convolved with the detector
pixel footprint (one slice width × one along-slice pixel) and with the output spaxel (3-D drizzle
redistributes each footprint onto the spaxel grid). The fraction of that effective PSF inside a
circular aperture of radius ``r`` is the encircled energy ``EE(r, λ)``; dividing an aperture sum by
it corrects for the light outside the aperture (and, with the PSF's far-wing fraction, outside the
tabulated PSF).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

from ifuqa.instrument.layout import ALONG_SLICE_PIXEL_ARCSEC, SLICE_WIDTH_ARCSEC
from ifuqa.instrument.psf import PSFModel

__all__ = ["encircled_energy_in_cube"]

_SAMPLING = 0.005  # arcsec


def _box(image: np.ndarray, width_x: float, width_y: float) -> np.ndarray:
    """Convolve with a normalised top-hat of the given widths (arcsec), sub-sample exact."""
    out = image
    for axis, width in ((1, width_x), (0, width_y)):
        n = max(1, round(width / _SAMPLING))
        if n % 2 == 0:  # keep the kernel centred: average two odd-width boxes
            out = 0.5 * (uniform_filter(out, size=n - 1, axes=(axis,), mode="constant")
                         + uniform_filter(out, size=n + 1, axes=(axis,), mode="constant"))
        else:
            out = uniform_filter(out, size=n, axes=(axis,), mode="constant")
    return out


def _circle_weights(xx: np.ndarray, yy: np.ndarray, radius: float) -> np.ndarray:
    """Fraction of each fine sample inside a circle (anti-aliased over one sample)."""
    r = np.hypot(xx, yy)
    return np.clip((radius - r) / _SAMPLING + 0.5, 0.0, 1.0)


def _discrete_sum(model: np.ndarray, axis: np.ndarray, radius: float, spaxel: float,
                  phase: tuple[float, float]) -> float:
    """Aperture sum of the model sampled on the cube's spaxel grid, with photutils' exact
    circular weights, for a source at sub-spaxel ``phase`` (x, y) of the aperture centre."""
    from photutils.aperture import CircularAperture
    from scipy.ndimage import map_coordinates

    n = int(np.ceil(radius / spaxel)) + 2
    size = 2 * n + 1
    cx, cy = n + phase[0], n + phase[1]
    weights = CircularAperture((cx, cy), radius / spaxel).to_mask(
        method="exact").to_image((size, size))
    jj, ii = np.nonzero(weights)
    x = (ii - cx) * spaxel  # arcsec from the source
    y = (jj - cy) * spaxel
    coords = np.vstack([(y - axis[0]) / _SAMPLING, (x - axis[0]) / _SAMPLING])
    density = model / _SAMPLING**2  # per arcsec²
    values = map_coordinates(density, coords, order=1, mode="constant")
    return float((weights[jj, ii] * values).sum() * spaxel**2)


def encircled_energy_in_cube(psf: PSFModel, wavelength_um: np.ndarray, radius_arcsec: np.ndarray,
                             spaxel_arcsec: float, *, n_nodes: int = 9,
                             phase: tuple[float, float] | None = None) -> np.ndarray:
    """Fraction of a point source's flux inside a circular aperture in a cube.

    Parameters
    ----------
    psf : ifuqa.instrument.psf.PSFModel
        The known PSF.
    wavelength_um : numpy.ndarray
        Wavelength of each cube plane (µm).
    radius_arcsec : numpy.ndarray
        Aperture radius at each wavelength (arcsec).
    spaxel_arcsec : float
        Output spaxel scale (arcsec).
    n_nodes : int
        Wavelength nodes at which the encircled energy is computed (then interpolated).
    phase : (float, float), optional
        Offset (spaxels) of the aperture centre from the nearest spaxel centre. When given, the
        encircled energy is the aperture sum over the cube's discrete spaxel grid (what the
        extraction actually measures, which matters for coarse spaxels); otherwise the
        continuous circle integral.

    Returns
    -------
    numpy.ndarray
        Encircled energy (0–1) per wavelength; the aperture correction is its inverse.
    """
    wave = np.asarray(wavelength_um, dtype=float)
    radius = np.broadcast_to(np.asarray(radius_arcsec, dtype=float), wave.shape)
    lo, hi = float(np.nanmin(wave)), float(np.nanmax(wave))
    nodes = np.linspace(lo, hi, n_nodes) if hi > lo else np.array([lo])
    half = float(np.nanmax(radius)) + SLICE_WIDTH_ARCSEC + spaxel_arcsec + 0.3
    axis = np.arange(-half, half + _SAMPLING / 2, _SAMPLING)
    xx, yy = np.meshgrid(axis, axis)
    ee_nodes = []
    radius_nodes = np.interp(nodes, wave, radius) if wave.size > 1 else radius[:1]
    for lam, rad in zip(nodes, radius_nodes, strict=True):
        density = psf.image(float(lam), xx, yy)
        # Normalise the samples to the flux the renderer puts inside the grid, so the
        # correction is consistent with rect_integral whatever image() is normalised to.
        on_grid = float(psf.rect_integral(np.array([lam]), np.array([axis[0]]),
                                          np.array([axis[-1]]), np.array([axis[0]]),
                                          np.array([axis[-1]]))[0])
        density = density * (on_grid / density.sum())
        image = _box(density, SLICE_WIDTH_ARCSEC, ALONG_SLICE_PIXEL_ARCSEC)
        image = _box(image, spaxel_arcsec, spaxel_arcsec)
        if phase is None:
            ee_nodes.append(float((image * _circle_weights(xx, yy, float(rad))).sum()))
        else:
            ee_nodes.append(_discrete_sum(image, axis, float(rad), spaxel_arcsec, phase))
    if nodes.size == 1:
        return np.full(wave.shape, ee_nodes[0])
    return np.interp(wave, nodes, np.array(ee_nodes))
