"""1/f banding of count-rate images (NS-IFU03): amplitude, white-noise floor, reduction by
cleaning, and the read-noise power spectrum.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from astropy.stats import mad_std
from scipy.fft import rfft

from ifuqa.instrument.readout import N_OUTPUTS, check_detector, dms_to_detector
from ifuqa.metrics.result import MetricResult
from ifuqa.util.stats import mad_std_about_zero, nanmedian, nanmedian_axis0

__all__ = ["HOLD_OUT_BLOCK", "banding_amplitude", "banding_level", "banding_reduction",
           "column_power_spectrum", "held_out_rows", "white_noise_floor"]

HOLD_OUT_BLOCK = 64
"""Rows per block of :func:`held_out_rows` (a quarter of NSClean's 1/256 cycles/px low-pass
period along a detector line, so its model cannot follow the blocks)."""

# ----------------------------------------------------------------------------- metrics


def _strip_column_medians(image: np.ndarray, mask: np.ndarray,
                          min_pixels: int) -> np.ndarray:
    """(n_outputs, nx) medians of masked finite pixels per column within each output strip."""
    image = np.asarray(image, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    if image.shape != mask.shape or image.ndim != 2:
        raise ValueError("image and mask must be 2-D arrays of the same shape")
    good = mask & np.isfinite(image)
    ny = image.shape[0]
    strip = -(-ny // N_OUTPUTS)
    data = np.where(good, image, np.nan)
    out = np.full((N_OUTPUTS, image.shape[1]), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        for j in range(N_OUTPUTS):
            rows = slice(j * strip, min((j + 1) * strip, ny))
            if rows.start >= ny:
                continue
            med = nanmedian_axis0(data[rows])
            med[good[rows].sum(axis=0) < min_pixels] = np.nan
            out[j] = med
    return out


def banding_amplitude(image: np.ndarray, mask: np.ndarray, *, min_pixels: int = 16) -> float:
    """Robust rms of vertical banding (DMS orientation) in the ``mask`` pixels.

    For each output strip (``ceil(ny/4)`` rows) the median of every column over the masked,
    finite pixels is taken (columns with fewer than ``min_pixels`` such pixels are skipped); the
    robust scatter of the column medians (:func:`astropy.stats.mad_std`, ``1.4826 × MAD`` about
    their median) is returned.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (DMS orientation).
    mask : numpy.ndarray
        True where a pixel may be used (e.g. unilluminated).
    min_pixels : int
        Minimum pixels per column segment.

    Returns
    -------
    float
        Banding amplitude in the units of ``image``; NaN if no column segment qualifies.

    Examples
    --------
    Six columns offset by 0, 1, …, 5 (in every output): the column medians' MAD about their
    median (2.5) is 1.5, times 1.4826:

    >>> image = np.tile(np.arange(6.0), (8, 1))
    >>> round(banding_amplitude(image, np.ones(image.shape, bool), min_pixels=1), 6)
    2.223903
    """
    meds = _strip_column_medians(image, mask, min_pixels)
    vals = meds[np.isfinite(meds)]
    if vals.size == 0:
        return float("nan")
    return float(mad_std(vals))


def column_power_spectrum(image: np.ndarray, mask: np.ndarray, *,
                          kind: Literal["stream", "profile"] = "stream",
                          detector: str = "NRS1",
                          segment_length: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of the read-noise pattern, for 1/f slope checks.

    ``kind="stream"`` (default): the image is reordered into the four readout-ordered time
    streams of ``detector`` (overhead gaps ignored, so frequencies are in cycles per pixel read);
    pixels outside ``mask`` or non-finite are replaced by the median of the usable pixels of the
    same line and output (or of the image). The one-sided PSD is Welch-averaged over Hann-windowed
    segments of ``segment_length`` samples and over outputs.

    ``kind="profile"``: the per-output column medians of :func:`banding_amplitude` form one
    profile per output along x (one sample per line); missing columns are linearly
    interpolated, and the PSD (Hann window) is averaged over outputs. Frequencies are in cycles
    per column.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (DMS orientation).
    mask : numpy.ndarray
        True where a pixel may be used.
    kind : {"stream", "profile"}
        What to transform.
    detector : {"NRS1", "NRS2"}
        Detector orientation (``kind="stream"`` only).
    segment_length : int
        Welch segment length (``kind="stream"`` only); capped at the stream length.

    Returns
    -------
    freq : numpy.ndarray
        Frequencies (cycles per pixel read, or per column), DC excluded.
    power : numpy.ndarray
        One-sided power spectral density ((image units)² per cycle/px).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> image = rng.normal(0.0, 1.0, (64, 128))
    >>> freq, power = column_power_spectrum(image, np.ones(image.shape, bool), kind="profile")
    >>> freq.size, float(freq[0]), float(freq[-1])
    (64, 0.0078125, 0.5)
    """
    image = np.asarray(image, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    if image.shape != mask.shape or image.ndim != 2:
        raise ValueError("image and mask must be 2-D arrays of the same shape")
    if kind == "profile":
        prof = _strip_column_medians(image, mask, 1)
        rows = []
        x = np.arange(prof.shape[1])
        for p in prof:
            ok = np.isfinite(p)
            if ok.sum() >= 2:
                rows.append(np.interp(x, x[ok], p[ok]))
        if not rows:
            raise ValueError("no usable pixels in mask")
        series = np.array(rows)
    elif kind == "stream":
        detector = check_detector(detector)
        good = mask & np.isfinite(image)
        if not good.any():
            raise ValueError("no usable pixels in mask")
        det = dms_to_detector(image, detector)
        gdet = dms_to_detector(good, detector)
        strip = -(-det.shape[1] // N_OUTPUTS)
        fill = float(np.median(image[good]))
        series_list = []
        for j in range(N_OUTPUTS):
            cols = slice(j * strip, min((j + 1) * strip, det.shape[1]))
            if cols.start >= det.shape[1]:
                continue
            block, gblock = det[:, cols], gdet[:, cols]
            if j % 2:
                block, gblock = block[:, ::-1], gblock[:, ::-1]
            block = np.array(block)
            if not gblock.all():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    line_med = np.nanmedian(np.where(gblock, block, np.nan), axis=1)
                line_med = np.where(np.isfinite(line_med), line_med, fill)
                block = np.where(gblock, block, line_med[:, None])
            series_list.append(block.ravel())
        series = np.array(series_list)
    else:
        raise ValueError(f"kind must be 'stream' or 'profile', got {kind!r}")

    n = series.shape[1]
    seg = n if kind == "profile" else max(2, min(int(segment_length), n))
    nseg = n // seg
    segs = series[:, :nseg * seg].reshape(series.shape[0] * nseg, seg)
    segs = segs - segs.mean(axis=1, keepdims=True)
    window = np.hanning(seg)
    spec = np.abs(rfft(segs * window, axis=1)) ** 2
    power = 2.0 * spec.mean(axis=0) / float((window**2).sum())
    freq = np.arange(power.size) / seg
    return freq[1:], power[1:]


def banding_level(image: np.ndarray, mask: np.ndarray, *, threshold: float = 1.0,
                  unit: str = "DN/s") -> MetricResult:
    """Vertical-banding amplitude of a count-rate image in its unilluminated pixels (NS-IFU03).

    Definition: robust rms of the per-column medians of the unilluminated pixels within each of
    the four 512-row outputs (pipeline orientation), after removing each output's median
    (:func:`ifuqa.metrics.banding.banding_amplitude`), in the image's unit.

    Examples
    --------
    >>> image = np.tile(np.arange(6.0), (64, 1))  # 16 pixels per column and output
    >>> result = banding_level(image, np.ones(image.shape, bool), threshold=3.0)
    >>> round(result.value, 4), result.verdict
    (2.2239, 'pass')
    """
    value = float(banding_amplitude(np.asarray(image, dtype=float), mask))
    return MetricResult("NS-IFU03", "banding_amplitude", value, unit, threshold,
                        message=f"column-correlated (1/f) banding {value:.3g} {unit} rms")


def white_noise_floor(image: np.ndarray, mask: np.ndarray) -> float:
    """Banding amplitude that white noise alone would produce (same unit as ``image``).

    The per-pixel white noise ``σ`` is the robust scatter of the unilluminated pixels about
    their column's median within each output (which removes the 1/f column offsets:
    :func:`ifuqa.util.stats.mad_std_about_zero` of the residuals); a column median of ``n``
    pixels scatters by ``1.2533 σ / √n``.

    Examples
    --------
    White noise of σ = 2 with 100 pixels per column and output: 1.2533 × 2 / 10 = 0.25.

    >>> rng = np.random.default_rng(2)
    >>> image = rng.normal(0.0, 2.0, (400, 300)) + np.arange(300.0)  # + column offsets
    >>> floor = white_noise_floor(image, np.ones(image.shape, bool))
    >>> bool(0.24 < floor < 0.26)
    True
    """
    img = np.where(mask, np.asarray(image, dtype=float), np.nan)
    ny = img.shape[0]
    strips = 4 if ny % 4 == 0 else 1
    blocks = img.reshape(strips, ny // strips, img.shape[1])
    medians = nanmedian(blocks, axis=1)[:, None, :]
    resid = (blocks - medians)[np.isfinite(blocks)]
    sigma = mad_std_about_zero(resid)
    counts = np.asarray(mask).reshape(strips, ny // strips, mask.shape[1]).sum(axis=1)
    n = np.median(counts[counts > 0]) if np.any(counts > 0) else np.nan
    return float(1.2533 * sigma / np.sqrt(n))


def held_out_rows(shape: tuple[int, int], *, block: int = HOLD_OUT_BLOCK) -> np.ndarray:
    """Pixels held out from a cleaning fit, to measure its residual out of sample.

    NSClean fits each detector line — a column in the pipeline (DMS) orientation — with a
    low-pass Fourier model of its unilluminated pixels; measured on those same pixels, its
    residual banding is in-sample (the fit absorbs part of their white noise, so the residual can
    drop below the white-noise floor). The odd blocks of ``block`` rows (DMS) are held out:
    a cleaning that fits only ``mask & ~held_out_rows(...)`` can be judged on
    ``mask & held_out_rows(...)``, where its model interpolates as it does under the slices.

    Parameters
    ----------
    shape : (int, int)
        Image shape (DMS orientation).
    block : int
        Rows per block.

    Returns
    -------
    numpy.ndarray of bool
        True for held-out pixels (every column, odd row blocks).

    Examples
    --------
    >>> held = held_out_rows((256, 3))
    >>> bool(held[:64].any()), bool(held[64:128].all()), round(float(held.mean()), 2)
    (False, True, 0.5)
    """
    rows = (np.arange(shape[0]) // int(block)) % 2 == 1
    return np.broadcast_to(rows[:, None], tuple(shape)).copy()


def _amplitude_sigma(amplitude: float, mask: np.ndarray, image: np.ndarray,
                     min_pixels: int = 16) -> float:
    """Standard error of :func:`banding_amplitude`: the MAD-based scatter of ``N`` column
    medians has a relative standard error ``1.166 / √N`` (its efficiency is 37 %); neighbouring
    columns' 1/f offsets are correlated, so this is a lower bound."""
    meds = _strip_column_medians(image, mask, min_pixels)
    n = int(np.isfinite(meds).sum())
    return float(1.166 * amplitude / np.sqrt(n)) if n > 0 else float("nan")


def _excess(b: float, sigma_b: float, floor: float) -> tuple[float, float]:
    """Banding above the white-noise floor, ``√(b² − f²)``, and its uncertainty
    ``√(e² + 2 b σ_b) − e`` (finite at ``e = 0``, where it is an upper limit)."""
    e = float(np.sqrt(max(b**2 - floor**2, 0.0)))
    return e, float(np.sqrt(e**2 + 2.0 * b * sigma_b) - e)


def banding_reduction(before: np.ndarray, after: np.ndarray, mask: np.ndarray, *,
                      threshold: float = 0.2, min_significance: float = 3.0) -> MetricResult:
    """Residual banding after cleaning as a fraction of the banding before (NS-IFU03).

    Definition: the banding of :func:`banding_level` with the white-noise floor
    (:func:`white_noise_floor`) removed in quadrature, after / before cleaning; the fix must
    bring it to ≤ 1/5. ``details['significance']`` is the banding before over the floor: below
    ``min_significance`` the ratio is not meaningful (the evaluation skips). The uncertainty
    propagates the standard errors of both banding amplitudes (``1.166 b / √N`` for ``N``
    column medians); passing the very same array as ``before`` and ``after`` (an exposure that
    provably went uncleaned) gives an exact 1. Measure on pixels held out of the cleaning fit
    (:func:`held_out_rows`) where the cleaning allowed it: on the fit's own pixels the residual
    is in-sample.

    Examples
    --------
    Banding of 1 (rms) over white noise of 1, cleaned to a tenth:

    >>> rng = np.random.default_rng(3)
    >>> bands = np.tile(rng.normal(0.0, 1.0, 512), (512, 1))
    >>> white = rng.normal(0.0, 1.0, (2, 512, 512))
    >>> mask = np.ones((512, 512), bool)
    >>> result = banding_reduction(bands + white[0], 0.1 * bands + white[1], mask)
    >>> bool(0.05 < result.value < 0.15), result.verdict
    (True, 'pass')
    """
    floor = white_noise_floor(before, mask)
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)
    b0 = float(banding_amplitude(before, mask))
    b1 = float(banding_amplitude(after, mask))
    e0, s0 = _excess(b0, _amplitude_sigma(b0, mask, before), floor)
    if after is before:  # the same image: an exact ratio of 1 (nothing was removed)
        e1, s1 = e0, 0.0
        sigma = 0.0
    else:
        e1, s1 = _excess(b1, _amplitude_sigma(b1, mask, after), floor)
        sigma = float(np.hypot(s1, (e1 / e0) * s0) / e0) if e0 > 0 else float("nan")
    ratio = e1 / e0 if e0 > 0 else float("nan")
    return MetricResult("NS-IFU03", "banding_residual_ratio", ratio, "", threshold,
                        message=(f"banding above the white-noise floor {e0:.3g} → {e1:.3g} "
                                 f"(ratio {ratio:.3f} ± {sigma:.3f}; floor {floor:.3g})"),
                        details={"before": b0, "after": b1, "floor": floor,
                                 "significance": b0 / floor if floor > 0 else float("inf"),
                                 "min_significance": min_significance},
                        uncertainty=sigma)
