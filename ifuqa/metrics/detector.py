"""Detector-level metrics: 1/f banding (NS-IFU03) and outlier flags (NS-IFU01)."""

from __future__ import annotations

import numpy as np

from ifuqa.metrics.result import MetricResult

__all__ = ["banding_reduction", "banding_level", "core_flag_fraction", "cosmic_ray_recall"]


def banding_level(image: np.ndarray, mask: np.ndarray, *, threshold: float = 1.0,
                  unit: str = "DN/s") -> MetricResult:
    """Vertical-banding amplitude of a count-rate image in its unilluminated pixels (NS-IFU03).

    Definition: robust rms of the per-column medians of the unilluminated pixels within each of
    the four 512-row outputs (pipeline orientation), after removing each output's median
    (:func:`ifuqa.detector.banding_amplitude`), in the image's unit.
    """
    from ifuqa.detector import banding_amplitude

    value = float(banding_amplitude(np.asarray(image, dtype=float), mask))
    return MetricResult("NS-IFU03", "banding_amplitude", value, unit, threshold,
                        message=f"column-correlated (1/f) banding {value:.3g} {unit} rms")


def banding_reduction(before: np.ndarray, after: np.ndarray, mask: np.ndarray, *,
                      threshold: float = 0.2) -> MetricResult:
    """Residual banding after cleaning as a fraction of the banding before (NS-IFU03).

    Definition: ``banding(after) / banding(before)`` with the banding of
    :func:`banding_level`; the fix must bring it to ≤ 1/5.
    """
    from ifuqa.detector import banding_amplitude

    b0 = float(banding_amplitude(np.asarray(before, dtype=float), mask))
    b1 = float(banding_amplitude(np.asarray(after, dtype=float), mask))
    ratio = b1 / b0 if b0 > 0 else float("nan")
    return MetricResult("NS-IFU03", "banding_residual_ratio", ratio, "", threshold,
                        message=f"banding {b0:.3g} → {b1:.3g} (ratio {ratio:.3f})",
                        details={"before": b0, "after": b1})


def core_flag_fraction(flagged: np.ndarray, signal: np.ndarray, *,
                       core_fraction_of_peak: float = 0.3,
                       threshold_percent: float = 1.0) -> MetricResult:
    """Fraction of PSF-core pixels flagged as outliers (NS-IFU01).

    Definition: among detector pixels whose source signal exceeds ``core_fraction_of_peak`` of
    the brightest source pixel in their detector column (the PSF core in each wavelength), the
    percentage flagged. ``signal`` is the noiseless source rate on synthetic data, or a
    smoothed median over dithers on real data.
    """
    sig = np.nan_to_num(np.asarray(signal, dtype=float))
    col_peak = sig.max(axis=0, keepdims=True)
    core = (sig > core_fraction_of_peak * col_peak) & (col_peak > 0)
    n = int(core.sum())
    frac = float(np.asarray(flagged)[core].mean() * 100.0) if n else float("nan")
    return MetricResult("NS-IFU01", "psf_core_flagged", frac, "%", threshold_percent,
                        message=f"{frac:.2f} % of {n} PSF-core pixels flagged as outliers",
                        details={"core_pixels": n})


def cosmic_ray_recall(flagged: np.ndarray, cr_image: np.ndarray, noise_sigma: np.ndarray, *,
                      min_sigma: float = 10.0, threshold_percent: float = 90.0) -> MetricResult:
    """Recall of injected cosmic rays above ``min_sigma`` (NS-IFU01).

    Definition: among pixels whose injected cosmic-ray signal exceeds ``min_sigma`` × the
    pixel's noise, the percentage flagged.
    """
    strong = np.asarray(cr_image) > min_sigma * np.asarray(noise_sigma)
    n = int(strong.sum())
    recall = float(np.asarray(flagged)[strong].mean() * 100.0) if n else float("nan")
    return MetricResult("NS-IFU01", "cosmic_ray_recall", recall, "%", threshold_percent,
                        sense="min",
                        message=f"{recall:.1f} % of {n} cosmic-ray pixels above "
                                f"{min_sigma:g} sigma flagged")
