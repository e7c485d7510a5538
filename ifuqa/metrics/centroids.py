"""Centroids of a point source in cube planes: the centroid, its track against wavelength and
its drift in mas (NS-IFU06), and the offset of an extraction centre from it (NS-IFU04). The
cube's sky geometry enters only through a callable ``pixel_to_sky(x, y, wave) -> (ra_deg,
dec_deg)`` (e.g. an IFUCubeModel's ``meta.wcs``), so the same code serves NIRSpec and MIRI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from ifuqa.metrics.apertures import MAS_PER_DEG, aperture_flux, wavelength_bins
from ifuqa.metrics.result import MetricResult
from ifuqa.util.stats import nanmean

__all__ = ["MIN_BIN_SNR", "centroid", "centroid_drift", "centroid_track", "drift_recovery",
           "extraction_centring"]


def _start(img: np.ndarray, finite: np.ndarray) -> tuple[float, float]:
    """Brightest pixel after a 3 × 3 median filter (a single hot pixel does not win)."""
    from scipy.ndimage import median_filter

    filled = np.where(finite, img, np.nanmin(img[finite]))
    smooth = np.where(finite, median_filter(filled, size=3, mode="nearest"), -np.inf)
    y0, x0 = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    return float(x0), float(y0)


def _symmetric(finite: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """Weight of each pixel for a symmetric window about (cx, cy): 0 where the pixel is not
    finite, else the finite fraction at its point reflection (the finite mask interpolated
    bilinearly there; 0 outside the image)."""
    from scipy.ndimage import map_coordinates

    ny, nx = finite.shape
    yy, xx = np.mgrid[:ny, :nx]
    mirrored = map_coordinates(finite.astype(float), [2.0 * cy - yy, 2.0 * cx - xx], order=1,
                               mode="constant", cval=0.0)
    return np.where(finite, np.clip(mirrored, 0.0, 1.0), 0.0)


class _Moment(NamedTuple):
    """A first-moment centroid with its propagated noise, or why there is none."""

    x: float
    y: float
    sigma_x: float
    sigma_y: float
    snr: float
    reason: str


_NAN = float("nan")


def _moment(image: np.ndarray, *, radius_pix: float, start: tuple[float, float] | None = None,
            iterations: int = 20, inner_radius_pix: float = 0.0) -> _Moment:
    """:func:`centroid`, with the centroid's noise and the window's S/N, or the reason it
    found no centroid.

    The noise is propagated from the background's robust scatter per pixel ``σ`` (the pixels
    beyond ``2 × radius_pix``): with window weights ``w`` and window flux ``F = Σ w d``,
    ``σ_x = σ √(Σ (w (x − x̄))²) / F`` (likewise for y) and ``S/N = F / (σ √(Σ w²))``. Pixel
    correlations (drizzle) are not in it; :func:`centroid_drift` scales its fit by the scatter
    of the bins about the line when that is larger.
    """
    from photutils.aperture import CircularAnnulus, CircularAperture

    from ifuqa.metrics.apertures import background_stats

    img = np.asarray(image, dtype=float)
    finite = np.isfinite(img)
    if finite.sum() < 3:
        return _Moment(_NAN, _NAN, _NAN, _NAN, _NAN,
                       "no data" if not finite.any() else "fewer than 3 finite spaxels")
    ny, nx = img.shape
    yy, xx = np.mgrid[:ny, :nx]
    if start is None or not np.all(np.isfinite(start)):
        start = _start(img, finite)
    level, noise, _ = background_stats(img, start, 2.0 * radius_pix)
    data = np.where(finite, img - (level if np.isfinite(level) else 0.0), 0.0)
    cx, cy = float(start[0]), float(start[1])
    used: tuple[np.ndarray, float] | None = None
    reason = "no positive flux in the centroid window"
    for _ in range(iterations):
        window = (CircularAnnulus((cx, cy), inner_radius_pix, radius_pix)
                  if inner_radius_pix > 0 else CircularAperture((cx, cy), radius_pix))
        weights = window.to_mask(method="exact").to_image(img.shape)
        if weights is None:  # the window left the image
            reason = "the centroid window left the image"
            break
        weights = weights * _symmetric(finite, cx, cy)
        total = float((weights * data).sum())
        if total <= 0:
            break
        used = (weights, total)
        nx_ = float((weights * data * xx).sum() / total)
        ny_ = float((weights * data * yy).sum() / total)
        moved = np.hypot(nx_ - cx, ny_ - cy)
        cx, cy = nx_, ny_
        if moved < 1e-5:
            break
    if used is None:
        return _Moment(_NAN, _NAN, _NAN, _NAN, _NAN, reason)
    weights, total = used
    if np.isfinite(noise):
        sigma_x = float(noise * np.sqrt(np.sum((weights * (xx - cx)) ** 2)) / total)
        sigma_y = float(noise * np.sqrt(np.sum((weights * (yy - cy)) ** 2)) / total)
        spread = float(noise * np.sqrt(np.sum(weights**2)))
        snr = total / spread if spread > 0 else float("inf")
    else:
        sigma_x = sigma_y = snr = _NAN
    return _Moment(cx, cy, sigma_x, sigma_y, float(snr), "")


def centroid(image: np.ndarray, *, radius_pix: float, start: tuple[float, float] | None = None,
             iterations: int = 20, inner_radius_pix: float = 0.0) -> tuple[float, float]:
    """Background-subtracted first-moment centroid in an iterated, symmetric circular window.

    The background level (:func:`~ifuqa.metrics.apertures.background_stats` of the finite pixels
    beyond ``2 × radius_pix``) is removed; then the centroid is recomputed in a circular window
    (exact photutils overlap weights) around the previous estimate until it moves < 1e-5 pixel.
    Each finite pixel is weighted by how finite its point reflection through the current centre
    is (the finite mask interpolated there; 0 outside the image): a NaN spaxel, a NaN cube edge
    or the image border then removes a symmetric pair, and the first moment of a symmetric PSF
    stays (nearly) unbiased next to them — with NaNs set to 0, or an asymmetric window, it is
    pulled away from the missing side. Measured on a Gaussian (FWHM 3.5 pixels) with a NaN edge
    1 FWHM from it: ≤ 0.03 pixel; 1.6 FWHM from it: ≤ 0.002 pixel. With
    ``inner_radius_pix`` the window is an annulus: the position comes from the PSF's wings alone,
    blind to whatever happened to its core (a hole).

    Kept as ifuqa's own code for precision: photutils' centroid functions
    (:func:`photutils.centroids.centroid_com`, ``centroid_sources``) take a boolean mask or a
    box footprint, whose pixelised edge makes the first moment jump as pixels enter and leave
    the window (measured on a pixel-integrated PSF with extended wings, Moffat β = 1.5, at
    eleven sub-pixel positions: up to 0.021 pixel off with a boolean circular mask, 0.0007 pixel
    with the exact weights used here, i.e. 2 mas against 0.07 mas at 0.1"); and a 2-D Gaussian
    fit (:func:`photutils.centroids.centroid_2dg`) is biased for an undersampled, non-Gaussian
    PSF. On the real 16 Cyg B MIRI cube this centroid and ``centroid_2dg`` agree within 0.05
    spaxel in every wavelength bin (tests/test_real_products.py).

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (NaN allowed).
    radius_pix : float
        Window radius (pixels); ≥ 2.5 FWHM for an unbiased first moment.
    start : (float, float), optional
        First guess (x, y); default the brightest pixel of the 3 × 3-median-filtered image.
    iterations : int
        Maximum number of re-centrings.
    inner_radius_pix : float
        Inner radius of an annular window (0: a disc).

    Returns
    -------
    (float, float)
        The centroid (x, y) in pixels (0-based); NaN when the image holds no source (no
        positive flux in the window, or fewer than 3 finite pixels).

    Examples
    --------
    >>> yy, xx = np.mgrid[:31, :31]
    >>> image = np.exp(-0.5 * ((xx - 14.3) ** 2 + (yy - 16.6) ** 2) / 1.5**2) + 0.1
    >>> x, y = centroid(image, radius_pix=6.0)
    >>> round(x, 3), round(y, 3)
    (14.3, 16.6)
    >>> image[17, 14] = 0.0  # a hole in the core: the annulus still finds the source
    >>> x, y = centroid(image, radius_pix=6.0, inner_radius_pix=1.6)
    >>> round(x, 2), round(y, 2)
    (14.3, 16.6)
    >>> image[:, 18:] = np.nan  # a NaN edge 3.7 pixels (1 FWHM) from the source
    >>> x, y = centroid(image, radius_pix=6.0, inner_radius_pix=1.6)
    >>> bool(abs(x - 14.3) < 0.03), round(y, 2)
    (True, 16.6)
    """
    found = _moment(image, radius_pix=radius_pix, start=start, iterations=iterations,
                    inner_radius_pix=inner_radius_pix)
    return found.x, found.y


MIN_BIN_SNR = 10.0
"""A wavelength bin whose centroid window holds the source at a lower S/N is noise-dominated:
its first moment is no longer a small perturbation of the source's position (the noise can
drag it anywhere in the window, or outside the image), so :func:`centroid_drift` leaves it out.
A first moment's noise in a disc of radius ``R`` is ``≈ R / (2 S/N)``: 0.05 R at S/N 10, where
the propagated noise describes the scatter (below it, on analytic cubes at S/N 5-6 per bin,
centroids fall 2-3 propagated σ away and a three-bin fit gave a false 3σ failure in 1 of 100
noise draws; tests/test_drift_faint.py)."""


def centroid_track(data: np.ndarray, wave_um: np.ndarray,
                   pixel_to_sky: Callable, *, radius_pix: float, n_bins: int = 12,
                   min_snr: float = MIN_BIN_SNR) -> dict[str, Any]:
    """Centroid per wavelength bin, as sky offsets (mas) from the band-averaged position, with
    each bin's noise and S/N, and the bins without a centroid and why.

    The centroid of each of ``n_bins`` wavelength-bin images (:func:`binned_images`) is found
    with :func:`centroid`, starting from the centroid of their mean. Its noise (propagated from
    the bin's background scatter, see :func:`_moment`) is projected on the sky with the cube's
    local pixel scale. A bin with no data, no positive flux in the window, or a centroid whose
    sky position is NaN (outside the cube's WCS, where noise dragged it) is left out and listed
    in ``excluded`` with its reason; a bin whose window S/N is below ``min_snr`` is kept but
    flagged ``noise_dominated``, its noise raised to at least half the window radius (the
    spread of a first moment of pure noise over a disc).

    Parameters
    ----------
    data : numpy.ndarray, shape (n_wave, ny, nx)
        The cube.
    wave_um : numpy.ndarray
        Wavelength of each plane (µm).
    pixel_to_sky : callable
        ``pixel_to_sky(x, y, wave_um) -> (ra_deg, dec_deg)``.
    radius_pix : float
        Centroid window radius (pixels).
    n_bins : int
        Number of wavelength bins.
    min_snr : float
        Window S/N below which a bin is noise-dominated.

    Returns
    -------
    dict
        Per bin with a sky position: ``wavelength_um``, ``x``, ``y`` (pixels), ``east_mas``,
        ``north_mas`` (offsets of each bin's centroid from the mean, east = +RA·cos δ),
        ``sigma_east_mas``, ``sigma_north_mas``, ``snr``, ``noise_dominated``; and
        ``band_um`` (first and last wavelength with data), ``excluded`` (``"<λ> um: reason"``
        per bin left out), ``bins_used``, ``bins``, ``min_snr``, ``window_radius_pix``.

    Examples
    --------
    A source moving 0.5 pixel in +x (to the east: RA grows with x here) over the band, in
    100 mas pixels:

    >>> yy, xx = np.mgrid[:25, :25]
    >>> wave = np.linspace(2.0, 3.0, 40)
    >>> cube = np.array([np.exp(-0.5 * ((xx - 12.0 - 0.5 * (w - 2.0)) ** 2 + (yy - 12.0) ** 2)
    ...                         / 1.2**2) for w in wave])
    >>> def pixel_to_sky(x, y, w):
    ...     return 10.0 + x * 0.1 / 3.6e3, y * 0.1 / 3.6e3
    >>> track = centroid_track(cube, wave, pixel_to_sky, radius_pix=5.0, n_bins=4)
    >>> expected_x = 12.0 + 0.5 * (track["wavelength_um"] - 2.0)  # each bin's mean position
    >>> float(np.abs(track["x"] - expected_x).max()) < 1e-3
    True
    >>> np.round(track["east_mas"], 1).tolist()
    [-19.2, -6.4, 6.4, 19.2]
    >>> track["excluded"], track["noise_dominated"].tolist()  # noiseless: S/N infinite
    ((), [False, False, False, False])
    """
    data = np.asarray(data)
    bins = wavelength_bins(data, wave_um, n_bins)
    wave_all = np.asarray(wave_um, dtype=float)
    planes = np.isfinite(data).reshape(data.shape[0], -1).any(axis=1)
    band = ((float(wave_all[planes][0]), float(wave_all[planes][-1])) if planes.any()
            else (_NAN, _NAN))
    excluded = [f"{w:.3f} um: no data (every plane NaN)"
                for w in bins.wavelength_um[~bins.has_data]]
    images = bins.images[bins.has_data]
    centres = bins.wavelength_um[bins.has_data]
    with np.errstate(all="ignore"):
        white = nanmean(images, axis=0) if len(images) else np.full(data.shape[1:], np.nan)
    start = centroid(white, radius_pix=radius_pix)
    found = [_moment(img, radius_pix=radius_pix, start=start) for img in images]
    xs = np.array([m.x for m in found], dtype=float)
    ys = np.array([m.y for m in found], dtype=float)
    sx = np.array([m.sigma_x for m in found], dtype=float)
    sy = np.array([m.sigma_y for m in found], dtype=float)
    snr = np.array([m.snr for m in found], dtype=float)
    for m, w in zip(found, centres, strict=True):
        if not np.isfinite(m.x):
            excluded.append(f"{w:.3f} um: {m.reason}")
    ok = np.isfinite(xs) & np.isfinite(ys)
    ra, dec = (np.asarray(v, dtype=float) for v in pixel_to_sky(xs[ok], ys[ok], centres[ok]))
    for x, y, w in zip(xs[ok][~np.isfinite(ra + dec)], ys[ok][~np.isfinite(ra + dec)],
                       centres[ok][~np.isfinite(ra + dec)], strict=True):
        excluded.append(f"{w:.3f} um: its centroid ({x:.1f}, {y:.1f}) has no sky position "
                        "(outside the cube's WCS)")
    sky = np.isfinite(ra) & np.isfinite(dec)
    keep = np.flatnonzero(ok)[sky]
    ra, dec = ra[sky], dec[sky]
    noisy = np.isfinite(snr[keep]) & (snr[keep] < min_snr)
    floor = 0.5 * radius_pix
    sx_k = np.where(noisy, np.fmax(sx[keep], floor), sx[keep])
    sy_k = np.where(noisy, np.fmax(sy[keep], floor), sy[keep])
    if keep.size:
        cos_dec = np.cos(np.deg2rad(dec.mean()))
        east = (ra - ra.mean()) * cos_dec * MAS_PER_DEG
        north = (dec - dec.mean()) * MAS_PER_DEG
        # the local pixel scale (mas per pixel along x and y) at each bin's wavelength
        px = start if np.all(np.isfinite(start)) else (float(xs[keep][0]), float(ys[keep][0]))
        base = np.full(keep.size, float(px[0])), np.full(keep.size, float(px[1]))
        r0, d0 = (np.asarray(v, dtype=float) for v in pixel_to_sky(*base, centres[keep]))
        rx, dx = (np.asarray(v, dtype=float) for v in pixel_to_sky(base[0] + 1, base[1],
                                                                   centres[keep]))
        ry, dy = (np.asarray(v, dtype=float) for v in pixel_to_sky(base[0], base[1] + 1,
                                                                   centres[keep]))
        e_x, n_x = (rx - r0) * cos_dec * MAS_PER_DEG, (dx - d0) * MAS_PER_DEG
        e_y, n_y = (ry - r0) * cos_dec * MAS_PER_DEG, (dy - d0) * MAS_PER_DEG
        sig_e, sig_n = np.hypot(e_x * sx_k, e_y * sy_k), np.hypot(n_x * sx_k, n_y * sy_k)
    else:
        east = north = sig_e = sig_n = np.array([])
    return {"wavelength_um": centres[keep], "x": xs[keep], "y": ys[keep], "east_mas": east,
            "north_mas": north, "sigma_east_mas": sig_e, "sigma_north_mas": sig_n,
            "snr": snr[keep], "noise_dominated": noisy, "band_um": band,
            "excluded": tuple(excluded), "bins_used": int(keep.size),
            "bins": int(bins.planes.size), "min_snr": float(min_snr),
            "window_radius_pix": float(radius_pix)}


_PLOTTED = ("wavelength_um", "x", "y", "east_mas", "north_mas", "sigma_east_mas",
            "sigma_north_mas", "snr", "noise_dominated")
"""The track's per-bin arrays that go into the drift's plot data."""


def centroid_drift(track: Mapping[str, Any], *, threshold_mas: float = 10.0) -> MetricResult:
    """Drift of the centroid over the band (NS-IFU06).

    Definition: straight lines fitted to the east and north offsets against wavelength, each
    bin weighted by its noise (``sigma_east_mas``, ``sigma_north_mas``; the fit's covariance
    scaled up by the reduced χ² when the bins scatter more than their noise, and by the scatter
    alone when the track carries no noise); the drift is the length of the fitted displacement
    over the band with data (``band_um``, the first to the last plane with data: the documented
    symptom is a drift "over a disperser's range"), the slope its rate (mas/µm); ``details``
    holds the vector, its noise and the peak-to-peak of the raw track.

    Bins flagged ``noise_dominated`` are left out while at least three others remain; with
    fewer, every bin is used, each noise-dominated one with its raised noise, so that the
    drift's uncertainty shows that the data cannot decide. Fewer than three bins with a
    centroid give a NaN drift (an error record) whose message lists each missing bin and why.

    Parameters
    ----------
    track : mapping
        A :func:`centroid_track` (at least ``wavelength_um``, ``east_mas``, ``north_mas``).
    threshold_mas : float
        Largest acceptable drift.

    Examples
    --------
    >>> wave = np.array([2.0, 2.25, 2.5, 2.75, 3.0])
    >>> track = {"wavelength_um": wave, "east_mas": 30.0 * (wave - 2.5),
    ...          "north_mas": -40.0 * (wave - 2.5)}
    >>> result = centroid_drift(track)
    >>> round(result.value, 6), result.verdict, round(result.details["slope_mas_per_um"], 6)
    (50.0, 'fail', 50.0)
    >>> few = centroid_drift({"wavelength_um": wave[:2], "east_mas": wave[:2],
    ...                       "north_mas": wave[:2], "excluded": ("2.500 um: no data",)})
    >>> few.verdict
    'error'
    >>> print(few.message)
    no drift measured: only 2 wavelength bins with a centroid (need 3); left out: 2.500 um: no data
    """
    wave = np.asarray(track["wavelength_um"], dtype=float)
    east = np.asarray(track["east_mas"], dtype=float)
    north = np.asarray(track["north_mas"], dtype=float)
    n_bins = int(track.get("bins", wave.size))
    excluded = list(track.get("excluded", ()))
    noisy = np.asarray(track.get("noise_dominated", np.zeros(wave.size, bool)), dtype=bool)
    sig_e = track.get("sigma_east_mas")
    sig_n = track.get("sigma_north_mas")
    plot = {k: np.asarray(track[k]) for k in _PLOTTED if k in track}
    evidence: dict[str, Any] = {"bins": n_bins, "excluded_bins": excluded}
    if wave.size < 3:
        evidence["bins_used"] = int(wave.size)
        return MetricResult(
            "NS-IFU06", "centroid_drift", _NAN, "mas", threshold_mas,
            message=(f"no drift measured: only {wave.size} wavelength bins with a centroid "
                     "(need 3)" + ("; left out: " + "; ".join(excluded) if excluded else "")),
            plot=plot, evidence=evidence)
    use = ~noisy
    all_noisy = int(use.sum()) < 3
    min_snr = float(track.get("min_snr", MIN_BIN_SNR))
    snr = np.asarray(track.get("snr", np.full(wave.size, np.nan)), dtype=float)
    if all_noisy:
        use = np.ones(wave.size, dtype=bool)
    else:
        excluded += [f"{w:.3f} um: noise-dominated (window S/N {s:.1f} < {min_snr:g})"
                     for w, s in zip(wave[noisy], snr[noisy], strict=True)]
    lo, hi = track.get("band_um", (wave[0], wave[-1]))
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        lo, hi = float(wave[0]), float(wave[-1])
    span = float(hi - lo)
    (se, _), cov_e, chi_e = _line(wave[use], east[use],
                                  None if sig_e is None else np.asarray(sig_e)[use])
    (sn, _), cov_n, chi_n = _line(wave[use], north[use],
                                  None if sig_n is None else np.asarray(sig_n)[use])
    de, dn = se * span, sn * span
    s_e, s_n = float(np.sqrt(cov_e[0, 0]) * span), float(np.sqrt(cov_n[0, 0]) * span)
    drift = float(np.hypot(de, dn))
    sigma = (float(np.hypot(de * s_e, dn * s_n) / drift) if drift > 0
             else float(np.sqrt(0.5 * (s_e**2 + s_n**2))))
    ptp = float(max(np.ptp(east[use]), np.ptp(north[use])))
    used = int(use.sum())
    evidence.update(bins_used=used, noise_dominated_bins=int(noisy.sum()),
                    band_um=[float(lo), float(hi)], chi2_red=[chi_e, chi_n])
    message = (f"centroid moves {drift:.1f} ± {sigma:.1f} mas over {lo:.2f}-{hi:.2f} um "
               f"(east {de:+.1f} ± {s_e:.1f}, north {dn:+.1f} ± {s_n:.1f} mas; "
               f"{drift / span:.1f} mas/um; {used} of {n_bins} wavelength bins)")
    if all_noisy:
        message += (f"; the source is noise-dominated (window S/N < {min_snr:g}) in "
                    f"{int(noisy.sum())} of the {wave.size} bins with a centroid: all are "
                    "used, each noise-dominated one with the noise of a centroid of noise")
    if excluded:
        message += "; left out: " + "; ".join(excluded)
    result = MetricResult(
        "NS-IFU06", "centroid_drift", drift, "mas", threshold_mas, message=message, plot=plot,
        details={"east_mas": float(de), "north_mas": float(dn), "sigma_east_mas": s_e,
                 "sigma_north_mas": s_n, "slope_mas_per_um": float(drift / span),
                 "peak_to_peak_mas": ptp, "band_um": (float(lo), float(hi))},
        uncertainty=sigma, evidence=evidence)
    if result.verdict == "undecided":
        result.message += (f"; its uncertainty (± {sigma:.1f} mas) is too large to decide "
                           f"against the {threshold_mas:.3g} mas limit")
    return result


def drift_recovery(drift: MetricResult, injected_mas: tuple[float, float], *,
                   tolerance_mas: float = 3.0) -> MetricResult:
    """|recovered − injected| drift vector (mas), with the recovered drift's uncertainty.

    Parameters
    ----------
    drift : MetricResult
        A :func:`centroid_drift` result (its east/north vector and their noise).
    injected_mas : (float, float)
        The injected drift (east, north mas) over the same band.
    tolerance_mas : float
        Largest acceptable error.

    Returns
    -------
    MetricResult
        ``drift_recovery_error``: NaN (an error record, with the drift's reason) when no drift
        was measured; undecided when the drift's own noise is too large for the tolerance.

    Examples
    --------
    >>> wave = np.array([2.0, 2.25, 2.5, 2.75, 3.0])
    >>> track = {"wavelength_um": wave, "east_mas": 12.0 * (wave - 2.5),
    ...          "north_mas": 16.0 * (wave - 2.5)}
    >>> error = drift_recovery(centroid_drift(track), (12.0, 16.0))
    >>> round(error.value, 6), error.verdict
    (0.0, 'pass')
    """
    ie, inn = (float(v) for v in injected_mas)
    if not np.isfinite(drift.value):
        return MetricResult("NS-IFU06", "drift_recovery_error", _NAN, "mas", tolerance_mas,
                            message=drift.message, evidence=dict(drift.evidence))
    de, dn = drift.details["east_mas"], drift.details["north_mas"]
    s_e, s_n = drift.details["sigma_east_mas"], drift.details["sigma_north_mas"]
    ex, nx_ = de - ie, dn - inn
    err = float(np.hypot(ex, nx_))
    sigma = (float(np.hypot(ex * s_e, nx_ * s_n) / err) if err > 0
             else float(np.sqrt(0.5 * (s_e**2 + s_n**2))))
    result = MetricResult(
        "NS-IFU06", "drift_recovery_error", err, "mas", tolerance_mas,
        message=(f"recovered drift ({de:+.1f} ± {s_e:.1f}, {dn:+.1f} ± {s_n:.1f}) mas vs "
                 f"injected ({ie:+.1f}, {inn:+.1f}) over {drift.details['band_um'][0]:.2f}-"
                 f"{drift.details['band_um'][1]:.2f} um"),
        details={"recovered": (de, dn), "injected": (ie, inn)}, uncertainty=sigma,
        evidence=dict(drift.evidence))
    if result.verdict == "undecided":
        result.message += (f"; the recovered drift's uncertainty (± {sigma:.1f} mas) is too "
                           f"large to decide against {tolerance_mas:.3g} mas")
    return result


def _line(x: np.ndarray, y: np.ndarray, sigma: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray, float]:
    """Straight-line fit ``(slope, intercept)``, its covariance and the reduced χ².

    With a positive, finite noise per point, a weighted fit whose covariance is scaled by the
    reduced χ² when that exceeds 1 (the points scatter more than their noise: correlated
    noise, or a track that is not a line); otherwise (no noise given, or a noiseless one) an
    unweighted fit scaled by the scatter of the points about it (zero for points exactly on a
    line; the χ² is then NaN)."""
    design = np.vstack([x, np.ones_like(x)]).T
    dof = max(x.size - 2, 1)
    if sigma is not None and np.all(np.isfinite(sigma)) and np.all(np.asarray(sigma) > 0):
        w = 1.0 / np.asarray(sigma, dtype=float) ** 2
        cov0 = np.linalg.inv(design.T @ (design * w[:, None]))
        coeff = cov0 @ (design.T @ (w * y))
        chi2 = float(np.sum(w * (y - design @ coeff) ** 2) / dof)
        return coeff, cov0 * max(1.0, chi2), chi2
    coeff = np.polyfit(x, y, 1)
    resid = y - np.polyval(coeff, x)
    scale = float(np.sum(resid**2) / dof)
    cov = np.linalg.inv(design.T @ design) * scale
    return coeff, cov, _NAN


def extraction_centring(white_light: np.ndarray, extraction_xy: tuple[float, float],
                        spaxel_mas: float, *, radius_pix: float, aperture_radius_pix: float,
                        offset_threshold_mas: float = 30.0,
                        flux_loss_threshold_percent: float = 2.0) -> tuple[MetricResult,
                                                                           MetricResult]:
    """Offset of the extraction aperture from the source, and the flux it loses (NS-IFU04).

    Definitions: the offset (mas) between the x1d's extraction centre and the centroid of the
    cube's white-light image; the flux loss ``1 − F(aperture at the extraction centre) /
    F(same aperture at the centroid)`` in percent (apertures of :func:`aperture_flux`).

    Parameters
    ----------
    white_light : numpy.ndarray
        White-light image of the cube.
    extraction_xy : (float, float)
        The x1d's extraction centre (x, y) in spaxels.
    spaxel_mas : float
        Spaxel size (mas).
    radius_pix : float
        Centroid window radius (spaxels).
    aperture_radius_pix : float
        Extraction aperture radius (spaxels).

    Returns
    -------
    (MetricResult, MetricResult)
        ``extraction_offset`` (mas) and ``extraction_flux_loss`` (%).

    Examples
    --------
    A source at (12, 12) and an extraction 1.5 spaxels away, in 100 mas spaxels:

    >>> yy, xx = np.mgrid[:25, :25]
    >>> image = np.exp(-0.5 * ((xx - 12.0) ** 2 + (yy - 12.0) ** 2) / 1.2**2)
    >>> offset, loss = extraction_centring(image, (13.5, 12.0), 100.0, radius_pix=5.0,
    ...                                    aperture_radius_pix=2.5)
    >>> round(offset.value, 1), offset.verdict, loss.verdict
    (150.0, 'fail', 'fail')
    >>> bool(10.0 < loss.value < 30.0)
    True
    """
    cx, cy = centroid(white_light, radius_pix=radius_pix)
    ex, ey = extraction_xy
    offset = float(np.hypot(ex - cx, ey - cy) * spaxel_mas)
    f_ext = aperture_flux(white_light, (ex, ey), aperture_radius_pix)
    f_src = aperture_flux(white_light, (cx, cy), aperture_radius_pix)
    loss = float((1.0 - f_ext / f_src) * 100.0) if f_src > 0 else float("nan")
    plot = {"image": white_light, "centroid_xy": (cx, cy), "extraction_xy": (ex, ey),
            "aperture_radius_pix": aperture_radius_pix}
    return (
        MetricResult("NS-IFU04", "extraction_offset", offset, "mas", offset_threshold_mas,
                     message=f"aperture centre {offset:.0f} mas from the source centroid",
                     plot=plot, details={"centroid_xy": (cx, cy)}),
        MetricResult("NS-IFU04", "extraction_flux_loss", loss, "%",
                     flux_loss_threshold_percent,
                     message=f"the aperture at the extraction centre collects {loss:.1f} % less "
                             "flux than the same aperture on the source", plot=plot),
    )
