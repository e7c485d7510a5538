"""Spectral metrics: flux conservation against truth, wiggles (NS-IFU05), low-frequency
undulation and negative flux (NS-IFU03)."""

from __future__ import annotations

import itertools

import numpy as np
from astropy.stats import mad_std
from scipy.ndimage import gaussian_filter1d

from ifuqa.metrics.result import MetricResult
from ifuqa.util.stats import mad_std_about_zero, nanmedian

__all__ = ["additive_undulation", "amplitude_uncertainty", "band_limited_amplitude", "clip_spikes",
           "convolve_to_resolution", "error_scale", "flux_ratio", "flux_scale_dependence",
           "negative_flux_fraction", "periodic_wiggle_amplitude", "smooth_continuum",
           "source_significance",
           "undulation_amplitude", "uniform_spectrum", "wiggle_amplitude"]


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


def amplitude_uncertainty(amplitude: float, noise_amplitude: float, span_um: float,
                          band_cycles_per_um: tuple[float, float]) -> float:
    """Standard uncertainty of a noise-corrected band amplitude (same unit as the amplitude).

    The band's variance and the noise variance estimated from the octave above it are each sums
    of independent Fourier modes (``(f₂ − f₁) × span`` and ``f₂ × span`` of them, for a
    spectrum ``span`` µm long), so the excess variance carries a relative noise
    ``σ_v = v_noise √(1/k_band + 1/k_noise)``. In amplitude (``A² = 2 v``) that is
    ``√(A² + 2 σ_v) − A``: ``√(2 σ_v)`` for no signal, ``σ_v / A`` for a strong one.

    Parameters
    ----------
    amplitude, noise_amplitude : float
        Output of :func:`band_limited_amplitude` (fractional or %, the same for both).
    span_um : float
        Wavelength span of the spectrum (µm).
    band_cycles_per_um : (float, float)
        The band.

    Returns
    -------
    float

    Examples
    --------
    >>> round(amplitude_uncertainty(0.0, 1.0, 0.3, (5.0, 50.0)), 3)
    0.612
    >>> round(amplitude_uncertainty(10.0, 1.0, 0.3, (5.0, 50.0)), 4)
    0.0187
    """
    lo, hi = band_cycles_per_um
    k_band = max((hi - lo) * span_um, 1.0)
    k_noise = max(hi * span_um, 1.0)
    var_noise = 0.5 * noise_amplitude**2
    sigma_var = var_noise * np.sqrt(1.0 / k_band + 1.0 / k_noise)
    if not np.isfinite(sigma_var):
        return float("nan")
    return float(np.sqrt(amplitude**2 + 2.0 * sigma_var) - amplitude)


def uniform_spectrum(wave_um: np.ndarray, values: np.ndarray, *,
                     max_gap_steps: float = 3.0) -> tuple[np.ndarray, np.ndarray, dict]:
    """A spectrum on a uniform wavelength grid, as the Fourier band metrics need.

    Samples are sorted by wavelength, NaN samples dropped, and the rest linearly interpolated
    onto a grid with the median step. Where the original spectrum has a gap wider than
    ``max_gap_steps`` median steps (a detector gap, a masked band), the grid holds NaN (the band
    metrics interpolate over it, so a gap costs resolution, never a false wiggle).

    Parameters
    ----------
    wave_um, values : numpy.ndarray
        The spectrum (any grid).
    max_gap_steps : float
        Widest hole (in median steps) bridged by interpolation.

    Returns
    -------
    wave, values : numpy.ndarray
        The uniform grid and the spectrum on it.
    info : dict
        ``resampled`` (whether the grid was not uniform already), ``gaps`` (number of gaps),
        ``samples`` (valid samples used).

    Examples
    --------
    >>> w = np.array([1.0, 1.1, 1.2, 1.3, 2.0, 2.1, 2.2])
    >>> grid, v, info = uniform_spectrum(w, 2 * w)
    >>> round(float(grid[1] - grid[0]), 3), int(np.isnan(v).sum()) > 0, info["gaps"]
    (0.1, True, 1)
    """
    wave = np.asarray(wave_um, dtype=float)
    vals = np.asarray(values, dtype=float)
    ok = np.isfinite(wave) & np.isfinite(vals)
    order = np.argsort(wave[ok])
    w, v = wave[ok][order], vals[ok][order]
    if w.size < 4:
        return w, v, {"resampled": False, "gaps": 0, "samples": int(w.size)}
    steps = np.diff(w)
    step = float(np.median(steps[steps > 0]))
    uniform = bool(np.allclose(steps, step, rtol=1e-3)) and w.size == wave.size
    if uniform:
        return w, v, {"resampled": False, "gaps": 0, "samples": int(w.size)}
    grid = np.arange(w[0], w[-1] + 0.5 * step, step)
    out = np.interp(grid, w, v)
    gap_starts = np.flatnonzero(steps > max_gap_steps * step)
    for g in gap_starts:
        out[(grid > w[g]) & (grid < w[g + 1])] = np.nan
    return grid, out, {"resampled": True, "gaps": int(gap_starts.size), "samples": int(w.size)}


def clip_spikes(values: np.ndarray, *, window: int = 11, nsigma: float = 10.0) -> np.ndarray:
    """Set to NaN the samples that stand out from a running median by more than ``nsigma``
    robust standard deviations of the residuals (unflagged spikes: cosmic-ray residuals, bad
    pixels a few samples wide); narrow features a few σ high are kept.

    Examples
    --------
    >>> x = np.ones(40); x[20:24] = 1e6
    >>> clipped = clip_spikes(x)
    >>> int(np.isnan(clipped).sum()), float(np.nanmax(clipped))
    (4, 1.0)
    """
    from scipy.ndimage import median_filter

    vals = np.asarray(values, dtype=float).copy()
    ok = np.isfinite(vals)
    if ok.sum() < window:
        return vals
    smooth = median_filter(vals[ok], size=window, mode="nearest")
    resid = vals[ok] - smooth
    sigma = max(float(mad_std(resid)), 1e-300)
    bad = np.zeros(vals.shape, dtype=bool)
    bad[np.flatnonzero(ok)[np.abs(resid) > nsigma * sigma]] = True
    vals[bad] = np.nan
    return vals


def _finite_span(wave: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of a spectrum between its first and last finite sample (a cube's all-NaN band
    ends are not part of the measurement)."""
    idx = np.flatnonzero(np.isfinite(values))
    return wave[idx[0]:idx[-1] + 1], values[idx[0]:idx[-1] + 1]


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
    wave, values = _finite_span(wave, values)
    residual = _detrend(wave, values, 3)
    amp, noise, band, detection = band_limited_amplitude(wave, residual, band_cycles_per_um)
    sigma = amplitude_uncertainty(amp * 100.0, noise * 100.0, float(np.ptp(wave)),
                                  band_cycles_per_um)
    return MetricResult(
        "NS-IFU05", "wiggle_amplitude", amp * 100.0, "%", threshold_percent,
        message=(f"{label}: {amp * 100:.2f} ± {sigma:.2f} % wiggle amplitude in "
                 f"{band_cycles_per_um[0]:g}-{band_cycles_per_um[1]:g} cycles/um "
                 f"(noise {noise * 100:.2f} %, Fourier ratio {detection:.1f})"),
        plot={"wavelength_um": wave, "residual": residual, "wiggle": band},
        details={"noise_percent": noise * 100.0, "fourier_ratio": detection},
        uncertainty=sigma,
        evidence={"band_cycles_per_um": list(band_cycles_per_um),
                  "samples": int(np.isfinite(values).sum())})


def periodic_wiggle_amplitude(wave_um: np.ndarray, flux: np.ndarray, *,
                              band_cycles_per_um: tuple[float, float] = (5.0, 50.0),
                              threshold_percent: float = 1.0,
                              label: str = "spectrum") -> MetricResult:
    """Amplitude of the strongest sinusoid in a spectrum without a reference (NS-IFU05 on a
    user's x1d).

    A real spectrum has structure at every scale (lines, bands, fringe residuals), so the
    band-integrated power of :func:`wiggle_amplitude` cannot tell resampling wiggles from the
    source without a reference spectrum. Wiggles are periodic: here the relative residual about a
    cubic continuum is searched for its strongest sinusoid with
    :class:`astropy.timeseries.LombScargle` (any sampling, gaps allowed; the power of a sinusoid
    of amplitude ``A`` over ``N`` samples is ``N A² / 4`` in PSD normalisation), against the
    band's median power, which broadband structure raises as much as noise. Definition:
    ``A = √(A_peak² − A_floor²)`` with ``A_peak`` the amplitude at the highest peak and
    ``A_floor`` the highest amplitude noise alone reaches among the band's independent
    frequencies (median power / ln 2 × ln M); uncertainty the amplitude of the band's median
    power, in % of the continuum.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> wave = np.sort(rng.uniform(3.0, 3.5, 800))  # irregular sampling
    >>> flux = 1.0 + 0.01 * rng.normal(size=800)
    >>> clean = periodic_wiggle_amplitude(wave, flux)
    >>> bool(clean.value < 0.2), clean.verdict
    (True, 'pass')
    >>> wiggled = periodic_wiggle_amplitude(wave, flux + 0.03 * np.sin(2 * np.pi * 17.0 * wave))
    >>> round(wiggled.value, 1), wiggled.verdict, round(wiggled.details["frequency"])
    (2.9, 'fail', 17)
    """
    from astropy.timeseries import LombScargle

    wave = np.asarray(wave_um, dtype=float)
    values = np.asarray(flux, dtype=float)
    ok = np.isfinite(wave) & np.isfinite(values)
    if ok.sum() < 32:
        return MetricResult("NS-IFU05", "wiggle_amplitude", float("nan"), "%",
                            threshold_percent, message=f"{label}: too few valid points")
    wave, values = wave[ok], values[ok]
    order = np.argsort(wave)
    wave, values = wave[order], values[order]
    residual = _detrend(wave, values, 3)
    span = float(np.ptp(wave))
    lo, hi = band_cycles_per_um
    step = float(np.median(np.diff(wave)))
    hi = min(hi, 0.5 / step)  # the sampling's Nyquist frequency
    if hi <= lo:
        return MetricResult("NS-IFU05", "wiggle_amplitude", float("nan"), "%",
                            threshold_percent, message=f"{label}: sampling too coarse for "
                            f"{lo:g}-{band_cycles_per_um[1]:g} cycles/um")
    freq = np.arange(lo, hi, 1.0 / (5.0 * span))
    power = LombScargle(wave, residual, normalization="psd").power(freq)
    n = residual.size
    n_independent = max((hi - lo) * span, 2.0)
    floor_power = float(np.median(power)) / np.log(2.0)
    peak = int(np.argmax(power))
    amp_peak = 2.0 * np.sqrt(float(power[peak]) / n)
    amp_floor = 2.0 * np.sqrt(floor_power * np.log(n_independent) / n)
    amplitude = float(np.sqrt(max(amp_peak**2 - amp_floor**2, 0.0)) * 100.0)
    sigma = float(2.0 * np.sqrt(floor_power / n) * 100.0)
    return MetricResult(
        "NS-IFU05", "wiggle_amplitude", amplitude, "%", threshold_percent,
        message=(f"{label}: strongest sinusoid {amplitude:.2f} ± {sigma:.2f} % at "
                 f"{freq[peak]:.1f} cycles/um in {lo:g}-{hi:.3g} cycles/um "
                 f"(Lomb-Scargle, noise floor {amp_floor * 100:.2f} %)"),
        plot={"wavelength_um": wave, "residual": residual,
              "wiggle": (amp_peak * np.sin(2.0 * np.pi * freq[peak] * wave)
                         if amplitude > 0 else np.zeros_like(wave))},
        details={"frequency": float(freq[peak]), "noise_percent": amp_floor * 100.0},
        uncertainty=sigma,
        evidence={"band_cycles_per_um": [lo, hi], "samples": int(n),
                  "method": "Lomb-Scargle periodogram peak"})


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
    span = np.flatnonzero(ok)
    wave, flux, ref = (a[span[0]:span[-1] + 1] for a in (wave, flux, ref))
    level = float(nanmedian(np.abs(ref)))
    rel = (flux - ref) / level
    amp, noise, band, detection = band_limited_amplitude(wave, rel, band_cycles_per_um)
    sigma = amplitude_uncertainty(amp * 100.0, noise * 100.0, float(np.ptp(wave)),
                                  band_cycles_per_um)
    bias = float(nanmedian(rel) * 100.0)
    return MetricResult(
        "NS-IFU03", "undulation_amplitude", amp * 100.0, "%", threshold_percent,
        message=(f"{amp * 100:.2f} ± {sigma:.2f} % low-frequency undulation "
                 f"({band_cycles_per_um[0]:g}-{band_cycles_per_um[1]:g} cycles/um), "
                 f"bias {bias:+.2f} %"),
        plot={"wavelength_um": wave, "residual": rel, "undulation": band},
        details={"bias_percent": bias, "noise_percent": noise * 100.0,
                 "fourier_ratio": detection},
        uncertainty=sigma,
        evidence={"band_cycles_per_um": list(band_cycles_per_um),
                  "samples": int(np.isfinite(rel).sum())})


def additive_undulation(wave_um: np.ndarray, flux_jy: np.ndarray, *,
                        band_cycles_per_um: tuple[float, float] = (1.0, 20.0),
                        n_chunks: int = 8, threshold_percent: float = 5.0) -> MetricResult:
    """The additive part of a spectrum's low-frequency undulation, without truth (NS-IFU03 on
    a user's x1d).

    1/f read-noise residuals are *additive*: they add the same absolute undulation wherever the
    source is bright or faint, while the source's own broad features (molecular bands, slopes a
    smooth continuum misses) scale with its flux. The residual about a smooth continuum
    (:func:`smooth_continuum`) is band-passed to 1–20 cycles/µm, its rms measured in
    4 to ``n_chunks`` stretches of the band (each at least half a period of 1 cycle/µm long)
    in absolute units, and modelled as
    ``σ_k² = a² + (b c_k)²`` against each stretch's continuum level ``c_k`` (a least-squares fit
    in log σ). The metric is the additive amplitude ``√2 a`` (sinusoid-equivalent) in % of the
    spectrum's median level; its uncertainty comes from the fit, so a spectrum whose level
    barely changes — where additive and proportional structure cannot be told apart — gets a
    large one and an undecided verdict, never a false failure.

    Examples
    --------
    >>> wave = np.linspace(0.7, 5.2, 900)
    >>> star = 1e-3 * (wave / 0.7) ** -2.0 * (1 + 0.03 * np.sin(2 * np.pi * 2.5 * wave))
    >>> clean = additive_undulation(wave, star)
    >>> bool(clean.value < 1.0), clean.verdict
    (True, 'pass')
    >>> level = np.median(star)
    >>> affected = additive_undulation(wave, star + 0.1 * level * np.sin(2 * np.pi * 3 * wave))
    >>> bool(8.0 < affected.value < 12.0), affected.verdict
    (True, 'fail')
    """
    from scipy.optimize import least_squares

    wave = np.asarray(wave_um, dtype=float)
    flux = np.asarray(flux_jy, dtype=float)
    ok = np.isfinite(wave) & np.isfinite(flux)
    if ok.sum() < 32:
        return MetricResult("NS-IFU03", "undulation_amplitude", float("nan"), "%",
                            threshold_percent, message="too few valid points")
    grid, values, info = uniform_spectrum(wave[ok], flux[ok])
    cleaned, _ = smooth_continuum(grid, values)
    # the continuum: the cleaned flux low-passed below the band (a Gaussian of 1 / (2 pi f_lo))
    step = float(np.median(np.diff(grid)))
    filled = np.where(np.isfinite(cleaned), cleaned,
                      np.interp(grid, grid[np.isfinite(cleaned)], cleaned[np.isfinite(cleaned)]))
    continuum = gaussian_filter1d(filled, 1.0 / (2.0 * np.pi * band_cycles_per_um[0]) / step,
                                  mode="reflect")
    residual = cleaned - continuum
    _, _, band, _ = band_limited_amplitude(grid, residual, band_cycles_per_um)
    band = np.where(np.isfinite(residual), band, np.nan)
    # stretches of >= 1 / (2 f_lo) µm each hold at least half a period of the slowest undulation
    chunks = int(np.clip(np.floor(np.ptp(grid) * 2.0 * band_cycles_per_um[0]), 4, n_chunks))
    edges = np.linspace(0, grid.size, chunks + 1).astype(int)
    rms = np.array([np.sqrt(np.nanmean(band[a:b] ** 2)) for a, b in itertools.pairwise(edges)])
    level_k = np.array([np.nanmedian(np.abs(cleaned[a:b])) for a, b in itertools.pairwise(edges)])
    level = float(nanmedian(np.abs(cleaned)))
    use = np.isfinite(rms) & np.isfinite(level_k)
    if use.sum() < 4 or not level > 0:
        return MetricResult("NS-IFU03", "undulation_amplitude", float("nan"), "%",
                            threshold_percent, message="too few stretches with data")
    s, c = rms[use] / level, level_k[use] / level
    if float(np.max(s)) < 1e-7:  # no low-frequency structure at all (a noiseless spectrum)
        return MetricResult("NS-IFU03", "undulation_amplitude", 0.0, "%", threshold_percent,
                            message="no low-frequency undulation (1-20 cycles/um)",
                            uncertainty=0.0, evidence={"stretches": int(use.sum())})
    s = np.maximum(s, 1e-6 * float(np.max(s)))

    def log_misfit(params: np.ndarray) -> np.ndarray:
        return 0.5 * np.log(params[0] + params[1] * c**2 + 1e-300) - np.log(s)

    start = [float(np.min(s)) ** 2, float(np.median(s / c)) ** 2]
    fit = least_squares(log_misfit, x0=start, bounds=([0.0, 0.0], [np.inf, np.inf]))
    var_a = float(fit.x[0])
    dof = max(int(use.sum()) - 2, 1)
    scale = float(np.sum(fit.fun**2)) / dof
    try:
        cov = np.linalg.pinv(fit.jac.T @ fit.jac) * max(scale, 1e-4)
        sigma_var = float(np.sqrt(abs(cov[0, 0])))
    except np.linalg.LinAlgError:
        sigma_var = float("inf")
    a = float(np.sqrt(var_a))
    sigma_a = float(np.sqrt(var_a + sigma_var) - a)
    fit.x[1] = np.sqrt(fit.x[1])
    amplitude = float(np.sqrt(2.0) * a * 100.0)
    sigma = float(np.sqrt(2.0) * sigma_a * 100.0)
    proportional = float(np.sqrt(2.0) * abs(fit.x[1]) * 100.0)
    return MetricResult(
        "NS-IFU03", "undulation_amplitude", amplitude, "%", threshold_percent,
        message=(f"additive low-frequency undulation {amplitude:.2f} ± {sigma:.2f} % of the "
                 f"median flux ({band_cycles_per_um[0]:g}-{band_cycles_per_um[1]:g} cycles/um; "
                 f"structure proportional to the source {proportional:.2f} %)"),
        plot={"wavelength_um": grid, "residual": residual / level, "undulation": band / level},
        details={"proportional_percent": proportional, "chunk_rms_percent": rms / level * 100,
                 "chunk_level": level_k / level},
        uncertainty=sigma,
        evidence={"band_cycles_per_um": list(band_cycles_per_um), "stretches": int(use.sum()),
                  "resampled": info["resampled"], "gaps": info["gaps"],
                  "method": "additive part of the undulation (sigma_k^2 = a^2 + (b c_k)^2)"})


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


def error_scale(flux: np.ndarray, err: np.ndarray) -> float:
    """How much larger the spectrum's scatter is than its error column says (≥ 1).

    The sample-to-sample scatter, :func:`astropy.stats.mad_std` of the first differences over
    √2, against the median error; pipeline errors of drizzled cubes' spectra ignore the
    correlations cube building introduces and often understate the noise (1.5–3.6 × on the
    project's real x1d files). Never below 1: errors are not shrunk.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> flux = rng.normal(0.0, 3.0, 5000)
    >>> round(error_scale(flux, np.ones(5000)), 1), error_scale(flux, np.full(5000, 10.0))
    (3.0, 1.0)
    """
    flux = np.asarray(flux, dtype=float)
    err = np.asarray(err, dtype=float)
    ok = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    if ok.sum() < 8:
        return 1.0
    scatter = float(mad_std(np.diff(flux[ok]))) / np.sqrt(2.0)
    return float(max(1.0, scatter / float(np.median(err[ok]))))


def negative_flux_fraction(flux_jy: np.ndarray, err_jy: np.ndarray | None = None, *,
                           valid: np.ndarray | None = None, scale: float = 1.0,
                           threshold_percent: float = 5.0) -> MetricResult:
    """Fraction of wavelengths with significantly negative flux (NS-IFU03 on a user's x1d).

    Definition: the percentage of usable samples (finite flux with a finite, positive error, and
    ``valid``, e.g. not DQ-flagged) with ``flux < −2 × scale × error`` (``scale``:
    :func:`error_scale`, so understated errors do not make noise look significant); without
    errors ``flux < 0``. A source spectrum dragged negative by 1/f residuals or by an
    oversubtracted background shows many; pure noise 2.3 %. The uncertainty is binomial over
    half the samples (neighbouring samples of a cube's spectrum are correlated).

    Examples
    --------
    >>> flux = np.r_[np.ones(90), -np.ones(8), -0.1, -0.1]
    >>> result = negative_flux_fraction(flux, np.full(100, 0.1))  # -0.1 is not < -0.2
    >>> result.value, round(result.uncertainty, 2), result.verdict
    (8.0, 3.84, 'undecided')
    """
    flux = np.asarray(flux_jy, dtype=float)
    ok = np.isfinite(flux)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    if err_jy is None:
        limit = np.zeros_like(flux)
    else:
        err = np.asarray(err_jy, dtype=float)
        ok &= np.isfinite(err) & (err > 0)
        limit = -2.0 * scale * err
    n = int(ok.sum())
    if n == 0:
        return MetricResult("NS-IFU03", "negative_flux_fraction", float("nan"), "%",
                            threshold_percent, message="no usable sample")
    p = float(np.mean(flux[ok] < limit[ok]))
    sigma = float(np.sqrt(max(p * (1.0 - p), 1.0 / n) / max(n / 2.0, 1.0)) * 100.0)
    return MetricResult("NS-IFU03", "negative_flux_fraction", p * 100.0, "%", threshold_percent,
                        message=(f"{p * 100:.1f} ± {sigma:.1f} % of {n} usable samples "
                                 f"significantly negative (flux < -2 x {scale:.2g} x error)"),
                        uncertainty=sigma,
                        evidence={"samples_used": n, "samples": int(flux.size),
                                  "error_scale": float(scale)})


def source_significance(flux_jy: np.ndarray, err_jy: np.ndarray, *,
                        valid: np.ndarray | None = None, scale: float = 1.0,
                        threshold_sigma: float = 5.0) -> MetricResult:
    """How significantly an x1d holds source flux (NS-IFU04: an aperture that missed its
    source collects noise and background residuals only).

    Definition: ``Σ flux / √(Σ (scale × error)²)`` over the usable samples; a lower limit (the
    spectrum must reach ``threshold_sigma``).

    Examples
    --------
    >>> flux = np.full(100, 1.0)
    >>> round(source_significance(flux, np.full(100, 1.0)).value, 1)
    10.0
    >>> source_significance(np.r_[np.ones(50), -np.ones(50)], np.ones(100)).verdict
    'fail'
    """
    flux = np.asarray(flux_jy, dtype=float)
    err = np.asarray(err_jy, dtype=float)
    ok = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    if not ok.any():
        return MetricResult("NS-IFU04", "x1d_source_significance", float("nan"), "sigma",
                            threshold_sigma, sense="min", message="no usable sample")
    snr = float(flux[ok].sum() / np.sqrt(np.sum((scale * err[ok]) ** 2)))
    return MetricResult("NS-IFU04", "x1d_source_significance", snr, "sigma", threshold_sigma,
                        sense="min",
                        message=(f"the x1d holds source flux at {snr:.1f} sigma (sum over "
                                 f"{int(ok.sum())} usable samples)"),
                        evidence={"samples_used": int(ok.sum()), "error_scale": float(scale)})
