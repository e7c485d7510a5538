"""Defects injected into the science array of an s3d cube (pure array functions).

Each function takes the cube's ``(nwave, ny, nx)`` science array and its wavelengths and returns
a new array; NaN spaxels stay NaN, the input is never modified. The source is located on the
cube itself (:func:`source_peak`), so the functions work on any point-source cube.
"""

from __future__ import annotations

import itertools

import numpy as np

from ifuqa.util.stats import nanmedian

__all__ = ["inject_drift", "inject_hole", "inject_spaxel_wiggle", "peak_spaxels", "source_peak"]


def _background(image: np.ndarray) -> float:
    """Median of the finite spaxels in the outer half of the image's radius range (a robust
    sky level that never counts NaN spaxels)."""
    ny, nx = image.shape
    yy, xx = np.mgrid[:ny, :nx]
    r = np.hypot(xx - (nx - 1) / 2.0, yy - (ny - 1) / 2.0)
    outer = (r > 0.5 * r.max()) & np.isfinite(image)
    return float(np.median(image[outer])) if outer.sum() >= 5 else 0.0


def source_peak(image: np.ndarray) -> tuple[int, int]:
    """(x, y) of the brightest finite spaxel of a 2-D image after a 3×3 median filter (so that a
    single hot spaxel does not win).

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (NaN allowed).

    Returns
    -------
    (int, int)
        Column and row of the source peak.

    Examples
    --------
    >>> img = np.zeros((9, 9)); img[4, 6] = 10.0; img[3:6, 5:8] += 1.0
    >>> source_peak(img)
    (6, 4)
    """
    from scipy.ndimage import median_filter

    filled = np.where(np.isfinite(image), image, -np.inf)
    smooth = median_filter(np.where(np.isfinite(image), image, np.nanmin(image)), size=3)
    smooth = np.where(np.isfinite(image), smooth, -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(smooth)), image.shape)
    # the brightest spaxel of the 3x3 neighbourhood of the smoothed peak
    y0, y1 = max(iy - 1, 0), min(iy + 2, image.shape[0])
    x0, x1 = max(ix - 1, 0), min(ix + 2, image.shape[1])
    sub = filled[y0:y1, x0:x1]
    jy, jx = np.unravel_index(int(np.argmax(sub)), sub.shape)
    return int(x0 + jx), int(y0 + jy)


def peak_spaxels(data: np.ndarray, n_bins: int = 12) -> np.ndarray:
    """The source peak (x, y) of every plane: the peak of each wavelength bin's median image,
    given to every plane of the bin (single planes are too noisy to locate a peak).

    Parameters
    ----------
    data : numpy.ndarray
        ``(nwave, ny, nx)`` cube.
    n_bins : int
        Wavelength bins.

    Returns
    -------
    numpy.ndarray of int, shape (nwave, 2)
    """
    nwave = data.shape[0]
    edges = np.linspace(0, nwave, min(n_bins, nwave) + 1).astype(int)
    peaks = np.zeros((nwave, 2), dtype=int)
    white = nanmedian(data, axis=0)
    fallback = source_peak(white)
    for a, b in itertools.pairwise(edges):
        image = nanmedian(data[a:b], axis=0)
        peaks[a:b] = source_peak(image) if np.isfinite(image).sum() >= 9 else fallback
    return peaks


def _band_mask(wave: np.ndarray, band: tuple[float, float] | None) -> np.ndarray:
    wave = np.asarray(wave, dtype=float)
    if band is None:
        return np.ones(wave.shape, dtype=bool)
    lo, hi = band
    return (wave >= lo) & (wave <= hi)


def inject_hole(data: np.ndarray, wave: np.ndarray, depth_percent: float, *,
                band_um: tuple[float, float] | None = None) -> np.ndarray:
    """A hole at the PSF peak: the source's peak spaxel of each plane lowered by a fraction.

    What over-eager outlier rejection leaves in a cube (NS-IFU01): the brightest detector pixels
    of the undersampled PSF are rejected, so the cube's peak spaxel falls below its neighbours'
    trend. The source part of the peak spaxel (its value above the plane's background) is scaled
    by ``1 − depth``.

    Parameters
    ----------
    data : numpy.ndarray
        ``(nwave, ny, nx)`` cube.
    wave : numpy.ndarray
        Wavelength of each plane (µm).
    depth_percent : float
        Depth of the hole, % of the peak's source flux (0–100).
    band_um : (float, float), optional
        Only planes in this wavelength range get the hole (default: all).

    Returns
    -------
    numpy.ndarray
        The cube with the hole.

    Examples
    --------
    >>> cube = np.ones((4, 5, 5)); cube[:, 2, 2] = 11.0
    >>> out = inject_hole(cube, np.arange(4.0), 50.0)
    >>> float(out[0, 2, 2]), float(out[0, 0, 0])
    (6.0, 1.0)
    """
    if not 0.0 <= depth_percent <= 100.0:
        raise ValueError(f"depth_percent must be in 0-100, got {depth_percent}")
    out = np.array(data, dtype=np.float32, copy=True)
    peaks = peak_spaxels(out)
    scale = 1.0 - depth_percent / 100.0
    for k in np.flatnonzero(_band_mask(wave, band_um)):
        x, y = peaks[k]
        value = out[k, y, x]
        if not np.isfinite(value):
            continue
        bkg = _background(out[k])
        out[k, y, x] = bkg + (value - bkg) * scale
    return out


def inject_drift(data: np.ndarray, wave: np.ndarray, drift_mas: float, *,
                 spaxel_arcsec: float, angle_deg: float = 0.0) -> np.ndarray:
    """A centroid that moves linearly with wavelength (NS-IFU06).

    Each plane is shifted (cubic-spline interpolation of its background-subtracted image) by
    ``(λ − λ_mid) / (λ_max − λ_min) × drift`` along the direction ``angle_deg`` (counter-clockwise
    from the cube's +x axis): the centroid moves by ``drift_mas`` from the first to the last plane.
    NaN spaxels stay NaN.

    Parameters
    ----------
    data : numpy.ndarray
        ``(nwave, ny, nx)`` cube.
    wave : numpy.ndarray
        Wavelength of each plane (µm).
    drift_mas : float
        Drift over the band (mas).
    spaxel_arcsec : float
        Spaxel size (arcsec).
    angle_deg : float
        Direction of the drift in the cube's pixel frame.

    Returns
    -------
    numpy.ndarray
    """
    from scipy.ndimage import shift

    wave = np.asarray(wave, dtype=float)
    out = np.array(data, dtype=np.float32, copy=True)
    span = float(np.nanmax(wave) - np.nanmin(wave))
    mid = 0.5 * float(np.nanmax(wave) + np.nanmin(wave))
    length_pix = drift_mas / 1000.0 / spaxel_arcsec
    ux, uy = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    for k in range(out.shape[0]):
        plane = out[k]
        finite = np.isfinite(plane)
        if finite.sum() < 9:
            continue
        frac = (wave[k] - mid) / span if span > 0 else 0.0
        bkg = _background(plane)
        moved = shift(np.where(finite, plane - bkg, 0.0), (frac * length_pix * uy,
                                                            frac * length_pix * ux),
                      order=3, mode="constant", cval=0.0)
        out[k] = np.where(finite, moved + bkg, np.nan)
    return out


def inject_spaxel_wiggle(data: np.ndarray, wave: np.ndarray, amplitude_percent: float, *,
                         cycles_per_um: float, phase_rad: float = 0.0) -> np.ndarray:
    """A sinusoidal modulation of the source's peak spaxel (NS-IFU05): the spectrum of that one
    spaxel multiplied by ``1 + A sin(2π f λ + φ)``, as resampling of an undersampled PSF onto a
    rectified cube makes it oscillate while the trace crosses detector rows.

    Parameters
    ----------
    data : numpy.ndarray
        ``(nwave, ny, nx)`` cube.
    wave : numpy.ndarray
        Wavelength of each plane (µm).
    amplitude_percent : float
        Amplitude A (%).
    cycles_per_um : float
        Frequency f (cycles per µm).
    phase_rad : float
        Phase φ.

    Returns
    -------
    numpy.ndarray
    """
    out = np.array(data, dtype=np.float32, copy=True)
    x, y = source_peak(nanmedian(out, axis=0))
    modulation = 1.0 + amplitude_percent / 100.0 * np.sin(
        2.0 * np.pi * cycles_per_um * np.asarray(wave, dtype=float) + phase_rad)
    out[:, y, x] = (out[:, y, x] * modulation).astype(np.float32)
    return out
