"""The measured NIRSpec IFU PSF width and the encircled energy of the diffraction-limited
(obscured Airy) PSF of a 6.5 m telescope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    pass


ARCSEC_PER_RAD = 180.0 * 3600.0 / np.pi

_FWHM_NODES_UM = np.array([0.65, 1.475, 2.0, 3.1, 3.94, 4.62, 5.2])
_FWHM_NODES_PIX = np.array([1.24, 1.29, 1.30, 1.33, 1.43, 1.60, 1.76])
_NIRSPEC_PIXEL_ARCSEC = 0.1

MEASURED_FWHM_TABLE: NDArray[np.float64] = np.column_stack(
    [_FWHM_NODES_UM, _FWHM_NODES_PIX * _NIRSPEC_PIXEL_ARCSEC])
"""Measured NIRSpec IFU PSF FWHM: rows of (wavelength µm, FWHM arcsec).

From the FWHM measured in 0.1" pixels (1.24 at 0.5–0.8 µm, 1.29 at 1.3–1.65 µm, 1.30 at 2.0,
1.33 at 3.1, 1.43 at 3.94, 1.60 at 4.62, 1.76 at 5.2 µm); wavelength ranges are represented by
their midpoints. Source: msaexp (G. Brammer), ``msaexp/data/fwhm_data.py`` ``fwhm_data_2024b``,
"measured again from 1493 with multiple Gaussians": detector-level fits to the spatial profile of
2-D spectra of a star (calibration programme 1493). msaexp uses each value as the FWHM of a
pixel-integrated Gaussian (``slit_prf_fraction``), so it is the width *before* integration over
the detector pixels, which is how ifuqa's PSF uses it (``tests/test_simulate.py`` recovers it
within 10 % from rendered pixels). It is not a cube-level width (cubes are broader by the
resampling: 1.8–1.9 spaxels in ifuqa's dithered cubes; no published cube-level table was
found)."""
MEASURED_FWHM_TABLE.flags.writeable = False


def measured_fwhm_arcsec(wavelength_um: ArrayLike) -> NDArray[np.float64]:
    """Measured NIRSpec IFU PSF FWHM, interpolated in wavelength.

    Linear interpolation between the nodes of :data:`MEASURED_FWHM_TABLE`. Below the first node
    (0.65 µm) the FWHM is held constant (it is set by the optics and detector, not by
    diffraction); beyond the last node (5.2 µm) it grows in proportion to the wavelength, as a
    diffraction-dominated PSF does.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelength (µm).

    Returns
    -------
    numpy.ndarray
        FWHM (arcsec), same shape as ``wavelength_um``.
    """
    lam = np.asarray(wavelength_um, dtype=float)
    lam_last, fwhm_last = MEASURED_FWHM_TABLE[-1]
    inside = np.interp(lam, MEASURED_FWHM_TABLE[:, 0], MEASURED_FWHM_TABLE[:, 1])
    return np.where(lam > lam_last, fwhm_last * lam / lam_last, inside)


def obscured_airy_encircled_energy(wavelength_um: ArrayLike, radius_arcsec: ArrayLike, *,
                                   diameter_m: float = 6.5,
                                   obscuration: float = 0.11) -> NDArray[np.float64]:
    """Encircled energy of the diffraction pattern of a centrally obscured circular aperture.

    ``EE = [1 − J0²(x) − J1²(x) + ε²(1 − J0²(εx) − J1²(εx)) − 4ε ∫₀ˣ J1(t) J1(εt) / t dt]
    / (1 − ε²)`` with ``x = π D θ / λ`` (Mahajan 1986). The integral is evaluated numerically
    (its limit for ``x → ∞`` is ``ε / 2``; arguments beyond ``x = 2×10⁴`` use the limit).

    Parameters
    ----------
    wavelength_um, radius_arcsec : array_like
        Wavelength (µm) and radius (arcsec), broadcast together.
    diameter_m : float
        Aperture diameter (m).
    obscuration : float
        Linear central obscuration ratio ε (0 ≤ ε < 1).

    Returns
    -------
    numpy.ndarray
        Fraction of the total flux within the radius.
    """
    from scipy.special import j0, j1

    lam, rad = np.broadcast_arrays(np.asarray(wavelength_um, dtype=float),
                                   np.asarray(radius_arcsec, dtype=float))
    eps = float(obscuration)
    x = np.pi * diameter_m / (lam * 1e-6 * ARCSEC_PER_RAD) * rad
    ee = 1.0 - j0(x) ** 2 - j1(x) ** 2
    if eps > 0:
        ee = ee + eps**2 * (1.0 - j0(eps * x) ** 2 - j1(eps * x) ** 2)
        ee = ee - 4.0 * eps * _cross_integral(x, eps)
    return ee / (1.0 - eps**2)


def _cross_integral(x: NDArray[np.float64], eps: float) -> NDArray[np.float64]:
    """``∫₀ˣ J1(t) J1(εt) / t dt``, vectorised over ``x`` (Simpson on a fine grid)."""
    from scipy.integrate import cumulative_simpson
    from scipy.special import j1

    x_cap = 2.0e4
    finite = x[np.isfinite(x)]
    x_top = min(float(finite.max()) if finite.size else 0.0, x_cap)
    t = np.linspace(0.0, max(x_top, 1.0), int(max(x_top, 1.0) / 0.02) + 3)
    safe = np.where(t > 0, t, 1.0)
    integrand = np.where(t > 0, j1(t) * j1(eps * t) / safe, 0.0)
    cumulative = cumulative_simpson(integrand, x=t, initial=0.0)
    return np.where(x > x_cap, eps / 2.0, np.interp(x, t, cumulative))


def cube_fwhm_arcsec(wavelength_um: ArrayLike, instrument: str = "NIRSPEC") -> NDArray[np.float64]:
    """PSF FWHM (arcsec) of a point source in an IFU cube of ``instrument``.

    NIRSpec: :func:`measured_fwhm_arcsec`. Any other instrument (MIRI MRS cubes): the 6.5 m
    diffraction limit (1.029 λ/D with the 0.0332"/µm of ``λ/D``) × 1.2, at least 0.1".

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths (µm).
    instrument : str
        ``INSTRUME`` of the product.

    Returns
    -------
    numpy.ndarray
        FWHM (arcsec).

    Examples
    --------
    >>> float(cube_fwhm_arcsec([19.0], "MIRI")[0])
    0.75696
    """
    wave = np.asarray(wavelength_um, dtype=float)
    if instrument.upper() == "NIRSPEC":
        return np.asarray(measured_fwhm_arcsec(wave), dtype=float)
    return np.maximum(1.2 * 0.0332 * wave, 0.1)
