"""Cube metrics: centroid track (NS-IFU06), PSF-peak holes (NS-IFU01) and extraction centring
(NS-IFU04). Arrays in, :class:`MetricResult` out; the cube's sky geometry enters only through
a callable ``pixel_to_sky(x, y, wave) -> (ra_deg, dec_deg)`` (e.g. an IFUCubeModel's
``meta.wcs``), so the same code serves NIRSpec and MIRI cubes."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from ifuqa.metrics import nanstat
from ifuqa.metrics.result import MetricResult

__all__ = ["aperture_flux", "aperture_snr", "binned_images", "centroid", "centroid_drift",
           "centroid_track", "curve_of_growth", "extraction_centring",
           "peak_depth_against_reference", "peak_hole"]

MAS_PER_DEG = 3.6e6


def binned_images(data: np.ndarray, wave_um: np.ndarray, n_bins: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Collapse a cube into ``n_bins`` white-light images (NaN-ignoring mean per bin)."""
    nwave = data.shape[0]
    edges = np.linspace(0, nwave, n_bins + 1).astype(int)
    images, centres = [], []
    for a, b in itertools.pairwise(edges):
        with np.errstate(all="ignore"):
            images.append(nanstat.nanmean(data[a:b], axis=0))
        centres.append(float(np.mean(wave_um[a:b])))
    return np.array(images), np.array(centres)


def aperture_flux(image: np.ndarray, center: tuple[float, float], radius_pix: float) -> float:
    """Sum of an image in a circular aperture (photutils exact overlap, NaNs as 0)."""
    from photutils.aperture import CircularAperture

    weights = CircularAperture(center, radius_pix).to_mask(method="exact").to_image(image.shape)
    return float(np.nansum(np.where(np.isfinite(image), image, 0.0) * weights))


def aperture_snr(image: np.ndarray, center: tuple[float, float], radius_pix: float, *,
                 background_beyond_pix: float | None = None) -> float:
    """Signal-to-noise of an aperture sum: the sum over the background noise, estimated as the
    robust scatter of the pixels beyond ``background_beyond_pix`` (default ``3 × radius_pix``)
    times √(aperture area)."""
    img = np.asarray(image, dtype=float)
    ny, nx = img.shape
    yy, xx = np.mgrid[:ny, :nx]
    beyond = 3 * radius_pix if background_beyond_pix is None else background_beyond_pix
    far = (np.hypot(xx - center[0], yy - center[1]) > beyond) & np.isfinite(img)
    if far.sum() < 20:
        return float("nan")
    values = img[far]
    med = np.median(values)
    sigma = 1.4826 * np.median(np.abs(values - med))
    signal = aperture_flux(img - med, center, radius_pix)
    noise = sigma * np.sqrt(np.pi * radius_pix**2)
    return float(signal / noise) if noise > 0 else float("inf")


def centroid(image: np.ndarray, *, radius_pix: float, start: tuple[float, float] | None = None,
             iterations: int = 8, inner_radius_pix: float = 0.0) -> tuple[float, float]:
    """Background-subtracted first-moment centroid in an iterated circular window.

    The background (median of the pixels outside ``2 × radius_pix`` of the start) is removed,
    then the centroid is recomputed in a circular window (exact photutils weights) around the
    previous estimate until it moves < 1e-4 pixel. For pixel-integrated data the first moment
    of a window containing the PSF is unbiased; the window radius should be ≥ 2.5 FWHM. With
    ``inner_radius_pix`` the window is an annulus: the position comes from the PSF's wings
    alone, blind to whatever happened to its core (a hole).
    """
    from photutils.aperture import CircularAperture

    img = np.where(np.isfinite(image), image, 0.0)
    ny, nx = img.shape
    yy, xx = np.mgrid[:ny, :nx]
    if start is None:
        smooth = img.copy()
        y0, x0 = np.unravel_index(np.argmax(smooth), smooth.shape)
        start = (float(x0), float(y0))
    far = np.hypot(xx - start[0], yy - start[1]) > 2 * radius_pix
    bkg = float(np.median(img[far])) if far.sum() > 10 else 0.0
    img = img - bkg
    cx, cy = start
    for _ in range(iterations):
        w = CircularAperture((cx, cy), radius_pix).to_mask(method="exact").to_image(img.shape)
        if inner_radius_pix > 0:
            w = w - CircularAperture((cx, cy), inner_radius_pix).to_mask(
                method="exact").to_image(img.shape)
        total = float((w * img).sum())
        if total <= 0:
            break
        nx_, ny_ = float((w * img * xx).sum() / total), float((w * img * yy).sum() / total)
        moved = np.hypot(nx_ - cx, ny_ - cy)
        cx, cy = nx_, ny_
        if moved < 1e-4:
            break
    return cx, cy


def centroid_track(data: np.ndarray, wave_um: np.ndarray,
                   pixel_to_sky: Callable, *, radius_pix: float, n_bins: int = 12
                   ) -> dict[str, np.ndarray]:
    """Centroid per wavelength bin, as sky offsets (mas) from the band-averaged position.

    Returns
    -------
    dict
        ``wavelength_um``, ``x``, ``y`` (pixels), ``east_mas``, ``north_mas`` (offsets of each
        bin's centroid from the mean, east = +RA·cos δ).
    """
    images, centres = binned_images(data, wave_um, n_bins)
    with np.errstate(all="ignore"):
        white = nanstat.nanmean(images, axis=0)
    start = centroid(white, radius_pix=radius_pix)
    xs, ys = [], []
    for img in images:
        x, y = centroid(img, radius_pix=radius_pix, start=start)
        xs.append(x)
        ys.append(y)
    xs, ys = np.array(xs), np.array(ys)
    ra, dec = pixel_to_sky(xs, ys, centres)
    ra, dec = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
    east = (ra - ra.mean()) * np.cos(np.deg2rad(dec.mean())) * MAS_PER_DEG
    north = (dec - dec.mean()) * MAS_PER_DEG
    return {"wavelength_um": centres, "x": xs, "y": ys, "east_mas": east, "north_mas": north}


def centroid_drift(track: dict[str, np.ndarray], *, threshold_mas: float = 30.0) -> MetricResult:
    """Drift of the centroid over the band (NS-IFU06).

    Definition: straight lines fitted to the east and north offsets against wavelength; the
    drift is the length of the fitted displacement between the first and last bin (mas), the
    slope its rate (mas/µm); ``details`` holds the vector and the peak-to-peak of the raw track.
    """
    wave = track["wavelength_um"]
    span = float(wave[-1] - wave[0])
    se = np.polyfit(wave, track["east_mas"], 1)[0]
    sn = np.polyfit(wave, track["north_mas"], 1)[0]
    de, dn = se * span, sn * span
    drift = float(np.hypot(de, dn))
    ptp = float(max(np.ptp(track["east_mas"]), np.ptp(track["north_mas"])))
    return MetricResult(
        "NS-IFU06", "centroid_drift", drift, "mas", threshold_mas,
        message=(f"centroid moves {drift:.1f} mas over {wave[0]:.2f}-{wave[-1]:.2f} um "
                 f"(east {de:+.1f}, north {dn:+.1f} mas; {drift / span:.1f} mas/um)"),
        plot={k: np.asarray(v) for k, v in track.items()},
        details={"east_mas": float(de), "north_mas": float(dn),
                 "slope_mas_per_um": float(drift / span), "peak_to_peak_mas": ptp})


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
        white = nanstat.nanmean(images, axis=0)
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
        profiles.append(np.array([nanstat.nanmean(vals[idx == k]) if np.any(idx == k) else np.nan
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


def extraction_centring(white_light: np.ndarray, extraction_xy: tuple[float, float],
                        spaxel_mas: float, *, radius_pix: float, aperture_radius_pix: float,
                        offset_threshold_mas: float = 30.0,
                        flux_loss_threshold_percent: float = 2.0) -> tuple[MetricResult,
                                                                           MetricResult]:
    """Offset of the extraction aperture from the source, and the flux it loses (NS-IFU04).

    Definitions: the offset (mas) between the x1d's extraction centre and the centroid of the
    cube's white-light image; the flux loss ``1 − F(aperture at the extraction centre) /
    F(same aperture at the centroid)`` in percent.
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


def curve_of_growth(images: np.ndarray, wave_um: np.ndarray, spectrum_jy: np.ndarray,
                    center: tuple[float, float], fwhm_pix: np.ndarray, jy_per_unit: float,
                    encircled_energy: Callable[[float, float], float], *,
                    radii_fwhm: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0),
                    judge_fwhm: float = 3.0, noise_percent: np.ndarray | None = None,
                    threshold_percent: float = 3.0) -> MetricResult:
    """The x1d against the total flux from the cube's curve of growth (NS-IFU04 and flux
    bookkeeping between cube and spectrum, no truth needed).

    Definition: in each wavelength-bin image, the enclosed flux ``F(r)`` in circular apertures
    of radius ``r`` (multiples of the PSF FWHM) around the source, in Jy, divided by the PSF's
    encircled energy ``EE(r)`` gives the total flux implied at each radius (the curve of
    growth, aperture-corrected). The metric is the largest ``|x1d / (F(r*) / EE(r*)) − 1|`` over
    the bins, in percent, at ``r* = judge_fwhm`` FWHM (large enough that the correction is a
    few percent and barely model-dependent). An x1d extracted off the source, with a wrong
    aperture correction or a unit slip falls short of (or overshoots) the cube's total.
    Bins whose total is noisier than a third of the threshold are not judged.

    Parameters
    ----------
    images : numpy.ndarray, shape (n_bins, ny, nx)
        Wavelength-bin images of the cube, in the cube's unit.
    wave_um : numpy.ndarray
        Centre wavelength of each bin (µm).
    spectrum_jy : numpy.ndarray
        The x1d's mean flux density in each bin (Jy).
    center : (float, float)
        Source position (x, y) in spaxels.
    fwhm_pix : numpy.ndarray
        PSF FWHM in spaxels at each bin.
    jy_per_unit : float
        Jy per (cube unit × spaxel): the spaxel solid angle × 1e6 for MJy/sr, 1e6 for MJy.
    encircled_energy : callable
        ``encircled_energy(wave_um, radius_fwhm) -> fraction`` of the PSF.
    noise_percent : numpy.ndarray, optional
        1-sigma noise of each bin's total at ``judge_fwhm`` (% of the total).
    """
    radii = np.asarray(radii_fwhm, dtype=float)
    totals = np.full((len(images), radii.size), np.nan)
    for k, img in enumerate(images):
        for j, r in enumerate(radii):
            ee = encircled_energy(float(wave_um[k]), float(r))
            totals[k, j] = aperture_flux(img, center, r * fwhm_pix[k]) * jy_per_unit / ee
    judge = int(np.argmin(np.abs(radii - judge_fwhm)))
    spec = np.asarray(spectrum_jy, dtype=float)
    with np.errstate(all="ignore"):
        deviation = (spec / totals[:, judge] - 1.0) * 100.0
    noise = (np.zeros(len(images)) if noise_percent is None
             else np.asarray(noise_percent, dtype=float))
    judged = np.isfinite(deviation) & (noise <= threshold_percent / 3.0)
    plot = {"cog_radius_fwhm": radii, "cog_total_jy": totals, "cog_wavelength_um": wave_um,
            "x1d_jy": spec, "judge_fwhm": float(radii[judge])}
    if not judged.any():
        return MetricResult("NS-IFU04", "x1d_vs_curve_of_growth", float("nan"), "%",
                            threshold_percent, message="no wavelength bin with a total flux "
                            f"known to better than {threshold_percent / 3:.2g} %", plot=plot,
                            details={"noise_percent": noise})
    worst = int(np.nanargmax(np.where(judged, np.abs(deviation), -np.inf)))
    value = float(abs(deviation[worst]))
    return MetricResult(
        "NS-IFU04", "x1d_vs_curve_of_growth", value, "%", threshold_percent,
        message=(f"x1d {deviation[worst]:+.1f} % against the cube's aperture-corrected total "
                 f"within {radii[judge]:g} FWHM at {wave_um[worst]:.3f} um "
                 f"({int(judged.sum())} of {len(images)} bins judged)"),
        plot=plot, details={"deviation_percent": deviation, "noise_percent": noise})
