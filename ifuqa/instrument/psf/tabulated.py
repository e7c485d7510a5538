"""Shared machinery of tabulated PSFs: planes on a fine grid, integrated over rectangles with
summed-area tables, FWHM and encircled energy per wavelength.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    pass


_CHUNK = 1 << 15
_EE_STRIPS = 128


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
