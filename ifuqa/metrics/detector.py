"""Detector-level metrics: 1/f banding (NS-IFU03) and outlier flags (NS-IFU01)."""

from __future__ import annotations

import numpy as np

from ifuqa.metrics import nanstat
from ifuqa.metrics.result import MetricResult

__all__ = ["banding_level", "banding_reduction", "core_flag_fraction", "injected_outlier_recall",
           "white_noise_floor"]


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


def white_noise_floor(image: np.ndarray, mask: np.ndarray) -> float:
    """Banding amplitude that white noise alone would produce (same unit as ``image``).

    The per-pixel white noise ``σ`` is the robust scatter of the unilluminated pixels about
    their column's median within each output (which removes the 1/f column offsets); a column
    median of ``n`` pixels scatters by ``1.2533 σ / √n``.
    """
    img = np.where(mask, np.asarray(image, dtype=float), np.nan)
    ny = img.shape[0]
    strips = 4 if ny % 4 == 0 else 1
    blocks = img.reshape(strips, ny // strips, img.shape[1])
    medians = nanstat.nanmedian(blocks, axis=1)[:, None, :]
    resid = (blocks - medians)[np.isfinite(blocks)]
    sigma = 1.4826 * np.median(np.abs(resid)) if resid.size else np.nan
    counts = np.asarray(mask).reshape(strips, ny // strips, mask.shape[1]).sum(axis=1)
    n = np.median(counts[counts > 0]) if np.any(counts > 0) else np.nan
    return float(1.2533 * sigma / np.sqrt(n))


def banding_reduction(before: np.ndarray, after: np.ndarray, mask: np.ndarray, *,
                      threshold: float = 0.2, min_significance: float = 3.0) -> MetricResult:
    """Residual banding after cleaning as a fraction of the banding before (NS-IFU03).

    Definition: the banding of :func:`banding_level` with the white-noise floor
    (:func:`white_noise_floor`) removed in quadrature, after / before cleaning; the fix must
    bring it to ≤ 1/5. ``details['significance']`` is the banding before over the floor: below
    ``min_significance`` the ratio is not meaningful (the evaluation skips).
    """
    from ifuqa.detector import banding_amplitude

    floor = white_noise_floor(before, mask)
    b0 = float(banding_amplitude(np.asarray(before, dtype=float), mask))
    b1 = float(banding_amplitude(np.asarray(after, dtype=float), mask))
    e0 = float(np.sqrt(max(b0**2 - floor**2, 0.0)))
    e1 = float(np.sqrt(max(b1**2 - floor**2, 0.0)))
    ratio = e1 / e0 if e0 > 0 else float("nan")
    return MetricResult("NS-IFU03", "banding_residual_ratio", ratio, "", threshold,
                        message=(f"banding above the white-noise floor {e0:.3g} → {e1:.3g} "
                                 f"(ratio {ratio:.3f}; floor {floor:.3g})"),
                        details={"before": b0, "after": b1, "floor": floor,
                                 "significance": b0 / floor if floor > 0 else float("inf"),
                                 "min_significance": min_significance})


def core_flag_fraction(flagged: np.ndarray, signal: np.ndarray, noise: np.ndarray | None = None,
                       *, core_fraction_of_peak: float = 0.3, min_snr: float = 20.0,
                       threshold_percent: float = 1.0) -> MetricResult:
    """Fraction of PSF-core pixels flagged as outliers (NS-IFU01).

    Definition: the PSF core is the set of detector pixels whose signal exceeds
    ``core_fraction_of_peak`` of the brightest pixel of their detector column (the peak of the
    source's spatial profile at that wavelength) and, when ``noise`` is given, is detected at
    ``min_snr`` or more; the metric is the percentage of them flagged. ``signal`` is the
    noiseless source rate on synthetic data, or the rate image with known artefacts zeroed.
    """
    sig = np.nan_to_num(np.asarray(signal, dtype=float))
    # isolated spikes (warm pixels, cosmic rays) are not a PSF: keep pixels with a bright
    # neighbour along the slice (the PSF core spans >= 2 rows at every wavelength)
    up = np.vstack([sig[1:], np.zeros((1, sig.shape[1]))])
    down = np.vstack([np.zeros((1, sig.shape[1])), sig[:-1]])
    extended = np.maximum(up, down) > 0.5 * core_fraction_of_peak * sig
    sig = np.where(extended, sig, 0.0)
    col_peak = sig.max(axis=0, keepdims=True)
    core = (sig > core_fraction_of_peak * col_peak) & (col_peak > 0)
    if noise is not None:
        core &= sig > min_snr * np.nan_to_num(np.asarray(noise, dtype=float), nan=np.inf)
    n = int(core.sum())
    frac = float(np.asarray(flagged)[core].mean() * 100.0) if n else float("nan")
    return MetricResult("NS-IFU01", "psf_core_flagged", frac, "%", threshold_percent,
                        message=f"{frac:.2f} % of {n} PSF-core pixels flagged as outliers",
                        details={"core_pixels": n})


def injected_outlier_recall(flagged: np.ndarray, injected: np.ndarray, noise_sigma: np.ndarray,
                            *, min_sigma: float = 10.0, threshold_percent: float = 90.0,
                            metric: str = "outlier_recall",
                            what: str = "injected outlier") -> MetricResult:
    """Recall of injected outliers above ``min_sigma`` (NS-IFU01).

    Definition: among pixels whose injected artefact signal exceeds ``min_sigma`` × the pixel's
    noise, the percentage flagged. The plot data hold the recall in bins of that significance
    (1 to 10⁴ σ, four bins per decade): the completeness curve of the flagging.
    """
    injected = np.asarray(injected, dtype=float)
    noise_sigma = np.asarray(noise_sigma, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    strong = injected > min_sigma * noise_sigma
    n = int(strong.sum())
    recall = float(flagged[strong].mean() * 100.0) if n else float("nan")
    hit = injected > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        significance = injected[hit] / noise_sigma[hit]
    edges = np.logspace(0.0, 4.0, 17)
    counts, _ = np.histogram(significance, edges)
    caught, _ = np.histogram(significance[flagged[hit]], edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_bin = np.where(counts > 0, 100.0 * caught / np.maximum(counts, 1), np.nan)
    plot = {"sigma_edges": edges, "recall_by_sigma_percent": by_bin, "pixels_by_sigma": counts,
            "min_sigma": float(min_sigma), "threshold_percent": float(threshold_percent)}
    return MetricResult("NS-IFU01", metric, recall, "%", threshold_percent, sense="min",
                        message=f"{recall:.1f} % of {n} {what} pixels above "
                                f"{min_sigma:g} sigma flagged", details={"pixels": n},
                        plot=plot)
