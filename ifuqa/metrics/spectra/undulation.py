"""Low-frequency undulation, negative flux and source significance of an extracted spectrum
(NS-IFU03), with the error-array scale they rest on.
"""

from __future__ import annotations

import itertools

import numpy as np
from astropy.stats import mad_std
from scipy.ndimage import gaussian_filter1d

from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra.fourier import (
    amplitude_uncertainty,
    band_limited_amplitude,
    uniform_spectrum,
)
from ifuqa.util.stats import nanmedian


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


OFF_SOURCE_BAND_CYCLES_PER_COLUMN = (1.0 / 2048.0, 1.0 / 100.0)
"""The 1/f undulation band of :func:`off_source_undulation`, in cycles per detector column
(periods of 100 columns to a full 2048-column line): pink read noise puts most of its column-to-
column power there. Converted to cycles/µm with the disperser's dispersion (µm per column), so
the band follows the disperser: 0.2–4.3 cycles/µm ... 2–43 cycles/µm from G395H to G140H."""


def off_source_undulation(wave_um: np.ndarray, off_a: np.ndarray, off_b: np.ndarray, *,
                          to_aperture_jy: np.ndarray | float, level_jy: float,
                          um_per_column: float,
                          band_cycles_per_column: tuple[float, float] =
                          OFF_SOURCE_BAND_CYCLES_PER_COLUMN,
                          threshold_percent: float = 1.0) -> MetricResult:
    """Additive low-frequency undulation that the extraction aperture collects, measured on the
    cube's source-free spaxels (NS-IFU03, no truth needed).

    1/f read-noise residuals are *additive*: at a given detector column every pixel of an output
    gets the same offset, so source-free spaxels carry the same undulation as the source's
    aperture, while the source's multiplicative structure (resampling wiggles, PSF-core holes)
    is absent there. Definition: ``off_a`` and ``off_b`` are the mean surface brightness of two
    spatially separate halves of the source-free spaxels; their mean, converted to what the
    extraction aperture collects (``to_aperture_jy``: aperture area times the unit conversion),
    in % of the source's median flux ``level_jy``, is band-passed to
    ``band_cycles_per_column`` (cycles per detector column, converted with ``um_per_column``);
    the metric is its sinusoid-equivalent amplitude with the noise removed in quadrature. The
    noise comes from the null spectrum ``(off_a − off_b) / 2`` (independent information: it has
    the same noise, drizzle correlations included, but not the common additive signal), never
    from the quantity under test. The uncertainty is the sampling noise of both band variances
    (``k = (f₂ − f₁) × span`` independent Fourier modes): the noise's own scatter in both and its
    cross term with the undulation, ``σ_v² = (4 v_n² + 4 v_u v_n) / k``, as an amplitude
    ``√(A² + 2 σ_v) − A``, so a noisy or short spectrum gets an undecided verdict, never a false
    failure; the mean offset (surplus or missing
    flux) is in ``details['bias_percent']``.

    Parameters
    ----------
    wave_um : numpy.ndarray
        Wavelengths (µm), uniform grid (a cube's planes).
    off_a, off_b : numpy.ndarray
        Mean surface brightness of the two halves of the source-free spaxels, per wavelength.
    to_aperture_jy : numpy.ndarray or float
        Factor from the mean surface brightness to the flux the extraction aperture collects
        (Jy), per wavelength or one value.
    level_jy : float
        The source's median flux (Jy): the reference of the percentages.
    um_per_column : float
        Dispersion (µm per detector column).
    band_cycles_per_column : (float, float)
        The band (cycles per detector column).
    threshold_percent : float
        Limit.

    Returns
    -------
    MetricResult
        ``off_source_undulation`` in %.

    Examples
    --------
    A 3 % additive undulation common to both halves, over white noise of 1 % per half:

    >>> rng = np.random.default_rng(4)
    >>> wave = np.linspace(1.55, 1.75, 852)
    >>> common = 0.03 * np.sin(2 * np.pi * 15.0 * wave)
    >>> a, b = (common + rng.normal(0.0, 0.01, wave.size) for _ in range(2))
    >>> result = off_source_undulation(wave, a, b, to_aperture_jy=1.0, level_jy=1.0,
    ...                                um_per_column=2.35e-4)
    >>> bool(2.7 < result.value < 3.3), result.verdict
    (True, 'fail')
    >>> clean = off_source_undulation(wave, a - common, b - common, to_aperture_jy=1.0,
    ...                               level_jy=1.0, um_per_column=2.35e-4)
    >>> clean.verdict
    'pass'
    """
    wave = np.asarray(wave_um, dtype=float)
    a, b = (np.asarray(x, dtype=float) for x in (off_a, off_b))
    factor = np.broadcast_to(np.asarray(to_aperture_jy, dtype=float), wave.shape)
    ok = np.isfinite(wave) & np.isfinite(a) & np.isfinite(b) & np.isfinite(factor)
    if ok.sum() < 32 or not (np.isfinite(level_jy) and level_jy > 0):
        return MetricResult("NS-IFU03", "off_source_undulation", float("nan"), "%",
                            threshold_percent,
                            message="too few source-free samples (or no positive source level)")
    span = np.flatnonzero(ok)
    sl = slice(span[0], span[-1] + 1)
    wave, a, b, factor = wave[sl], a[sl], b[sl], factor[sl]
    signal = 0.5 * (a + b) * factor / level_jy
    null = 0.5 * (a - b) * factor / level_jy
    lo, hi = (f / float(um_per_column) for f in band_cycles_per_column)
    span_um = float(np.ptp(wave))
    lo = max(lo, 1.0 / span_um)  # no mode below one cycle over the spectrum
    _, _, band_signal, _ = band_limited_amplitude(wave, signal, (lo, hi))
    _, _, band_null, _ = band_limited_amplitude(wave, null, (lo, hi))
    var_signal = float(np.mean(band_signal**2))
    var_null = float(np.mean(band_null**2))
    modes = max((hi - lo) * span_um, 1.0)
    excess = max(var_signal - var_null, 0.0)
    # the noise's share of both band variances and its cross term with the undulation
    sigma_var = float(np.sqrt((4.0 * var_null**2 + 4.0 * excess * var_null) / modes))
    amp = float(np.sqrt(2.0 * excess))
    sigma = float(np.sqrt(amp**2 + 2.0 * sigma_var) - amp)
    bias = float(nanmedian(signal) * 100.0)
    noise = float(np.sqrt(2.0 * var_null) * 100.0)
    detection = var_signal / var_null if var_null > 0 else float("inf")
    return MetricResult(
        "NS-IFU03", "off_source_undulation", amp * 100.0, "%", threshold_percent,
        message=(f"{amp * 100:.2f} ± {sigma * 100:.2f} % additive undulation on the source-free "
                 f"spaxels ({band_cycles_per_column[0]:.2g}-{band_cycles_per_column[1]:.2g} "
                 f"cycles/column = {lo:.2g}-{hi:.2g} cycles/um; null-spectrum noise "
                 f"{noise:.2f} %, power ratio {detection:.1f}), offset {bias:+.2f} % of the "
                 "source flux"),
        plot={"wavelength_um": wave, "residual": signal, "undulation": band_signal,
              "null": null},
        details={"bias_percent": bias, "noise_percent": noise, "power_ratio": detection},
        uncertainty=sigma * 100.0,
        evidence={"band_cycles_per_column": list(band_cycles_per_column),
                  "band_cycles_per_um": [lo, hi], "samples": int(wave.size),
                  "method": "source-free spaxels; noise from the two halves' difference"})


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
    spectrum must reach ``threshold_sigma``). Its uncertainty is 1 (a signal-to-noise ratio
    measured on noisy data scatters by 1 in its own units).

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
                        sense="min", uncertainty=1.0,
                        message=(f"the x1d holds source flux at {snr:.1f} sigma (sum over "
                                 f"{int(ok.sum())} usable samples)"),
                        evidence={"samples_used": int(ok.sum()), "error_scale": float(scale)})
