"""Holes at the PSF peak (NS-IFU01): the depth of the peak against a reference cube, and the
central depression of the PSF measured without truth.
"""

from __future__ import annotations

import numpy as np

from ifuqa.metrics.apertures import wavelength_bins
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


def core_deficit(image: np.ndarray, center: tuple[float, float], fwhm_pix: float
                 ) -> tuple[float, float, tuple[int, int]]:
    """How far the brightest part of a point source falls below a smooth PSF fitted to it.

    A 2-D Gaussian plus a constant is fitted to the spaxels within ``1.5 FWHM + 1`` of
    ``center`` (finite ones only); core spaxels (within 1 FWHM) lying more than 3 σ below the
    fit — σ the rms of the fit's residuals outside the core — are left out and the fit repeated,
    so that a hole does not drag the model down with it. The deficit of each core spaxel is
    ``(model − data) / model peak``; the largest is returned with its uncertainty, the residual
    rms over the model peak (which holds the noise and how well the smooth model describes an
    undersampled PSF).

    Parameters
    ----------
    image : numpy.ndarray
        2-D image of the source (NaN allowed).
    center : (float, float)
        Source position (x, y), e.g. a centroid measured on the PSF's wings.
    fwhm_pix : float
        Expected PSF FWHM (spaxels); the first guess of the fit and the core radius.

    Returns
    -------
    deficit_percent, sigma_percent : float
        The largest core deficit and its uncertainty (% of the model peak); NaN when the fit
        fails.
    spaxel : (int, int)
        The (x, y) of the most depleted core spaxel.

    Examples
    --------
    >>> yy, xx = np.mgrid[:21, :21]
    >>> psf = np.exp(-0.5 * ((xx - 10.2) ** 2 + (yy - 9.9) ** 2) / 1.0**2)
    >>> depth, sigma, where = core_deficit(psf, (10.2, 9.9), 2.35)
    >>> bool(abs(depth) < 0.1), where in ((10, 10), (11, 10), (10, 9), (9, 10))
    (True, True)
    >>> psf[10, 10] *= 0.6  # a hole of 40 % of the peak spaxel
    >>> depth, sigma, where = core_deficit(psf, (10.2, 9.9), 2.35)
    >>> round(depth), where  # 40 % of the peak spaxel's value, which is 0.98 of the peak
    (39, (10, 10))
    """
    import warnings

    from astropy.modeling import fitting, models

    img = np.asarray(image, dtype=float)
    ny, nx = img.shape
    half = max(2, int(np.ceil(1.5 * fwhm_pix)) + 1)
    ix, iy = round(center[0]), round(center[1])
    y0, y1 = max(iy - half, 0), min(iy + half + 1, ny)
    x0, x1 = max(ix - half, 0), min(ix + half + 1, nx)
    cut = img[y0:y1, x0:x1]
    yy, xx = np.mgrid[y0:y1, x0:x1]
    finite = np.isfinite(cut)
    core = finite & (np.hypot(xx - center[0], yy - center[1]) < max(fwhm_pix, 1.0))
    if finite.sum() < 12 or not core.any():
        return float("nan"), float("nan"), (ix, iy)
    sigma0 = max(fwhm_pix, 1.0) / 2.3548
    model = (models.Gaussian2D(float(np.nanmax(cut)), center[0], center[1], sigma0, sigma0)
             + models.Const2D(float(np.nanmin(cut))))
    fitter = fitting.LevMarLSQFitter()
    use = finite.copy()
    rms = float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's "fit may be unsuccessful"
        for _ in range(4):
            model = fitter(model, xx[use], yy[use], cut[use], maxiter=400)
            resid = cut - model(xx, yy)
            wings = use & ~core
            rms = float(np.sqrt(np.mean(resid[wings] ** 2))) if wings.sum() > 5 else rms
            keep = finite & ~(core & (resid < -3.0 * rms))
            if (keep == use).all():
                break
            use = keep
    peak = float(model[0].amplitude.value)
    if not (np.isfinite(peak) and peak > 0 and np.isfinite(rms)):
        return float("nan"), float("nan"), (ix, iy)
    deficit = np.where(core, (model(xx, yy) - cut) / peak * 100.0, -np.inf)
    k = np.unravel_index(int(np.argmax(deficit)), deficit.shape)
    return float(deficit[k]), float(rms / peak * 100.0), (int(xx[k]), int(yy[k]))


def peak_hole(data: np.ndarray, wave_um: np.ndarray, *, radius_pix: float,
              fwhm_pix: float | np.ndarray, n_bins: int = 12,
              threshold_percent: float = 10.0) -> MetricResult:
    """Hole at the PSF peak of a point source, without truth (NS-IFU01 on any cube).

    Definition: in each wavelength-bin image that holds data, the source is located on its
    wings (:func:`~ifuqa.metrics.centroids.centroid` in an annulus beyond 0.4 × ``radius_pix``,
    which a hole does not move) and its core compared with a smooth PSF fitted to the bin
    (:func:`core_deficit`): the depth is how far the most depleted core spaxel falls below the
    model, in % of the model's peak. What a person sees as a hole — the peak spaxel darker than
    its surroundings' trend, a donut — gives a large depth; a clean PSF, however undersampled,
    a few % at most. A NaN spaxel at the source with finite neighbours counts as a 100 % hole.
    The metric is the depth of the bin whose depth is most significant (largest ``depth − 3σ``),
    with that bin's uncertainty; all-NaN bins (a cube's band ends) are not measured and the
    record says how many bins were used.

    ``plot`` holds the per-bin depths and, for the worst bin, its image and the radial profile
    about its centroid out to 6 FWHM: the NaN-ignoring mean of the spaxels whose centres lie in
    each 0.5-spaxel annulus (ifuqa's own rather than :class:`photutils.profiles.RadialProfile`,
    whose exact-overlap annuli average the central spaxel with fractions of its neighbours and
    smooth away a one-spaxel hole, which is what the figure must show).

    Parameters
    ----------
    data : numpy.ndarray, shape (n_wave, ny, nx)
        The cube.
    wave_um : numpy.ndarray
        Wavelength of each plane (µm).
    radius_pix : float
        Centroid window radius (spaxels; 2.5 FWHM).
    fwhm_pix : float or numpy.ndarray
        Expected PSF FWHM (spaxels), scalar or per plane.
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
    >>> bool(peak_hole(cube, wave, radius_pix=6.0, fwhm_pix=2.35, n_bins=3).value < 0.1)
    True
    >>> cube[:, 10, 10] *= 0.5  # the peak halved
    >>> result = peak_hole(cube, wave, radius_pix=6.0, fwhm_pix=2.35, n_bins=3)
    >>> round(result.value), result.verdict
    (50, 'fail')
    >>> cube[16:] = np.nan  # an all-NaN red end: measured on the bins with data
    >>> result = peak_hole(cube, wave, radius_pix=6.0, fwhm_pix=2.35, n_bins=3)
    >>> round(result.value), result.evidence["bins_used"], result.evidence["bins"]
    (50, 2, 3)
    """
    bins = wavelength_bins(data, wave_um, n_bins)
    fwhm = np.broadcast_to(np.asarray(fwhm_pix, dtype=float), (data.shape[0],))
    with np.errstate(all="ignore"):
        white = nanmean(bins.images[bins.has_data], axis=0)
    cx, cy = centroid(white, radius_pix=radius_pix)
    if not (np.isfinite(cx) and np.isfinite(cy)):
        return MetricResult("NS-IFU01", "psf_peak_hole_depth", float("nan"), "%",
                            threshold_percent, message="no source found in the cube",
                            evidence=bins.evidence())
    ny, nx = white.shape
    yy, xx = np.mgrid[:ny, :nx]
    edges = np.arange(0, 6 * radius_pix / 2.5 + 1, 0.5)
    rows: list[tuple[float, float, float, np.ndarray, tuple[float, float], np.ndarray]] = []
    for k in np.flatnonzero(bins.has_data):
        img = bins.images[k]
        a, b = bins.edges[k], bins.edges[k + 1]
        fw = float(np.mean(fwhm[a:b]))
        bx, by = centroid(img, radius_pix=radius_pix, start=(cx, cy),
                          inner_radius_pix=0.4 * radius_pix)
        if not (np.isfinite(bx) and np.isfinite(by) and np.hypot(bx - cx, by - cy) < 1.0):
            bx, by = cx, cy  # a bin too noisy for its own centroid: the white-light one
        ix, iy = round(bx), round(by)
        inside = 0 <= ix < nx and 0 <= iy < ny
        neighbours = img[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2]
        if inside and not np.isfinite(img[iy, ix]) and np.isfinite(neighbours).sum() >= 6:
            depth, sigma = 100.0, 0.0
        else:
            depth, sigma, _ = core_deficit(img, (bx, by), fw)
        if not np.isfinite(depth):
            continue
        r = np.hypot(xx - bx, yy - by)
        idx = np.digitize(r.ravel(), edges)
        vals = img.ravel()
        profile = np.array([nanmean(vals[idx == j]) if np.any(idx == j) else np.nan
                            for j in range(1, edges.size)])
        rows.append((float(bins.wavelength_um[k]), depth, sigma, img, (bx, by), profile))
    if not rows:
        return MetricResult("NS-IFU01", "psf_peak_hole_depth", float("nan"), "%",
                            threshold_percent, message="the PSF core could not be fitted in "
                            "any wavelength bin", evidence=bins.evidence())
    waves = np.array([row[0] for row in rows])
    depths = np.array([row[1] for row in rows])
    sigmas = np.array([row[2] for row in rows])
    worst = int(np.argmax(depths - 3.0 * sigmas))
    wave, depth, sigma, image, position, profile = rows[worst]
    evidence = dict(bins.evidence(), bins_measured=len(rows),
                    median_depth_percent=float(np.median(depths)))
    return MetricResult(
        "NS-IFU01", "psf_peak_hole_depth", depth, "%", threshold_percent,
        message=(f"PSF core {depth:.1f} ± {sigma:.1f} % below a smooth PSF fitted to it at "
                 f"{wave:.3f} um (the most significant of {len(rows)} wavelength bins; median "
                 f"{np.median(depths):.1f} %)"),
        plot={"wavelength_um": waves, "depth_percent": depths,
              "radius_pix": 0.5 * (edges[1:] + edges[:-1]), "profile": profile,
              "image": image, "center_xy": position},
        uncertainty=sigma, evidence=evidence)
