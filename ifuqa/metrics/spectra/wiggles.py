"""Wiggle amplitude (NS-IFU05): the sinusoidal modulation of a single-spaxel or small-aperture
spectrum in the band the trace slopes and the dispersion give.
"""

from __future__ import annotations

import numpy as np

from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra.fourier import (
    _detrend,
    _finite_span,
    amplitude_uncertainty,
    band_limited_amplitude,
)


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
