"""Wiggle amplitude (NS-IFU05): the periodic modulation of a single-spaxel or small-aperture
spectrum at the frequencies the trace slopes and the dispersion predict.

A wiggle is sinusoidal: the flux of an undersampled PSF in one spaxel oscillates once each time
the curved trace crosses a detector row, at ``|dy/dx|`` cycles per detector column (the trace
slope), with harmonics for a sharp PSF. Broadband structure — noise, spikes, and the steps that
flux lost at random wavelengths leaves (PSF-core holes, flagged pixels) — is not a wiggle:
:func:`periodic_component` fits the steps and the continuum as nuisance terms and measures only
the part of the residual that is a sum of sinusoids inside the predicted band, with the noise
taken from frequencies outside it. A wiggle is multiplicative (a fraction of the source's flux);
an additive undulation (1/f read-noise residuals, the same flux whatever the source) is not, and
the metrics subtract an estimate of it when they are given one (``additive``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from astropy.stats import mad_std

from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra.fourier import _detrend, _finite_span

__all__ = ["PeriodicComponent", "periodic_component", "periodic_wiggle_amplitude",
           "wiggle_amplitude"]

JUMP_SIGMA = 6.0
"""A step (flux lost or regained between neighbouring samples) is a jump larger than this many
robust standard deviations of the point-to-point differences that persists (the medians of the
5 samples on either side differ by at least half the jump)."""


OVERSAMPLE = 2
"""Frequencies fitted per independent mode (spacing ``1 / (2 span)``), so that a sinusoid
between two modes loses no amplitude; the least squares accounts for their overlap."""


class PeriodicComponent(NamedTuple):
    """What :func:`periodic_component` measured (amplitudes fractional)."""

    amplitude: float
    """Sinusoid-equivalent amplitude ``√2 × rms`` of the in-band periodic part, noise bias
    removed."""
    uncertainty: float
    """Its standard uncertainty, from the noise and the covariance with the nuisance terms."""
    noise: float
    """Per-sample noise (standard deviation) of the residual at frequencies above the band."""
    ratio: float
    """Power of the periodic part over the power noise alone puts into the band's modes (the
    Fourier ratio)."""
    jumps: int
    """Steps fitted as nuisance terms."""
    modes: int
    """Independent Fourier modes (frequencies k / span) in the band."""
    x: np.ndarray
    """Abscissae of the samples used (spikes removed)."""
    periodic: np.ndarray
    """The fitted periodic part at ``x``."""


def _spikes(r: np.ndarray, window: int = 11, nsigma: float = 10.0) -> np.ndarray:
    """Samples more than ``nsigma`` noise σ from the running median (unflagged spikes: cosmic-ray
    residuals, single bad samples); σ is the larger of the residuals' robust scatter and the
    point-to-point scatter, so a smooth sinusoid is never clipped at its crests."""
    from scipy.ndimage import median_filter

    if r.size < window:
        return np.zeros(r.shape, dtype=bool)
    resid = r - median_filter(r, size=window, mode="nearest")
    sigma = max(float(mad_std(resid)), float(mad_std(np.diff(r))) / np.sqrt(2.0), 1e-300)
    return np.abs(resid) > nsigma * sigma


def _jumps(r: np.ndarray, window: int = 5) -> np.ndarray:
    """Indices ``j`` of persistent steps between samples ``j`` and ``j + 1``."""
    d = np.diff(r)
    if d.size < 2 * window:
        return np.zeros(0, dtype=int)
    sd = float(mad_std(d))
    if not sd > 0:
        return np.zeros(0, dtype=int)
    cand = np.flatnonzero(np.abs(d) > JUMP_SIGMA * sd)
    keep = [j for j in cand
            if abs(np.median(r[j + 1:j + 1 + window]) - np.median(r[max(0, j - window + 1):j + 1]))
            >= 0.5 * abs(d[j])]
    return np.asarray(keep, dtype=int)


def _noise_variance(x: np.ndarray, resid: np.ndarray, band: tuple[float, float],
                    freqs: np.ndarray) -> float:
    """Per-sample noise variance that the band's modes see, from the fit residual's power
    outside the band (2 modes clear of its edges, which the fitted sinusoids deplete): the white
    level ``W`` is the mean power above the band (median / ln 2: robust to a few harmonics); a
    red part ``R / f`` (1/f residuals) from the excess over ``W`` below the band, down to 2
    cycles per span (under which the cubic continuum has removed the power); averaged over the
    fitted frequencies. Point-to-point scatter when fewer than 8 modes lie above the band."""
    n = resid.size
    step = float(np.median(np.diff(x)))
    span = float(np.ptp(x))
    freq = np.fft.rfftfreq(n, step)
    power = np.abs(np.fft.rfft(resid - resid.mean())) ** 2 / n
    clear = 2.0 / span
    above = (freq > band[1] + clear) & (freq <= 0.8 * 0.5 / step)
    if above.sum() < 8:
        return float(mad_std(np.diff(resid))) ** 2 / 2.0
    white = float(np.median(power[above])) / np.log(2.0)
    below = (freq >= 2.0 / span) & (freq < band[0] - clear)
    red = 0.0
    if below.any():
        red = max(float(np.mean(power[below] * freq[below])) - white * float(
            np.mean(freq[below])), 0.0)
    return white + red * float(np.mean(1.0 / freqs))


def periodic_component(x: np.ndarray, relative: np.ndarray,
                       band: tuple[float, float]) -> PeriodicComponent:
    """The periodic part of a fractional residual inside a frequency band, and its uncertainty.

    Model: ``relative = cubic + Σ_j h_j H(x − x_j) + Σ_k (a_k sin 2π f_k x + b_k cos 2π f_k x)
    + noise``, with ``f_k = k / (2 span)`` inside ``band`` (:data:`OVERSAMPLE`; cycles per
    unit of ``x``: µm or detector columns; the lowest, half a cycle over the span, is left to
    the continuum), ``H`` unit steps at the persistent jumps (:data:`JUMP_SIGMA`), after
    unflagged spikes (10 σ from a running median) are removed. The cubic and the steps are
    nuisance terms: the sinusoids are projected orthogonal to them, then least-squares fitted:
    what a cubic or a step can equally describe is not counted as wiggle. (Limitation: with
    only a cycle or two of the predicted wiggle across the spectrum and many steps, part of a
    real wiggle is taken by the steps and under-read.)

    * noise ``σ``: from the fit residual's Fourier power at frequencies outside the band, white
      plus a red (1/f) part extrapolated into it, never from the band itself;
    * amplitude ``A = √(max(A₀² − b, 0))`` with ``A₀² = 2 × mean(periodic²)`` and ``b`` its
      expectation from noise alone (the trace of the noise covariance in that norm);
    * uncertainty: ``√(A² + σ₂) − A`` with ``σ₂`` the standard deviation of ``A₀²`` under the
      noise covariance (the band power's own chi-square scatter and its cross term with the
      signal): ``σ₂ / 2A`` for a strong wiggle, ``√σ₂`` for none.

    Parameters
    ----------
    x : numpy.ndarray
        Sample positions (near-uniform: wavelength or detector column).
    relative : numpy.ndarray
        Fractional residual (NaN allowed).
    band : (float, float)
        Frequency band, cycles per unit of ``x``.

    Returns
    -------
    PeriodicComponent

    Examples
    --------
    A 1 % sinusoid at 20 cycles/µm in 0.2 % noise is found; 10 % steps at random wavelengths
    (holes) with the same noise are not a wiggle:

    >>> rng = np.random.default_rng(0)
    >>> wave = np.linspace(3.7, 4.0, 600)
    >>> noise = 0.002 * rng.normal(size=600)
    >>> sine = periodic_component(wave, 0.01 * np.sin(2 * np.pi * 20 * wave) + noise, (10, 40))
    >>> round(sine.amplitude, 3), bool(sine.uncertainty < 0.0005), bool(sine.ratio > 100)
    (0.01, True, True)
    >>> steps = np.repeat(rng.choice([-0.1, 0.0, 0.1], 15), 40) + noise
    >>> hole = periodic_component(wave, steps, (10, 40))
    >>> bool(hole.amplitude < 0.001), hole.jumps > 5
    (True, True)
    """
    xs = np.asarray(x, dtype=float)
    rel = np.asarray(relative, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(rel)
    xs, rel = xs[ok], rel[ok]
    order = np.argsort(xs)
    xs, rel = xs[order], rel[order]
    kept = ~_spikes(rel)
    xs, rel = xs[kept], rel[kept]
    n = rel.size
    nan = float("nan")
    span = float(np.ptp(xs)) if n else 0.0
    k = np.arange(max(2, int(np.ceil(OVERSAMPLE * band[0] * span))),
                  int(np.floor(OVERSAMPLE * band[1] * span)) + 1)
    modes = round(k.size / OVERSAMPLE)
    if n < 32 or k.size == 0:
        return PeriodicComponent(nan, nan, nan, nan, 0, modes, xs, np.zeros(n))
    t = (xs - xs.mean()) / span
    jumps = _jumps(rel)
    nuisance = np.column_stack([t**p for p in range(4)]
                               + [(np.arange(n) > j).astype(float) for j in jumps])
    freqs = k / (OVERSAMPLE * span)
    phase = 2.0 * np.pi * np.outer(xs - xs[0], freqs)
    sinusoids = np.column_stack([np.sin(phase), np.cos(phase)])
    q, _ = np.linalg.qr(nuisance)
    basis = sinusoids - q @ (q.T @ sinusoids)
    target = rel - q @ (q.T @ rel)
    gram = basis.T @ basis
    coef = np.linalg.lstsq(gram, basis.T @ target, rcond=None)[0]
    periodic = basis @ coef
    resid = target - periodic
    var = _noise_variance(xs, resid, band, freqs)
    cov = var * np.linalg.pinv(gram)
    norm = 2.0 / n * gram
    a0_sq = float(coef @ norm @ coef)
    weighted = norm @ cov
    bias = float(np.trace(weighted))
    amplitude = float(np.sqrt(max(a0_sq - bias, 0.0)))
    # variance of the quadratic form A0² (Gaussian coefficients): the noise's own chi-square
    # scatter plus the cross term with the signal
    var_sq = (2.0 * float(np.trace(weighted @ weighted))
              + 4.0 * float(coef @ norm @ cov @ norm @ coef))
    sigma = float(np.sqrt(amplitude**2 + np.sqrt(max(var_sq, 0.0))) - amplitude)
    ratio = a0_sq / bias if bias > 0 else float("inf")
    return PeriodicComponent(amplitude, sigma, float(np.sqrt(var)), float(ratio),
                             int(jumps.size), modes, xs, periodic)


def _band_fit(wave: np.ndarray, values: np.ndarray, columns: np.ndarray | None,
              band_cycles_per_um: tuple[float, float],
              band_cycles_per_column: tuple[float, float] | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, PeriodicComponent,
                         tuple[float, float], str]:
    """(wavelengths, abscissae, residual about a cubic, periodic fit, band, band unit) of a
    ratio spectrum over its finite span."""
    idx = np.flatnonzero(np.isfinite(values))
    cut = slice(idx[0], idx[-1] + 1)
    wave, values = _finite_span(wave, values)
    residual = _detrend(wave, values, 3)
    if columns is not None and band_cycles_per_column is not None:
        x = np.asarray(columns, dtype=float)[cut]
        band, unit = band_cycles_per_column, "cycles/column"
    else:
        x, band, unit = wave, band_cycles_per_um, "cycles/um"
    return wave, x, residual, periodic_component(x, residual, band), band, unit


def _ratio(spectrum: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    values = np.asarray(spectrum, dtype=float)
    if reference is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = values / np.asarray(reference, dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def wiggle_amplitude(wave_um: np.ndarray, spectrum: np.ndarray,
                     reference: np.ndarray | None = None, *,
                     band_cycles_per_um: tuple[float, float] = (5.0, 50.0),
                     columns: np.ndarray | None = None,
                     band_cycles_per_column: tuple[float, float] | None = None,
                     additive: np.ndarray | None = None,
                     threshold_percent: float = 1.0, label: str = "spectrum") -> MetricResult:
    """Fractional wiggle amplitude of a spectrum (NS-IFU05).

    Definition: ``(spectrum − additive) / reference`` (reference: an aperture spectrum on the
    same grid, or the LSF-convolved truth; without one the spectrum itself) divided by a cubic
    polynomial continuum, minus 1; its periodic component inside the wiggle band
    (:func:`periodic_component`: steps and spikes are nuisance terms, noise from frequencies
    outside the band), in percent of the continuum, with its uncertainty.

    Resampling wiggles are *multiplicative* (a fixed fraction of the source's flux); 1/f
    read-noise residuals are *additive* (the same flux whatever the source's). ``additive``
    (same grid and unit as ``spectrum``) is an estimate of the additive part, e.g. what the
    extraction aperture collects on the cube's source-free spaxels; it is subtracted before the
    ratio, so the metric is the multiplicative wiggle, and the estimate's own noise enters the
    residual and hence the metric's noise and uncertainty. The reading without the subtraction
    (``details['before_percent']``) and the additive part's own periodic amplitude in the band
    (``details['additive_percent']``, relative to the same continuum) are reported.

    The band: with ``columns`` (the detector column of each sample, from the disperser's model)
    the analysis runs in columns and the band is ``band_cycles_per_column`` (the trace slopes:
    :func:`ifuqa.evaluate.ns_ifu05.trace_wiggle_band`); without, in wavelength with
    ``band_cycles_per_um`` (5–50 cycles/µm, the generic range of KNOWN_ISSUES).

    Returns
    -------
    MetricResult
        ``value`` in %; ``plot`` has ``wavelength_um``, ``residual`` and ``wiggle`` (the fitted
        periodic part); ``details`` the noise, the Fourier ratio, the fitted steps.

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

    An additive undulation (0.04 on a continuum of 2.0-2.15) reads as a wiggle, and is removed
    when it is known:

    >>> offset = 0.04 * np.sin(2 * np.pi * 25.0 * wave)
    >>> round(wiggle_amplitude(wave, continuum + offset, continuum).value, 1)
    1.9
    >>> removed = wiggle_amplitude(wave, continuum + offset, continuum, additive=offset)
    >>> round(removed.value, 6), round(removed.details["before_percent"], 1)
    (0.0, 1.9)
    """
    wave = np.asarray(wave_um, dtype=float)
    raw = np.asarray(spectrum, dtype=float)
    has_additive = additive is not None
    if has_additive:
        add = np.broadcast_to(np.asarray(additive, dtype=float), raw.shape)
        values = _ratio(raw - add, reference)
    else:
        values = _ratio(raw, reference)
    if np.isfinite(values).sum() < 32:
        return MetricResult("NS-IFU05", "wiggle_amplitude", float("nan"), "%",
                            threshold_percent, message=f"{label}: too few valid points")
    wave, x, residual, fit, band, unit = _band_fit(wave, values, columns, band_cycles_per_um,
                                                   band_cycles_per_column)
    per_um = ""
    if unit == "cycles/column":
        dispersion = abs(float(np.median(np.diff(wave)) / np.median(np.diff(x))))
        per_um = f" = {band[0] / dispersion:.3g}-{band[1] / dispersion:.3g} cycles/um"
    amp, sigma, noise = fit.amplitude * 100.0, fit.uncertainty * 100.0, fit.noise * 100.0
    wiggle = np.interp(wave, fit.x, fit.periodic) if fit.x.size else np.zeros_like(wave)
    if unit == "cycles/column" and fit.x.size:
        wiggle = np.interp(x, fit.x, fit.periodic)
    details = {"noise_percent": noise, "fourier_ratio": fit.ratio, "steps": fit.jumps,
               "modes": fit.modes}
    message = (f"{label}: {amp:.2f} ± {sigma:.2f} % periodic wiggle in "
               f"{band[0]:.3g}-{band[1]:.3g} {unit}{per_um} ({fit.modes} modes; noise "
               f"{noise:.2f} % per sample, Fourier ratio {fit.ratio:.1f}; "
               f"{fit.jumps} steps fitted as non-periodic)")
    if has_additive:
        before = _band_fit(np.asarray(wave_um, dtype=float), _ratio(raw, reference), columns,
                           band_cycles_per_um, band_cycles_per_column)[3]
        # the additive part relative to the same continuum: its ratio to the reference, plus
        # the continuum level (so that the cubic detrending divides by the same level)
        level = float(np.nanmedian(values))
        own = _band_fit(np.asarray(wave_um, dtype=float),
                        _ratio(add, reference) + level, columns, band_cycles_per_um,
                        band_cycles_per_column)[3]
        details.update(before_percent=before.amplitude * 100.0,
                       before_uncertainty=before.uncertainty * 100.0,
                       additive_percent=own.amplitude * 100.0,
                       additive_uncertainty=own.uncertainty * 100.0)
        message += (f"; additive part removed first: {own.amplitude * 100:.2f} ± "
                    f"{own.uncertainty * 100:.2f} % in the band (without removing it "
                    f"{before.amplitude * 100:.2f} ± {before.uncertainty * 100:.2f} %)")
    return MetricResult(
        "NS-IFU05", "wiggle_amplitude", amp, "%", threshold_percent, message=message,
        plot={"wavelength_um": wave, "residual": residual, "wiggle": wiggle},
        details=details, uncertainty=sigma,
        evidence={"band": [float(band[0]), float(band[1])], "band_unit": unit,
                  "samples": int(fit.x.size), "additive_removed": has_additive,
                  "method": "periodic component in the band, continuum and steps as nuisance "
                            "terms" + ("; an additive estimate subtracted first"
                                       if has_additive else "")})


def periodic_wiggle_amplitude(wave_um: np.ndarray, flux: np.ndarray, *,
                              band_cycles_per_um: tuple[float, float] = (5.0, 50.0),
                              columns: np.ndarray | None = None,
                              band_cycles_per_column: tuple[float, float] | None = None,
                              additive: np.ndarray | None = None,
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
    power, in % of the continuum. A peak at the band's edge with at least as much power just
    outside the band is broadband structure leaking in: amplitude 0, uncertainty the peak's
    amplitude (an upper limit, not a detection). With ``columns`` (each sample's detector
    column) the search runs over ``band_cycles_per_column`` in columns, the disperser's band.
    ``additive`` (same grid and unit as ``flux``), an estimate of the source-independent part
    of the flux (1/f residuals measured on the cube's source-free spaxels), is subtracted first,
    as in :func:`wiggle_amplitude`; without it an additive undulation in the band is read as a
    wiggle (``evidence['additive_removed']`` says which).

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
    if additive is not None:
        values = values - np.broadcast_to(np.asarray(additive, dtype=float), values.shape)
    in_columns = columns is not None and band_cycles_per_column is not None
    xs = np.asarray(columns, dtype=float) if in_columns else wave
    ok = np.isfinite(wave) & np.isfinite(values) & np.isfinite(xs)
    if ok.sum() < 32:
        return MetricResult("NS-IFU05", "wiggle_amplitude", float("nan"), "%",
                            threshold_percent, message=f"{label}: too few valid points")
    wave, values, xs = wave[ok], values[ok], xs[ok]
    order = np.argsort(wave)
    wave, values, xs = wave[order], values[order], xs[order]
    residual = _detrend(wave, values, 3)
    span = float(np.ptp(xs))
    lo, hi = band_cycles_per_column if in_columns else band_cycles_per_um
    unit = "cycles/column" if in_columns else "cycles/um"
    step = float(np.median(np.diff(xs)))
    hi = min(hi, 0.5 / step)  # the sampling's Nyquist frequency
    if hi <= lo:
        return MetricResult("NS-IFU05", "wiggle_amplitude", float("nan"), "%",
                            threshold_percent, message=f"{label}: sampling too coarse for "
                            f"{lo:g}-{hi:g} {unit}")
    df = 1.0 / (5.0 * span)
    periodogram = LombScargle(xs, residual, normalization="psd")
    freq = np.arange(lo, hi, df)
    power = periodogram.power(freq)
    n = residual.size
    n_independent = max((hi - lo) * span, 2.0)
    floor_power = float(np.median(power)) / np.log(2.0)
    peak = int(np.argmax(power))
    amp_peak = 2.0 * np.sqrt(float(power[peak]) / n)
    amp_floor = 2.0 * np.sqrt(floor_power * np.log(n_independent) / n)
    amplitude = float(np.sqrt(max(amp_peak**2 - amp_floor**2, 0.0)) * 100.0)
    sigma = float(2.0 * np.sqrt(floor_power / n) * 100.0)
    # narrow band: a peak at the band's edge with as much power just outside it is broadband
    # structure (the source's own bands, 1/f residuals) leaking in, not a periodic component
    edge = None
    if peak * df < 1.0 / span and lo > 1.0 / span:
        edge = np.arange(max(lo - 1.0 / span, 1.0 / span), lo, df)
    elif (freq.size - 1 - peak) * df < 1.0 / span:
        edge = np.arange(hi, min(hi + 1.0 / span, 0.5 / step), df)
    if edge is not None and edge.size and float(np.max(periodogram.power(edge))) >= power[peak]:
        sigma = max(sigma, amp_peak * 100.0)
        amplitude = 0.0
        label = f"{label} (peak at the band edge, rising outside it: not periodic)"
    return MetricResult(
        "NS-IFU05", "wiggle_amplitude", amplitude, "%", threshold_percent,
        message=(f"{label}: strongest sinusoid {amplitude:.2f} ± {sigma:.2f} % at "
                 f"{freq[peak]:.3g} {unit} in {lo:.3g}-{hi:.3g} {unit} "
                 f"(Lomb-Scargle, noise floor {amp_floor * 100:.2f} %)"),
        plot={"wavelength_um": wave, "residual": residual,
              "wiggle": (amp_peak * np.sin(2.0 * np.pi * freq[peak] * xs)
                         if amplitude > 0 else np.zeros_like(wave))},
        details={"frequency": float(freq[peak]), "noise_percent": amp_floor * 100.0},
        uncertainty=sigma,
        evidence={"band": [lo, hi], "band_unit": unit, "samples": int(n),
                  "additive_removed": additive is not None,
                  "method": "Lomb-Scargle periodogram peak"})
