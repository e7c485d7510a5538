"""Holes at the PSF peak (NS-IFU01): the depth of the peak against a reference cube, and the
central depression of the PSF measured without truth.
"""

from __future__ import annotations

import numpy as np

from ifuqa.metrics.apertures import binned_images
from ifuqa.metrics.centroids import centroid
from ifuqa.metrics.result import MetricResult
from ifuqa.util.stats import nanmean

__all__ = ["peak_depth_against_reference", "peak_hole"]


def peak_depth_against_reference(test: np.ndarray, reference: np.ndarray, *,
                                 threshold_percent: float = 2.0, box: int = 1) -> MetricResult:
    """Depth of the PSF peak against a reference image of the same source (NS-IFU01).

    Definition: ``1 − max(test) / max(reference)`` over the ``(2 box + 1)²`` spaxels around the
    reference peak, in percent, for a white-light (or band) image of the cube under test and
    of a reference cube built identically but without outlier rejection (on synthetic data:
    the truth of what the peak should be).

    Parameters
    ----------
    test, reference : numpy.ndarray
        Images of the cube under test and of the reference (same grid).
    threshold_percent : float
        Largest acceptable depth.
    box : int
        Half-size of the box around the reference peak searched in ``test``.

    Examples
    --------
    >>> reference = np.zeros((5, 5))
    >>> reference[2, 2], reference[2, 3] = 10.0, 6.0
    >>> test = reference.copy()
    >>> test[2, 2] = 5.0  # the peak halved: its brightest neighbour, 6, is the box maximum
    >>> result = peak_depth_against_reference(test, reference)
    >>> round(result.value, 6), result.verdict
    (40.0, 'fail')
    >>> peak_depth_against_reference(reference, reference).value
    0.0
    """
    ref = np.where(np.isfinite(reference), reference, -np.inf)
    y0, x0 = np.unravel_index(np.argmax(ref), ref.shape)
    sl = (slice(max(y0 - box, 0), y0 + box + 1), slice(max(x0 - box, 0), x0 + box + 1))
    peak_test = float(np.nanmax(np.where(np.isfinite(test[sl]), test[sl], 0.0)))
    depth = (1.0 - peak_test / float(ref[y0, x0])) * 100.0
    return MetricResult(
        "NS-IFU01", "psf_peak_depth", float(depth), "%", threshold_percent,
        message=f"PSF peak {depth:.1f} % below the reference peak",
        plot={"test": test, "reference": reference, "peak_xy": (int(x0), int(y0))})


def peak_hole(data: np.ndarray, wave_um: np.ndarray, *, radius_pix: float, n_bins: int = 12,
              threshold_percent: float = 10.0) -> MetricResult:
    """Hole at the PSF peak of a point source, without truth (NS-IFU01 on a user's cube).

    Definition: in each wavelength-bin image, the spaxel containing that bin's centroid (the
    spaxel nearest the source, so the brightest one for any symmetric PSF, however
    undersampled; the centroid is measured on the PSF's wings, beyond 1 FWHM, which a hole
    does not move) is compared with the brightest of its 8 neighbours; depth =
    ``1 − centre / max(neighbours)`` when the centre is lower (a local minimum), else 0. Each
    bin has its own centroid so that a source drifting with wavelength is not mistaken for a
    hole. A NaN centre counts as a 100 % hole. The metric is the largest depth over the bins
    (%).

    ``plot`` holds the radial profile of the worst bin about its centroid out to 6 FWHM:
    the NaN-ignoring mean of the spaxels whose centres lie in each 0.5-spaxel annulus
    (``radius_pix``: annulus centres; ``profile``; NaN for an annulus without a spaxel centre).

    The profile is ifuqa's own rather than :class:`photutils.profiles.RadialProfile`, whose
    exact-overlap annuli average the central spaxel with fractions of its neighbours and so
    smooth away a one-spaxel hole, which is what the figure must show. Measured on the
    NS-IFU01 defect build of ``bright_point_g395h`` (worst bin, normalised to the peak): this
    profile gives 0.92, 1.10, 0.40 at r = 0.25, 0.75, 1.25 spaxel (the dip), RadialProfile
    1.00, 0.72, 0.36 (no dip); on the fixed build 1.02, 0.99, 0.42 against 1.00, 0.72, 0.36.

    Parameters
    ----------
    data : numpy.ndarray, shape (n_wave, ny, nx)
        The cube.
    wave_um : numpy.ndarray
        Wavelength of each plane (µm).
    radius_pix : float
        Centroid window radius (spaxels; 2.5 FWHM).
    n_bins : int
        Number of wavelength bins.
    threshold_percent : float
        Largest acceptable depth.

    Examples
    --------
    >>> yy, xx = np.mgrid[:21, :21]
    >>> psf = np.exp(-0.5 * ((xx - 10.0) ** 2 + (yy - 10.0) ** 2) / 1.0**2)
    >>> cube = np.repeat(psf[None], 24, axis=0)
    >>> wave = np.linspace(3.0, 4.0, 24)
    >>> peak_hole(cube, wave, radius_pix=4.0, n_bins=3).value
    0.0
    >>> cube[:, 10, 10] *= 0.5  # the peak halved: 0.5 / exp(-1/2) = 0.82 of its neighbours
    >>> result = peak_hole(cube, wave, radius_pix=4.0, n_bins=3)
    >>> round(result.value, 2), result.verdict
    (17.56, 'fail')
    """
    images, centres = binned_images(data, wave_um, n_bins)
    depths, profiles, positions = [], [], []
    with np.errstate(all="ignore"):
        white = nanmean(images, axis=0)
    cx, cy = centroid(white, radius_pix=radius_pix)
    ny, nx = white.shape
    if not (1 <= round(cx) < nx - 1 and 1 <= round(cy) < ny - 1):
        return MetricResult("NS-IFU01", "psf_peak_hole_depth", float("nan"), "%",
                            threshold_percent, message="source centroid at the cube edge")
    yy, xx = np.mgrid[:ny, :nx]
    edges = np.arange(0, 6 * radius_pix / 2.5 + 1, 0.5)
    for img in images:
        bx, by = centroid(img, radius_pix=radius_pix, start=(cx, cy),
                          inner_radius_pix=0.4 * radius_pix)
        if not (np.isfinite(bx) and np.isfinite(by) and np.hypot(bx - cx, by - cy) < 1.0):
            bx, by = cx, cy  # a bin too noisy for its own centroid: the white-light one
        ix, iy = round(bx), round(by)
        ix, iy = min(max(ix, 1), nx - 2), min(max(iy, 1), ny - 2)
        positions.append((bx, by))
        r = np.hypot(xx - bx, yy - by)
        centre = img[iy, ix]
        ring = img[iy - 1:iy + 2, ix - 1:ix + 2].copy()
        ring[1, 1] = np.nan
        top = np.nanmax(ring) if np.isfinite(ring).any() else np.nan
        if not np.isfinite(centre):
            depths.append(100.0)
        elif np.isfinite(top) and top > 0 and centre < top:
            depths.append((1.0 - centre / top) * 100.0)
        else:
            depths.append(0.0)
        idx = np.digitize(r.ravel(), edges)
        vals = img.ravel()
        profiles.append(np.array([nanmean(vals[idx == k]) if np.any(idx == k) else np.nan
                                  for k in range(1, edges.size)]))
    worst = int(np.argmax(depths))
    return MetricResult(
        "NS-IFU01", "psf_peak_hole_depth", float(depths[worst]), "%", threshold_percent,
        message=(f"deepest central depression {depths[worst]:.1f} % at "
                 f"{centres[worst]:.3f} um" if depths[worst] > 0 else
                 "no local minimum at the PSF peak in any wavelength bin"),
        plot={"wavelength_um": centres, "depth_percent": np.array(depths),
              "radius_pix": 0.5 * (edges[1:] + edges[:-1]),
              "profile": profiles[worst], "image": images[worst],
              "center_xy": positions[worst]})
