"""Spectral metrics: flux conservation against truth, wiggles (NS-IFU05), low-frequency
undulation and negative flux (NS-IFU03)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ifuqa.metrics.result import MetricResult
from ifuqa.util.stats import mad_std_about_zero, nanmedian

__all__ = ["band_limited_amplitude", "convolve_to_resolution", "flux_ratio",
           "flux_scale_dependence", "negative_flux_fraction", "smooth_continuum",
           "undulation_amplitude", "wiggle_amplitude"]


def convolve_to_resolution(wave_um: np.ndarray, flux: np.ndarray,
                           resolving_power: float) -> np.ndarray:
    """A true spectrum convolved with a Gaussian line-spread function of resolving power ``R``.

    The truth grid need not be uniform: the spectrum is resampled to a uniform grid in
    ``ln λ`` (where the LSF has constant width), smoothed, and interpolated back.

    Examples
    --------
    A continuum is unchanged; a narrow line keeps its integral and is spread to FWHM λ/R:

    >>> wave = np.linspace(4.0, 4.1, 2001)
    >>> line = 1.0 + 50.0 * (np.abs(wave - 4.05) < 2.6e-5)
    >>> smooth = convolve_to_resolution(wave, line, 2700.0)
    >>> round(float(np.trapezoid(smooth - 1, wave) / np.trapezoid(line - 1, wave)), 3)
    1.0
    >>> bool(np.allclose(convolve_to_resolution(wave, np.ones_like(wave), 2700.0), 1.0))
    True
    """
    wave = np.asarray(wave_um, dtype=float)
    loglam = np.log(wave)
    step = np.min(np.diff(loglam)) if wave.size > 1 else 1.0
    grid = np.arange(loglam[0], loglam[-1] + step / 2, step)
    resampled = np.interp(grid, loglam, flux)
    sigma = (1.0 / resolving_power) / 2.3548 / step
    return np.interp(loglam, grid, gaussian_filter1d(resampled, sigma, mode="nearest"))


def flux_ratio(wave_um: np.ndarray, flux_jy: np.ndarray, true_wave_um: np.ndarray,
               true_flux_jy: np.ndarray, *, resolving_power: float | None = None,
               n_bins: int = 20, edge_fraction: float = 0.03,
               threshold_percent: float = 2.0) -> MetricResult:
    """Extracted / true flux of a point source across the band (NS-IFU02).

    Definition: the true spectrum, convolved to the instrument's resolving power, is
    interpolated onto the extracted wavelengths; both are summed in ``n_bins`` equal wavelength
    bins (trimming ``edge_fraction`` of the band at each end, where cube planes are partial);
    the metric is the largest ``|Σ extracted / Σ true − 1|`` over the bins, in percent.

    Returns
    -------
    MetricResult
        ``value`` in %, ``plot`` with ``wavelength_um`` and ``ratio`` (per plane) and
        ``bin_wavelength_um`` / ``bin_ratio``; ``details['median_ratio']``.

    Examples
    --------
    >>> truth_wave = np.linspace(3.6, 4.1, 501)
    >>> wave = np.linspace(3.7, 4.0, 300)
    >>> result = flux_ratio(wave, np.full(300, 0.0203), truth_wave, np.full(501, 0.02))
    >>> round(result.value, 6), result.verdict, round(result.details["median_ratio"], 6)
    (1.5, 'pass', 1.015)
    """
    wave = np.asarray(wave_um, dtype=float)
    flux = np.asarray(flux_jy, dtype=float)
    truth = np.asarray(true_flux_jy, dtype=float)
    if resolving_power:
        truth = convolve_to_resolution(true_wave_um, truth, resolving_power)
    ref = np.interp(wave, true_wave_um, truth, left=np.nan, right=np.nan)
    lo, hi = np.nanmin(wave), np.nanmax(wave)
    span = hi - lo
    keep = (np.isfinite(flux) & np.isfinite(ref) & (wave >= lo + edge_fraction * span)
            & (wave <= hi - edge_fraction * span))
    if keep.sum() < n_bins:
        return MetricResult("NS-IFU02", "flux_ratio_deviation", float("nan"), "%",
                            threshold_percent, message="too few valid wavelengths")
    edges = np.linspace(wave[keep].min(), wave[keep].max(), n_bins + 1)
    index = np.clip(np.digitize(wave[keep], edges) - 1, 0, n_bins - 1)
    num = np.bincount(index, flux[keep], n_bins)
    den = np.bincount(index, ref[keep], n_bins)
    bin_ratio = num / den
    worst = float(np.nanmax(np.abs(bin_ratio - 1.0)) * 100.0)
    median = float(nanmedian(flux[keep] / ref[keep]))
    return MetricResult(
        "NS-IFU02", "flux_ratio_deviation", worst, "%", threshold_percent,
        message=f"extracted/true flux: median {median:.4f}, worst bin off by {worst:.2f} %",
        plot={"wavelength_um": wave, "ratio": flux / ref,
              "bin_wavelength_um": 0.5 * (edges[1:] + edges[:-1]), "bin_ratio": bin_ratio},
        details={"median_ratio": median})


def flux_scale_dependence(ratio_by_scale: dict[float, float], *,
                          threshold_percent: float = 3.0,
                          binned_by_scale: dict[float, tuple[np.ndarray | None,
                                                             np.ndarray | None]] | None = None,
                          ) -> MetricResult:
    """Spread of the extracted/true flux ratio across output spaxel scales (NS-IFU02).

    Definition: ``(max − min) / mean`` of the median ratios measured at each spaxel scale,
    in percent. With point sources in surface brightness the spread is a calibration-free
    ~0; with flux-density input it follows the spaxel area.

    ``binned_by_scale`` (scale → binned wavelengths µm and extracted/true ratios, e.g. the
    ``bin_wavelength_um``/``bin_ratio`` plot data of :func:`flux_ratio`) only feeds the plot:
    ``plot['scale_wavelength_um']`` and ``plot['scale_bin_ratio']``, one NaN-padded row per
    scale of ``plot['spaxel_arcsec']``.

    Examples
    --------
    >>> round(flux_scale_dependence({0.05: 0.99, 0.1: 1.0, 0.2: 1.01}).value, 6)
    2.0
    >>> flux_scale_dependence({0.05: 4.0, 0.1: 1.0, 0.2: 0.25}).verdict  # flux density
    'fail'
    """
    scales = sorted(ratio_by_scale)
    values = np.array([ratio_by_scale[s] for s in scales], dtype=float)
    spread = float((values.max() - values.min()) / values.mean() * 100.0)
    plot = {"spaxel_arcsec": np.array(scales), "ratio": values}
    if binned_by_scale:
        rows = [binned_by_scale.get(s, (None, None)) for s in scales]
        width = max((len(w) for w, _ in rows if w is not None), default=0)
        waves = np.full((len(scales), width), np.nan)
        ratios = np.full((len(scales), width), np.nan)
        for i, (w, r) in enumerate(rows):
            if w is not None and r is not None:
                waves[i, :len(w)] = w
                ratios[i, :len(r)] = r
        plot.update(scale_wavelength_um=waves, scale_bin_ratio=ratios)
    return MetricResult(
        "NS-IFU02", "flux_vs_spaxel_scale", spread, "%", threshold_percent,
        message="extracted/true ratio per spaxel scale: "
                + ", ".join(f'{s:g}": {v:.3f}' for s, v in zip(scales, values, strict=True)),
        plot=plot,
        details={"ratio_by_scale": {str(s): float(v) for s, v in zip(scales, values,
                                                                     strict=True)}})


def _reflect_pad(values: np.ndarray) -> np.ndarray:
    return np.concatenate([values[::-1], values, values[::-1]])


def band_limited_amplitude(wave_um: np.ndarray, relative: np.ndarray,
                           band_cycles_per_um: tuple[float, float]
                           ) -> tuple[float, float, np.ndarray, float]:
    """Sinusoid-equivalent amplitude of the part of ``relative`` inside a frequency band.

    ``relative`` (a fractional residual on a uniform wavelength grid, NaNs interpolated over) is
    mirror-padded to avoid edge ringing, Fourier band-passed to ``band_cycles_per_um`` and its rms
    ``σ`` converted to the amplitude of a sinusoid of the same power, ``√2 σ``. The noise in the
    band is estimated from the mean power in the octave just above it (where wiggles and
    undulations have little power but noise — white, or correlated over a few planes by cube
    building — is still present), scaled to the band's width, and removed in quadrature.

    Returns
    -------
    amplitude, noise_amplitude, band_passed, detection
        Noise-corrected amplitude and the noise's own contribution (both fractional), the
        band-passed residual, and the Fourier-ratio detection statistic (band power over the
        noise expectation).

    Notes
    -----
    When the band reaches the Nyquist frequency there is no octave above it; the noise is then
    the point-to-point scatter, :func:`ifuqa.util.stats.mad_std_about_zero` of the differences
    of neighbouring samples over √2.

    Examples
    --------
    A noiseless 1 % sinusoid at 20 cycles/µm (its leakage into the octave above the band is
    taken for noise, a 0.03 % amplitude):

    >>> wave = np.linspace(3.7, 4.0, 600)
    >>> amp, noise, band, ratio = band_limited_amplitude(
    ...     wave, 0.01 * np.sin(2 * np.pi * 20.0 * wave), (5.0, 50.0))
    >>> round(amp, 3), round(noise, 4), bool(ratio > 100)
    (0.01, 0.0003, True)
    """
    wave = np.asarray(wave_um, dtype=float)
    rel = np.asarray(relative, dtype=float).copy()
    bad = ~np.isfinite(rel)
    if bad.all():
        return float("nan"), float("nan"), rel, float("nan")
    if bad.any():
        rel[bad] = np.interp(wave[bad], wave[~bad], rel[~bad])
    step = float(np.median(np.diff(wave)))
    n = rel.size
    padded = _reflect_pad(rel - rel.mean())
    freq = np.fft.rfftfreq(padded.size, d=step)
    spectrum = np.fft.rfft(padded)
    inside = (freq >= band_cycles_per_um[0]) & (freq <= band_cycles_per_um[1])
    band = np.fft.irfft(np.where(inside, spectrum, 0.0), n=padded.size)[n:2 * n]
    var_band = float(np.mean(band**2))
    power = np.abs(spectrum) ** 2
    above = (freq > band_cycles_per_um[1]) & (freq <= 2.0 * band_cycles_per_um[1])
    if above.sum() < 3:  # band reaches Nyquist: fall back to the point-to-point scatter
        sigma = mad_std_about_zero(np.diff(rel)) / np.sqrt(2.0)
        nyquist = 0.5 / step
        frac = (min(band_cycles_per_um[1], nyquist) - band_cycles_per_um[0]) / nyquist
        var_noise = sigma**2 * max(frac, 0.0)
    else:
        # Parseval: band variance = 2 Σ_band |X|² / N²  (one-sided, N = padded length)
        var_noise = 2.0 * float(np.mean(power[above])) * int(inside.sum()) / padded.size**2
    amplitude = float(np.sqrt(2.0 * max(var_band - var_noise, 0.0)))
    detection = var_band / var_noise if var_noise > 0 else float("inf")
    return amplitude, float(np.sqrt(2.0 * var_noise)), band, detection


def _detrend(wave: np.ndarray, values: np.ndarray, degree: int) -> np.ndarray:
    ok = np.isfinite(values)
    x = (wave - wave.mean()) / max(np.ptp(wave), 1e-12)
    coeff = np.polyfit(x[ok], values[ok], degree)
    return values / np.polyval(coeff, x) - 1.0


def wiggle_amplitude(wave_um: np.ndarray, spectrum: np.ndarray,
                     reference: np.ndarray | None = None, *,
                     band_cycles_per_um: tuple[float, float] = (5.0, 50.0),
                     threshold_percent: float = 1.0, label: str = "spectrum") -> MetricResult:
    """Fractional wiggle amplitude of a spectrum (NS-IFU05).

    Definition: ``spectrum / reference`` (reference: an aperture spectrum on the same grid, or the
    LSF-convolved truth; without one the spectrum itself) divided by a cubic polynomial
    continuum, minus 1; its band-limited (5–50 cycles/µm by default) amplitude from
    :func:`band_limited_amplitude`, noise-corrected, in percent of the continuum.

    Returns
    -------
    MetricResult
        ``value`` in %; ``plot`` has ``wavelength_um``, ``residual`` and ``wiggle`` (band-passed);
        ``details`` the noise amplitude and the Fourier-ratio detection statistic.

    Examples
    --------
    >>> wave = np.linspace(3.7, 4.0, 452)
    >>> continuum = 2.0 + 0.5 * (wave - 3.7)
    >>> spectrum = continuum * (1.0 + 0.02 * np.sin(2 * np.pi * 25.0 * wave))
    >>> result = wiggle_amplitude(wave, spectrum, continuum)
    >>> round(result.value, 1), result.verdict
    (2.0, 'fail')
    >>> round(wiggle_amplitude(wave, continuum, continuum).value, 6)
    0.0
    """
    wave = np.asarray(wave_um, dtype=float)
    values = np.asarray(spectrum, dtype=float)
    if reference is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = values / np.asarray(reference, dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    if np.isfinite(values).sum() < 32:
        return MetricResult("NS-IFU05", "wiggle_amplitude", float("nan"), "%",
                            threshold_percent, message=f"{label}: too few valid points")
    residual = _detrend(wave, values, 3)
    amp, noise, band, detection = band_limited_amplitude(wave, residual, band_cycles_per_um)
    return MetricResult(
        "NS-IFU05", "wiggle_amplitude", amp * 100.0, "%", threshold_percent,
        message=(f"{label}: {amp * 100:.2f} % wiggle amplitude in "
                 f"{band_cycles_per_um[0]:g}-{band_cycles_per_um[1]:g} cycles/um "
                 f"(noise {noise * 100:.2f} %, Fourier ratio {detection:.1f})"),
        plot={"wavelength_um": wave, "residual": residual, "wiggle": band},
        details={"noise_percent": noise * 100.0, "fourier_ratio": detection})


def undulation_amplitude(wave_um: np.ndarray, flux_jy: np.ndarray, *,
                         reference_jy: np.ndarray | None = None,
                         band_cycles_per_um: tuple[float, float] = (1.0, 20.0),
                         threshold_percent: float = 5.0) -> MetricResult:
    """Low-frequency undulation of an extracted spectrum (NS-IFU03, 1/f residuals).

    Definition: residual ``flux − reference`` (reference: the LSF-convolved truth, or without
    one a linear continuum fitted to the spectrum), band-passed to 1–20 cycles/µm, as a
    sinusoid-equivalent amplitude in percent of the median reference flux; plus the bias
    (median residual, %) in ``details``.

    Examples
    --------
    >>> wave = np.linspace(1.0, 1.8, 800)
    >>> reference = np.full(800, 1e-4)
    >>> flux = reference * (1.0 + 0.08 * np.sin(2 * np.pi * 3.0 * wave))
    >>> result = undulation_amplitude(wave, flux, reference_jy=reference)
    >>> round(result.value, 1), result.verdict
    (8.0, 'fail')
    """
    wave = np.asarray(wave_um, dtype=float)
    flux = np.asarray(flux_jy, dtype=float)
    ok = np.isfinite(flux)
    if ok.sum() < 32:
        return MetricResult("NS-IFU03", "undulation_amplitude", float("nan"), "%",
                            threshold_percent, message="too few valid points")
    if reference_jy is None:
        coeff = np.polyfit(wave[ok], flux[ok], 1)
        ref = np.polyval(coeff, wave)
    else:
        ref = np.asarray(reference_jy, dtype=float)
    level = float(nanmedian(np.abs(ref)))
    rel = (flux - ref) / level
    amp, noise, band, detection = band_limited_amplitude(wave, rel, band_cycles_per_um)
    bias = float(nanmedian(rel) * 100.0)
    return MetricResult(
        "NS-IFU03", "undulation_amplitude", amp * 100.0, "%", threshold_percent,
        message=(f"{amp * 100:.2f} % low-frequency undulation "
                 f"({band_cycles_per_um[0]:g}-{band_cycles_per_um[1]:g} cycles/um), "
                 f"bias {bias:+.2f} %"),
        plot={"wavelength_um": wave, "residual": rel, "undulation": band},
        details={"bias_percent": bias, "noise_percent": noise * 100.0,
                 "fourier_ratio": detection})


def smooth_continuum(wave_um: np.ndarray, flux_jy: np.ndarray, *, line_width_um: float = 0.01,
                     degree: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A continuum for spectra without truth: (line-cleaned flux, polynomial continuum).

    Narrow features (emission/absorption lines, spikes) are removed by a running median over
    ``line_width_um`` (≈ 100 cycles/µm, far above the 1–20 cycles/µm undulation band); the
    continuum is a polynomial of ``degree`` fitted to the cleaned flux (< 1 cycle over a band).
    Broad astrophysical features (ice bands, PAHs, molecular band heads) are not removed and
    count as undulation.

    Examples
    --------
    >>> wave = np.linspace(1.0, 1.8, 801)
    >>> flux = 2.0 + wave
    >>> flux[400] += 5.0  # a one-sample spike
    >>> cleaned, continuum = smooth_continuum(wave, flux)
    >>> round(float(cleaned[400]), 2), round(float(continuum[400]), 2)
    (3.4, 3.4)
    """
    from scipy.ndimage import median_filter

    wave = np.asarray(wave_um, dtype=float)
    flux = np.asarray(flux_jy, dtype=float)
    ok = np.isfinite(flux)
    step = float(np.median(np.diff(wave)))
    size = max(3, round(line_width_um / step) | 1)
    cleaned = np.full_like(flux, np.nan)
    cleaned[ok] = median_filter(flux[ok], size=size, mode="nearest")
    x = (wave - wave.mean()) / max(np.ptp(wave), 1e-12)
    coeff = np.polyfit(x[ok], cleaned[ok], degree)
    return cleaned, np.polyval(coeff, x)


def negative_flux_fraction(flux_jy: np.ndarray, err_jy: np.ndarray | None = None, *,
                           threshold_percent: float = 5.0) -> MetricResult:
    """Fraction of wavelengths with significantly negative flux (NS-IFU03 on a user's x1d).

    Definition: the percentage of finite samples with ``flux < −2 × error`` (or ``flux < 0``
    without errors); a source spectrum dragged negative by 1/f residuals shows many.

    Examples
    --------
    >>> flux = np.r_[np.ones(90), -np.ones(8), -0.1, -0.1]
    >>> result = negative_flux_fraction(flux, np.full(100, 0.1))  # -0.1 is not < -0.2
    >>> result.value, result.verdict
    (8.0, 'fail')
    """
    flux = np.asarray(flux_jy, dtype=float)
    ok = np.isfinite(flux)
    limit = 0.0 if err_jy is None else -2.0 * np.nan_to_num(np.asarray(err_jy, dtype=float))
    frac = float(np.mean(flux[ok] < (limit[ok] if np.ndim(limit) else limit)) * 100.0) \
        if ok.any() else float("nan")
    return MetricResult("NS-IFU03", "negative_flux_fraction", frac, "%", threshold_percent,
                        message=f"{frac:.1f} % of samples significantly negative")
