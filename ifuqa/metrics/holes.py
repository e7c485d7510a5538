"""Holes at the PSF peak (NS-IFU01): the depth of the peak against a reference cube, and the
central depression of the PSF measured without truth.
"""

from __future__ import annotations

import numpy as np

from ifuqa.metrics.apertures import binned_images
from ifuqa.metrics.centroids import centroid
from ifuqa.metrics.result import MetricResult
from ifuqa.util.stats import nanmean


def peak_depth_against_reference(test: np.ndarray, reference: np.ndarray, *,
                                 threshold_percent: float = 2.0, box: int = 1) -> MetricResult:
    """Depth of the PSF peak against a reference image of the same source (NS-IFU01).

    Definition: ``1 − max(test) / max(reference)`` over the ``(2 box + 1)²`` spaxels around the
    reference peak, in percent, for a white-light (or band) image of the cube under test and
    of a reference cube built identically but without outlier rejection (on synthetic data:
    the truth of what the peak should be).
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
    (%); ``plot`` holds the radial profile of the worst bin.
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
        edges = np.arange(0, 6 * radius_pix / 2.5 + 1, 0.5)
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
              "radius_pix": 0.5 * (np.arange(0, 6 * radius_pix / 2.5 + 1, 0.5)[1:]
                                   + np.arange(0, 6 * radius_pix / 2.5 + 1, 0.5)[:-1]),
              "profile": profiles[worst], "image": images[worst],
              "center_xy": positions[worst]})
