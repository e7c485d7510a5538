"""Point-spread-function models of the NIRSpec IFU, integrated exactly over rectangles.

The renderer (:mod:`ifuqa.render`) needs the fraction of a point source's flux that falls in a
detector pixel's footprint: an axis-aligned rectangle on the sky (x across the slice, y along
it), at the pixel's wavelength. Every model here tabulates the PSF on a fine grid at a set of
wavelength nodes and keeps, per node, the *summed-area table* (the 2-D cumulative distribution,
with a zero row and column prepended). The flux in a rectangle is then the bilinear
interpolation of the cumulative distribution at its four corners, which is exact for a density
that is constant within each tabulation cell, and is linearly interpolated in wavelength between
the two bracketing nodes. Rectangles reaching outside the tabulated box are clamped to it.

Two models share that machinery:

* :class:`DiffractionPSF` -- the diffraction pattern of the obscured 6.5 m aperture broadened by a
  Gaussian whose width is solved, per wavelength node, so that the FWHM matches the measured
  NIRSpec IFU values (:data:`MEASURED_FWHM_TABLE`). The flux of the Airy wings beyond the
  tabulated box is *not* put back into the box: the tabulated images are normalised to the true
  fraction of the flux inside the box, so an infinite rectangle integrates to slightly less
  than 1 (about 1.5 % is lost at 5 µm for the default 2" half-width).
* :class:`CubePSF` -- a user-supplied PSF cube (for example from WebbPSF/STPSF), each plane
  normalised to unit sum, optionally read from FITS with :meth:`CubePSF.from_fits`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from astropy.io import fits

__all__ = [
    "MEASURED_FWHM_TABLE",
    "CubePSF",
    "DiffractionPSF",
    "PSFError",
    "PSFModel",
    "measured_fwhm_arcsec",
    "obscured_airy_encircled_energy",
]

ARCSEC_PER_RAD = 180.0 * 3600.0 / np.pi

_FWHM_NODES_UM = np.array([0.65, 1.475, 2.0, 3.1, 3.94, 4.62, 5.2])
_FWHM_NODES_PIX = np.array([1.24, 1.29, 1.30, 1.33, 1.43, 1.60, 1.76])
_NIRSPEC_PIXEL_ARCSEC = 0.1

MEASURED_FWHM_TABLE: NDArray[np.float64] = np.column_stack(
    [_FWHM_NODES_UM, _FWHM_NODES_PIX * _NIRSPEC_PIXEL_ARCSEC])
"""Measured NIRSpec IFU PSF FWHM: rows of (wavelength µm, FWHM arcsec).

From the FWHM measured in 0.1" pixels (1.24 at 0.5–0.8 µm, 1.29 at 1.3–1.65 µm, 1.30 at 2.0,
1.33 at 3.1, 1.43 at 3.94, 1.60 at 4.62, 1.76 at 5.2 µm); wavelength ranges are represented by
their midpoints."""
MEASURED_FWHM_TABLE.flags.writeable = False

_CHUNK = 1 << 15
_EE_STRIPS = 128


class PSFError(ValueError):
    """A PSF model or PSF file is unusable (the message names the file and the reason)."""


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


@runtime_checkable
class PSFModel(Protocol):
    """What the renderer needs from a PSF (coordinates in arcsec relative to the PSF centre).

    ``x`` is across the slice and ``y`` along the slice; wavelengths are in µm.
    """

    @property
    def wavelength_range(self) -> tuple[float, float]:
        """(min, max) wavelength (µm) over which the model is defined."""
        ...

    def fwhm_arcsec(self, wavelength_um: ArrayLike) -> NDArray[np.float64]:
        """FWHM (arcsec) at each wavelength."""
        ...

    def rect_integral(self, wavelength_um: ArrayLike, x0: ArrayLike, x1: ArrayLike,
                      y0: ArrayLike, y1: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the total flux in the rectangle [x0, x1] × [y0, y1] (arcsec)."""
        ...

    def image(self, wavelength_um: float, xx: ArrayLike, yy: ArrayLike) -> NDArray[np.float64]:
        """Surface density (per arcsec², unit total flux) at the points (xx, yy)."""
        ...

    def encircled_energy(self, wavelength_um: ArrayLike,
                         radius_arcsec: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the total flux within a radius (arcsec) of the centre."""
        ...


# --------------------------------------------------------------------------------------------
# Shared tabulated machinery
# --------------------------------------------------------------------------------------------


def _summed_area_table(plane: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """Write the cumulative sum of ``plane`` into ``out`` (one larger, zero first row/col)."""
    out[0, :] = 0.0
    out[:, 0] = 0.0
    inner = out[1:, 1:]
    np.cumsum(plane, axis=1, out=inner)
    np.add.accumulate(inner, axis=0, out=inner)


def _half_max_radius(radius: NDArray[np.float64], profile: NDArray[np.float64]) -> float:
    """Radius where a profile (starting at its peak, ``radius[0]``) first falls to half."""
    half = 0.5 * profile[0]
    below = np.flatnonzero(profile <= half)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    i = below[0]
    r0, r1, p0, p1 = radius[i - 1], radius[i], profile[i - 1], profile[i]
    return float(r0 + (p0 - half) / (p0 - p1) * (r1 - r0))


def _azimuthal_fwhm(plane: NDArray[np.float64], sampling: float) -> float:
    """FWHM of a centred image from its azimuthally averaged profile (2 × half-max radius).

    The profile is averaged in rings of half a pixel about the array centre; the search starts
    on a central crop and widens it until the profile falls below half of its central value.
    """
    ny, nx = plane.shape
    half = 32
    while 2 * half + 1 < min(ny, nx):
        cy, cx = (ny - 1) // 2, (nx - 1) // 2
        crop = plane[cy - half:cy + half + 1 + (ny + 1) % 2, cx - half:cx + half + 1 + (nx + 1) % 2]
        fwhm = _ring_fwhm(crop, sampling)
        if np.isfinite(fwhm):
            return fwhm
        half *= 2
    return _ring_fwhm(plane, sampling)


def _ring_fwhm(plane: NDArray[np.float64], sampling: float) -> float:
    """FWHM from the ring-averaged profile of a whole (centred) image."""
    ny, nx = plane.shape
    y = (np.arange(ny) - (ny - 1) / 2.0) * sampling
    x = (np.arange(nx) - (nx - 1) / 2.0) * sampling
    r = np.hypot(x[None, :], y[:, None]).ravel()
    bins = np.floor(r / (0.5 * sampling)).astype(np.intp)
    counts = np.bincount(bins)
    keep = counts > 0
    mean_r = np.bincount(bins, weights=r)[keep] / counts[keep]
    mean_v = np.bincount(bins, weights=plane.ravel())[keep] / counts[keep]
    return 2.0 * _half_max_radius(mean_r, mean_v)


def _axis_index(coord: NDArray[np.float64], origin: float, step: float,
                n: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Cell index and fraction of coordinates along one axis of a summed-area table.

    Coordinates outside ``[origin, origin + n·step]`` clamp to the edges.
    """
    u = (coord - origin) / step
    np.clip(u, 0.0, float(n), out=u)
    i = u.astype(np.intp)
    np.minimum(i, n - 1, out=i)
    return i, u - i


class _TabulatedPSF:
    """Base class: PSF images at wavelength nodes stored as summed-area tables.

    Subclasses call :meth:`_init_grid` and fill ``self._sat[k]`` (shape ``(ny + 1, nx + 1)``,
    cumulative fractions of the total flux) and ``self._fwhm_nodes``.
    """

    _waves: NDArray[np.float64]
    _sat: NDArray[np.float64]
    _fwhm_nodes: NDArray[np.float64]
    _sampling: float
    _nx: int
    _ny: int

    def _init_grid(self, waves: NDArray[np.float64], ny: int, nx: int, sampling: float) -> None:
        self._waves = np.asarray(waves, dtype=float)
        self._ny, self._nx = int(ny), int(nx)
        self._sampling = float(sampling)
        self._sat = np.empty((self._waves.size, ny + 1, nx + 1))
        self._fwhm_nodes = np.full(self._waves.size, np.nan)

    # -- geometry ------------------------------------------------------------------------------

    @property
    def wavelength_range(self) -> tuple[float, float]:
        """(min, max) wavelength of the nodes (µm); wavelengths outside clamp to it."""
        return float(self._waves[0]), float(self._waves[-1])

    @property
    def wavelength_nodes_um(self) -> NDArray[np.float64]:
        """Wavelengths (µm) at which the PSF is tabulated."""
        return self._waves.copy()

    @property
    def sampling_arcsec(self) -> float:
        """Size of a tabulation cell (arcsec)."""
        return self._sampling

    @property
    def box_half_width_arcsec(self) -> tuple[float, float]:
        """Half-widths (x, y) of the tabulated box (arcsec); the box is centred on the PSF."""
        return 0.5 * self._nx * self._sampling, 0.5 * self._ny * self._sampling

    def node_planes(self) -> NDArray[np.float64]:
        """Tabulated images: fraction of the total flux in each cell, shape (n_wave, ny, nx)."""
        return np.diff(np.diff(self._sat, axis=1), axis=2)

    def total_in_box(self) -> NDArray[np.float64]:
        """Fraction of the total flux inside the tabulated box at each wavelength node."""
        return self._sat[:, -1, -1].copy()

    # -- wavelength interpolation --------------------------------------------------------------

    def _node_weights(self, lam: NDArray[np.float64]
                      ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Lower bracketing node and linear weight of the upper one, per wavelength."""
        w = self._waves
        if w.size == 1:
            return np.zeros(lam.shape, dtype=np.intp), np.zeros(lam.shape)
        lamc = np.clip(lam, w[0], w[-1])
        k = np.searchsorted(w, lamc, side="right") - 1
        np.clip(k, 0, w.size - 2, out=k)
        return k, (lamc - w[k]) / (w[k + 1] - w[k])

    def fwhm_arcsec(self, wavelength_um: ArrayLike) -> NDArray[np.float64]:
        """FWHM (arcsec) measured on the tabulated images, interpolated in wavelength.

        Parameters
        ----------
        wavelength_um : array_like
            Wavelength (µm); clamped to :attr:`wavelength_range`.

        Returns
        -------
        numpy.ndarray
            Twice the half-maximum radius of the azimuthally averaged profile at each node,
            interpolated linearly between nodes.
        """
        lam = np.asarray(wavelength_um, dtype=float)
        return np.interp(lam, self._waves, self._fwhm_nodes)

    # -- rectangles ----------------------------------------------------------------------------

    def rect_integral(self, wavelength_um: ArrayLike, x0: ArrayLike, x1: ArrayLike,
                      y0: ArrayLike, y1: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the total flux in rectangles [x0, x1] × [y0, y1].

        Bilinear interpolation of the summed-area table at the four corners (exact for a density
        constant within each tabulation cell), blended linearly between the two wavelength nodes
        that bracket each element's wavelength. Corners outside the tabulated box clamp to its
        edges, so an infinite rectangle returns :meth:`total_in_box` (interpolated).

        Parameters
        ----------
        wavelength_um : array_like
            Wavelength (µm) of each rectangle; clamped to :attr:`wavelength_range`.
        x0, x1, y0, y1 : array_like
            Rectangle edges (arcsec from the PSF centre; x across, y along the slice). All
            arguments broadcast together. ``x1 < x0`` (or ``y1 < y0``) gives a negative result.

        Returns
        -------
        numpy.ndarray
            Flux fraction, shape of the broadcast arguments (NaN where any input is NaN).
        """
        args = np.broadcast_arrays(*(np.asarray(a, dtype=float)
                                     for a in (wavelength_um, x0, x1, y0, y1)))
        shape = args[0].shape
        flat = [a.ravel() for a in args]
        bad = np.zeros(flat[0].size, dtype=bool)
        for a in flat:
            bad |= np.isnan(a)
        if bad.any():
            flat = [np.where(bad, 0.0, a) for a in flat]
        out = np.empty(flat[0].size)
        for start in range(0, out.size, _CHUNK):
            sl = slice(start, start + _CHUNK)
            out[sl] = self._rect_chunk(*(a[sl] for a in flat))
        out[bad] = np.nan
        return out.reshape(shape)

    def _rect_chunk(self, lam: NDArray[np.float64], x0: NDArray[np.float64],
                    x1: NDArray[np.float64], y0: NDArray[np.float64],
                    y1: NDArray[np.float64]) -> NDArray[np.float64]:
        """:meth:`rect_integral` on flat arrays of moderate size.

        The cumulative table is interpolated in x along the four table rows involved (two per
        y edge), differenced between the x edges, then interpolated in y and differenced.
        """
        h, nx, ny = self._sampling, self._nx, self._ny
        stride = nx + 1
        plane = (ny + 1) * stride
        ix0, fx0 = _axis_index(x0, -0.5 * nx * h, h, nx)
        ix1, fx1 = _axis_index(x1, -0.5 * nx * h, h, nx)
        iy0, fy0 = _axis_index(y0, -0.5 * ny * h, h, ny)
        iy1, fy1 = _axis_index(y1, -0.5 * ny * h, h, ny)
        k, t = self._node_weights(lam)
        sat = self._sat.ravel()
        row1 = iy1 * stride
        row0 = iy0 * stride
        base = k * plane
        results = []
        for offset in (0, plane) if self._waves.size > 1 else (0,):
            b = base + offset if offset else base
            top = _lerp(_row_difference(sat, b + row1, ix0, fx0, ix1, fx1),
                        _row_difference(sat, b + row1 + stride, ix0, fx0, ix1, fx1), fy1)
            bottom = _lerp(_row_difference(sat, b + row0, ix0, fx0, ix1, fx1),
                           _row_difference(sat, b + row0 + stride, ix0, fx0, ix1, fx1), fy0)
            top -= bottom
            results.append(top)
        if len(results) == 1:
            return results[0]
        return _lerp(results[0], results[1], t)

    # -- images --------------------------------------------------------------------------------

    def image(self, wavelength_um: float, xx: ArrayLike, yy: ArrayLike) -> NDArray[np.float64]:
        """PSF surface density (per arcsec², for unit total flux) at points (xx, yy).

        Bilinear interpolation of the tabulated cell densities (cell centres), blended linearly
        between the bracketing wavelength nodes. Zero outside the tabulated box (its flux is
        not represented: the density integrates to :meth:`total_in_box` ≤ 1 over the plane).

        Parameters
        ----------
        wavelength_um : float
            Wavelength (µm); clamped to :attr:`wavelength_range`.
        xx, yy : array_like
            Coordinates (arcsec from the PSF centre), broadcast together.

        Returns
        -------
        numpy.ndarray
            Density (arcsec⁻²), shape of the broadcast coordinates.
        """
        from scipy.ndimage import map_coordinates

        xx, yy = np.broadcast_arrays(np.asarray(xx, dtype=float), np.asarray(yy, dtype=float))
        k, t = self._node_weights(np.array([float(wavelength_um)]))
        k0, t0 = int(k[0]), float(t[0])
        plane = np.diff(np.diff(self._sat[k0], axis=0), axis=1)
        if t0 > 0:
            upper = np.diff(np.diff(self._sat[k0 + 1], axis=0), axis=1)
            plane = plane + t0 * (upper - plane)
        h = self._sampling
        col = xx / h + 0.5 * (self._nx - 1)
        row = yy / h + 0.5 * (self._ny - 1)
        inside = ((np.abs(xx) <= 0.5 * self._nx * h) & (np.abs(yy) <= 0.5 * self._ny * h))
        coords = np.stack([np.where(inside, row, 0.0).ravel(), np.where(inside, col, 0.0).ravel()])
        values = map_coordinates(plane, coords, order=1, mode="nearest").reshape(xx.shape)
        return np.where(inside, values, 0.0) / h**2

    # -- encircled energy ----------------------------------------------------------------------

    def encircled_energy(self, wavelength_um: ArrayLike,
                         radius_arcsec: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the total flux within a radius of the centre.

        The disc is covered by rectangular strips (equal angular steps, each with the exact area
        of its slice of the disc) integrated with :meth:`rect_integral`; the part of the disc
        outside the tabulated box contributes nothing.

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
        if np.any(rad < 0):
            raise ValueError("radius_arcsec must be non-negative")
        edges = -np.cos(np.linspace(0.0, np.pi, _EE_STRIPS + 1))
        segment = 0.5 * (edges * np.sqrt(1.0 - edges**2) + np.arcsin(edges))
        half_height = np.diff(segment) / np.diff(edges)
        lam_f, rad_f = lam.ravel(), rad.ravel()
        out = np.empty(lam_f.size)
        step = max(1, (1 << 18) // _EE_STRIPS)
        for start in range(0, out.size, step):
            r = rad_f[start:start + step, None]
            wave = np.broadcast_to(lam_f[start:start + step, None], (r.shape[0], _EE_STRIPS))
            strips = self.rect_integral(wave, r * edges[:-1], r * edges[1:],
                                        -r * half_height, r * half_height)
            out[start:start + step] = strips.sum(axis=1)
        return out.reshape(lam.shape)


def _lerp(low: NDArray[np.float64], high: NDArray[np.float64],
          frac: NDArray[np.float64]) -> NDArray[np.float64]:
    """``low + frac (high − low)``, computed in place in ``high``."""
    high -= low
    high *= frac
    high += low
    return high


def _row_difference(sat: NDArray[np.float64], row: NDArray[np.intp], ix0: NDArray[np.intp],
                    fx0: NDArray[np.float64], ix1: NDArray[np.intp],
                    fx1: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative table along one row (flat start ``row``), interpolated at x1 minus at x0."""
    i = row + ix1
    high = _lerp(sat.take(i), sat.take(i + 1), fx1)
    i = row + ix0
    high -= _lerp(sat.take(i), sat.take(i + 1), fx0)
    return high


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


# --------------------------------------------------------------------------------------------
# User PSF cubes
# --------------------------------------------------------------------------------------------


class CubePSF(_TabulatedPSF):
    """A PSF given as a cube of images at a set of wavelengths.

    Parameters
    ----------
    cube : array_like
        Images, shape (n_wave, ny, nx); axis 2 is x (across the slice), axis 1 is y (along the
        slice). Centred on the middle of the array (pixel ``(n − 1)/2`` along each axis, i.e.
        the middle pixel for odd sizes). Each plane is renormalised to unit sum, so the cube
        is taken to hold all of the flux.
    wavelength_um : array_like
        Wavelength (µm) of each plane, strictly increasing.
    sampling_arcsec : float
        Pixel size of the images (arcsec, square pixels).

    Raises
    ------
    PSFError
        If the cube is not 3-D, a plane has non-finite values or a non-positive sum, the
        wavelengths do not match the planes or are not strictly increasing, or the sampling is
        not positive.
    """

    def __init__(self, cube: ArrayLike, wavelength_um: ArrayLike,
                 sampling_arcsec: float) -> None:
        data = np.asarray(cube, dtype=float)
        waves = np.atleast_1d(np.asarray(wavelength_um, dtype=float))
        _validate_cube(data, waves, sampling_arcsec)
        n_wave, ny, nx = data.shape
        self._init_grid(waves, ny, nx, sampling_arcsec)
        for k in range(n_wave):
            plane = data[k] / data[k].sum()
            self._fwhm_nodes[k] = _azimuthal_fwhm(plane, self._sampling)
            _summed_area_table(plane, self._sat[k])

    @classmethod
    def from_fits(cls, path: str | os.PathLike[str]) -> CubePSF:
        """Read a PSF cube from a FITS file.

        The cube is the primary HDU's data if 3-D, otherwise an extension named ``PSF`` or
        ``SCI``. Wavelengths come from a ``WAVELENGTH`` binary-table extension (column
        ``wavelength``, µm) or from a linear WCS on axis 3 (``CRVAL3``, ``CDELT3``, ``CRPIX3``;
        ``CUNIT3`` ``um`` or ``m``, guessed from the magnitude if absent). The sampling is
        ``PIXELSCL`` (arcsec) or ``|CDELT1|`` (deg), from the cube's header or the primary header.

        Parameters
        ----------
        path : str or os.PathLike
            FITS file.

        Returns
        -------
        CubePSF

        Raises
        ------
        PSFError
            Naming the file and the reason: missing file, not FITS or corrupt, no 3-D data,
            invalid planes, no wavelength information, no sampling keyword, wavelengths not
            increasing.
        """
        path = Path(path)
        if not path.is_file():
            raise PSFError(f"{path}: PSF file not found")
        try:
            cube, waves, sampling = _read_psf_fits(path)
            return cls(cube, waves, sampling)
        except PSFError as exc:
            raise PSFError(f"{path}: {exc}") from None


def _validate_cube(data: NDArray[np.float64], waves: NDArray[np.float64],
                   sampling: float) -> None:
    """Raise :class:`PSFError` if a PSF cube, its wavelengths or its sampling are unusable."""
    if data.ndim != 3 or min(data.shape) < 1:
        raise PSFError(f"PSF cube must be 3-D (n_wave, ny, nx), got shape {data.shape}")
    if waves.ndim != 1 or waves.size != data.shape[0]:
        raise PSFError(f"{waves.size} wavelengths for {data.shape[0]} PSF planes")
    if not np.all(np.isfinite(waves)) or np.any(waves <= 0):
        raise PSFError("wavelengths must be finite and positive")
    if np.any(np.diff(waves) <= 0):
        raise PSFError("wavelengths not strictly increasing")
    if not (np.isfinite(sampling) and sampling > 0):
        raise PSFError(f"invalid sampling {sampling!r} arcsec")
    finite = np.all(np.isfinite(data), axis=(1, 2))
    if not finite.all():
        raise PSFError(f"non-finite values in PSF plane(s) {np.flatnonzero(~finite).tolist()}")
    sums = data.sum(axis=(1, 2))
    if np.any(sums <= 0):
        raise PSFError(f"PSF plane(s) {np.flatnonzero(sums <= 0).tolist()} have "
                       "non-positive sum")


def _read_psf_fits(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Cube, wavelengths (µm) and sampling (arcsec) from a PSF FITS file."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            hdul.readall()
            cube_hdu = _find_cube_hdu(hdul)
            cube = np.array(cube_hdu.data, dtype=float)
            headers = [cube_hdu.header, hdul[0].header]
            table = _wavelength_table(hdul)
    except PSFError:
        raise
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError, warnings...
        raise PSFError(f"not a readable FITS file ({type(exc).__name__}: {exc})") from exc
    waves = table if table is not None else _wcs_wavelengths(headers, cube.shape[0])
    return cube, waves, _sampling_from_headers(headers)


def _find_cube_hdu(hdul: fits.HDUList) -> Any:
    """The HDU holding the 3-D PSF cube."""
    candidates = [hdul[0]] + [hdu for hdu in hdul[1:] if hdu.name.upper() in ("PSF", "SCI")]
    for hdu in candidates:
        if hdu.is_image and hdu.data is not None and hdu.data.ndim == 3:
            return hdu
    raise PSFError("no 3-D PSF cube in the primary HDU or a PSF/SCI extension")


def _wavelength_table(hdul: fits.HDUList) -> NDArray[np.float64] | None:
    """Wavelengths (µm) from a ``WAVELENGTH`` table extension, or None if there is none."""
    if "WAVELENGTH" not in hdul:
        return None
    hdu = hdul["WAVELENGTH"]
    columns = getattr(hdu, "columns", None)
    names = {n.lower(): n for n in columns.names} if columns is not None else {}
    if "wavelength" not in names:
        raise PSFError("WAVELENGTH extension has no 'wavelength' column")
    return np.array(hdu.data[names["wavelength"]], dtype=float).ravel()


_UNIT_TO_UM = {"um": 1.0, "micron": 1.0, "microns": 1.0, "µm": 1.0, "m": 1.0e6, "nm": 1.0e-3,
               "angstrom": 1.0e-4}


def _wcs_wavelengths(headers: list[Any], n_wave: int) -> NDArray[np.float64]:
    """Wavelengths (µm) from the linear WCS of axis 3."""
    for header in headers:
        if "CRVAL3" in header and ("CDELT3" in header or "CD3_3" in header):
            break
    else:
        raise PSFError("no wavelength information (no WAVELENGTH table, no CRVAL3/CDELT3)")
    step = float(header.get("CDELT3", header.get("CD3_3")))
    pix = np.arange(1, n_wave + 1) - float(header.get("CRPIX3", 1.0))
    waves = float(header["CRVAL3"]) + pix * step
    unit = str(header.get("CUNIT3", "")).strip()
    if unit:
        if unit.lower() not in _UNIT_TO_UM and unit not in _UNIT_TO_UM:
            raise PSFError(f"unsupported wavelength unit CUNIT3 = {unit!r}")
        scale = _UNIT_TO_UM.get(unit.lower(), _UNIT_TO_UM.get(unit, 1.0))
    else:
        scale = 1.0e6 if np.nanmax(np.abs(waves)) < 1.0e-3 else 1.0
    return waves * scale


def _sampling_from_headers(headers: list[Any]) -> float:
    """Pixel scale (arcsec) from ``PIXELSCL`` (arcsec) or ``CDELT1`` (deg)."""
    for header in headers:
        if "PIXELSCL" in header:
            return float(header["PIXELSCL"])
    for header in headers:
        if "CDELT1" in header:
            return abs(float(header["CDELT1"])) * 3600.0
    raise PSFError("no sampling keyword (PIXELSCL or CDELT1)")
