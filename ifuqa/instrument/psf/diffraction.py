"""The model PSF: diffraction of a 6.5 m obscured aperture, broadened to the measured FWHM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.instrument.psf.measured import (
    ARCSEC_PER_RAD,
    measured_fwhm_arcsec,
    obscured_airy_encircled_energy,
)
from ifuqa.instrument.psf.model import PSFError
from ifuqa.instrument.psf.tabulated import (
    _azimuthal_fwhm,
    _half_max_radius,
    _summed_area_table,
    _TabulatedPSF,
)

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------
# Diffraction model
# --------------------------------------------------------------------------------------------


def _airy_amplitude(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``2 J1(x) / x`` (1 at x = 0)."""
    from scipy.special import j1

    out = np.ones_like(x)
    nonzero = x != 0
    np.divide(2.0 * j1(x), x, out=out, where=nonzero)
    return out


def _obscured_airy(x: NDArray[np.float64], eps: float) -> NDArray[np.float64]:
    """Obscured-aperture diffraction pattern normalised to unit peak, ``x = π D θ / λ``."""
    amp = _airy_amplitude(x)
    if eps > 0:
        amp = amp - eps**2 * _airy_amplitude(eps * x)
    return (amp / (1.0 - eps**2)) ** 2


def _peak_density(wavelength_um: float, diameter_m: float, eps: float) -> float:
    """Peak surface density (arcsec⁻²) of the unit-flux obscured diffraction pattern."""
    lam_rad = wavelength_um * 1e-6 / diameter_m
    return np.pi / 4.0 * (1.0 - eps**2) / lam_rad**2 / ARCSEC_PER_RAD**2


def _convolved_fwhm_solver(wavenumber: float, eps: float, target: float) -> float:
    """Sigma (arcsec) of the Gaussian that brings the diffraction FWHM to ``target``.

    The central row of the 2-D convolution is computed on a fine grid (target/60) as the
    Gaussian-weighted sum of rows followed by a 1-D convolution; its half-maximum crossing is
    solved with Brent's method. Returns 0 when the diffraction pattern alone is already at least
    as wide as the target.
    """
    from scipy.optimize import brentq

    hs = target / 60.0
    nhalf = 180
    ax = np.arange(-nhalf, nhalf + 1) * hs
    ay = np.arange(0, nhalf + 1) * hs
    quadrant = _obscured_airy(wavenumber * np.hypot(ay[None, :], ay[:, None]), eps)
    pattern = np.concatenate([quadrant[:, :0:-1], quadrant], axis=1)
    fold = np.full(ay.size, 2.0)
    fold[0] = 1.0

    def fwhm(sigma: float) -> float:
        if sigma < 0.05 * hs:
            row = pattern[0]
        else:
            gy = fold * np.exp(-0.5 * (ay / sigma) ** 2)
            gx = np.exp(-0.5 * (ax / sigma) ** 2)
            row = np.convolve(gy @ pattern, gx / gx.sum(), mode="same") / gy.sum()
        return 2.0 * _half_max_radius(ax[nhalf:], row[nhalf:])

    if fwhm(0.0) >= target:
        return 0.0
    return float(brentq(lambda s: fwhm(s) - target, 0.0, target / 2.0, xtol=1e-7))


def _gaussian_blur_quadrant(quadrant: NDArray[np.float64],
                            sigma_pix: float) -> NDArray[np.float64]:
    """Convolve a centrally symmetric image, given by one quadrant, with a circular Gaussian.

    ``quadrant[0, 0]`` is the centre. The type-I DCT makes the convolution that of the image
    mirrored about its centre and about the box edges (so the wings just outside the box are
    represented by their mirror images rather than by zeros).
    """
    import scipy.fft

    m = quadrant.shape[0]
    freq = np.arange(m) / (2.0 * (m - 1))
    transfer = np.exp(-2.0 * np.pi**2 * sigma_pix**2 * freq**2)
    spectrum = scipy.fft.dctn(quadrant, type=1)
    spectrum *= transfer[:, None]
    spectrum *= transfer[None, :]
    return scipy.fft.idctn(spectrum, type=1)


def _mirror_quadrant(quadrant: NDArray[np.float64]) -> NDArray[np.float64]:
    """Full centrally symmetric image from its quadrant (``quadrant[0, 0]`` = centre)."""
    half = np.concatenate([quadrant[:, :0:-1], quadrant], axis=1)
    return np.concatenate([half[:0:-1], half], axis=0)


class DiffractionPSF(_TabulatedPSF):
    """Obscured-aperture diffraction PSF broadened to the measured NIRSpec IFU FWHM.

    At each of ``n_wavelengths`` nodes (geometric spacing over the range) the analytic pattern
    of a circular aperture with central obscuration ε,
    ``[2J1(x)/x − ε² 2J1(εx)/(εx)]² / (1 − ε²)`` (unit flux, ``x = π D θ / λ``), is convolved
    with a Gaussian whose sigma is solved so that the FWHM of the result equals
    :func:`measured_fwhm_arcsec` (sigma is 0 if diffraction alone is wider). The result is
    tabulated on a square grid of cells (``sampling_arcsec``, covering ±``half_width_arcsec``;
    cell values are cell integrals, computed as centre samples of the pattern convolved with an
    extra Gaussian of variance ``sampling²/12``, the second-order equivalent of the cell).

    Flux beyond the box is not redistributed into it: each node is scaled so that the flux
    inside the inscribed disc equals the analytic encircled energy of the obscured pattern
    there (the Gaussian changes it negligibly at 2"), plus the tabulated flux of the box's
    corners. An infinite rectangle therefore integrates to the true in-box fraction (< 1: about
    0.985 at 5 µm for a 2" half-width); :meth:`encircled_energy` continues beyond the box with
    the analytic encircled energy and tends to 1.

    Parameters
    ----------
    wavelength_min_um, wavelength_max_um : float
        Wavelength range (µm); wavelengths outside clamp to it.
    diameter_m : float
        Aperture diameter (m).
    obscuration : float
        Linear central obscuration ratio ε.
    sampling_arcsec : float
        Tabulation cell size (arcsec); should be ≤ λ_min / (2D) (Nyquist, 0.0095" at 0.6 µm)
        for the cell integrals to be accurate.
    half_width_arcsec : float
        Half-width of the tabulated square box (arcsec).
    n_wavelengths : int
        Number of wavelength nodes (≥ 2).

    Attributes
    ----------
    sigma_arcsec : numpy.ndarray
        Gaussian sigma (arcsec) at each node (without the cell term).
    """

    def __init__(self, wavelength_min_um: float, wavelength_max_um: float, *,
                 diameter_m: float = 6.5, obscuration: float = 0.11,
                 sampling_arcsec: float = 0.005, half_width_arcsec: float = 2.0,
                 n_wavelengths: int = 24) -> None:
        if not 0 < wavelength_min_um < wavelength_max_um:
            raise PSFError(f"invalid wavelength range {wavelength_min_um}–{wavelength_max_um} µm")
        if n_wavelengths < 2:
            raise PSFError("n_wavelengths must be at least 2")
        if not (0 <= obscuration < 1 and diameter_m > 0 and sampling_arcsec > 0
                and half_width_arcsec > sampling_arcsec):
            raise PSFError("invalid aperture or grid parameters")
        self.diameter_m = float(diameter_m)
        self.obscuration = float(obscuration)
        n = 2 * round(half_width_arcsec / sampling_arcsec) + 1
        waves = np.geomspace(wavelength_min_um, wavelength_max_um, n_wavelengths)
        self._init_grid(waves, n, n, sampling_arcsec)
        self.sigma_arcsec = np.zeros(n_wavelengths)
        m = n // 2 + 1
        self._octant = np.triu_indices(m)
        self._octant_radius = sampling_arcsec * np.hypot(*self._octant)
        axis = np.arange(m) * sampling_arcsec
        fold = np.full(m, 2.0)
        fold[0] = 1.0
        in_disc = (axis[None, :] ** 2 + axis[:, None] ** 2) <= (0.5 * n * sampling_arcsec) ** 2
        self._disc_weights = np.outer(fold, fold) * in_disc
        for k, lam in enumerate(waves):
            self._tabulate_node(k, float(lam))
        del self._octant, self._octant_radius, self._disc_weights

    def _wavenumber(self, lam: float) -> float:
        """``π D / λ`` per arcsec."""
        return np.pi * self.diameter_m / (lam * 1e-6 * ARCSEC_PER_RAD)

    def _tabulate_node(self, k: int, lam: float) -> None:
        """Solve sigma, render, measure, normalise and accumulate the node ``k``."""
        h, eps = self._sampling, self.obscuration
        wavenumber = self._wavenumber(lam)
        target = float(measured_fwhm_arcsec(lam))
        sigma = _convolved_fwhm_solver(wavenumber, eps, target)
        self.sigma_arcsec[k] = sigma
        m = self._nx // 2 + 1
        quadrant = np.empty((m, m))
        values = _obscured_airy(wavenumber * self._octant_radius, eps)
        quadrant[self._octant] = values
        quadrant[self._octant[::-1]] = values
        quadrant *= _peak_density(lam, self.diameter_m, eps) * h**2
        quadrant = _gaussian_blur_quadrant(quadrant, np.sqrt(sigma**2 + h**2 / 12.0) / h)
        np.maximum(quadrant, 0.0, out=quadrant)
        edge = 0.5 * self._nx * h
        truth = obscured_airy_encircled_energy(lam, edge, diameter_m=self.diameter_m,
                                               obscuration=eps)
        quadrant *= float(truth) / float(np.vdot(self._disc_weights, quadrant))
        crop = min(m, int(np.ceil(2.0 * target / h)) + 2)
        self._fwhm_nodes[k] = _azimuthal_fwhm(_mirror_quadrant(quadrant[:crop, :crop]), h)
        _summed_area_table(_mirror_quadrant(quadrant), self._sat[k])

    def encircled_energy(self, wavelength_um: ArrayLike,
                         radius_arcsec: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the total flux within a radius of the centre.

        Inside the tabulated box's inscribed disc: integrated from the tabulated images (see
        :meth:`_TabulatedPSF.encircled_energy`). Beyond it: that value plus the analytic
        increase of the obscured-aperture encircled energy, so that it tends to 1 (capped at 1:
        the tabulated and analytic values at the joint agree to ~1e-5).

        Parameters
        ----------
        wavelength_um, radius_arcsec : array_like
            Wavelength (µm) and radius (arcsec, ≥ 0), broadcast together.

        Returns
        -------
        numpy.ndarray
            Encircled energy, shape of the broadcast arguments.
        """
        lam, rad = np.broadcast_arrays(np.asarray(wavelength_um, dtype=float),
                                       np.asarray(radius_arcsec, dtype=float))
        lo, hi = self.wavelength_range
        lam = np.clip(lam, lo, hi)
        edge = 0.5 * self._nx * self._sampling
        inner = super().encircled_energy(lam, np.minimum(rad, edge))
        beyond = rad > edge
        if np.any(beyond):
            extra = (obscured_airy_encircled_energy(lam[beyond], rad[beyond],
                                                    diameter_m=self.diameter_m,
                                                    obscuration=self.obscuration)
                     - obscured_airy_encircled_energy(lam[beyond], edge,
                                                      diameter_m=self.diameter_m,
                                                      obscuration=self.obscuration))
            inner[beyond] += extra
        return np.minimum(inner, 1.0)
