"""Band-limited amplitudes of a spectrum's relative residual, and their uncertainty: the Fourier
machinery the wiggle (NS-IFU05) and undulation (NS-IFU03) metrics share.
"""

from __future__ import annotations

import numpy as np
from astropy.stats import mad_std

from ifuqa.util.stats import mad_std_about_zero


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
