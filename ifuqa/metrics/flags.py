"""Outlier-flag metrics of calibrated detector images (NS-IFU01): the share of PSF-core pixels
flagged, and the recall of injected artefacts (warm pixels, cosmic rays) against their
significance.
"""

from __future__ import annotations

import numpy as np

from ifuqa.metrics.result import MetricResult

__all__ = ["core_flag_fraction", "counting_uncertainty_percent", "injected_outlier_recall"]


def counting_uncertainty_percent(hits: int, trials: int) -> float:
    """1σ uncertainty (in %) of the share ``hits / trials``, from counting alone.

    The standard deviation of the share's Jeffreys posterior, Beta(hits + ½, trials − hits + ½):
    unlike the binomial ``sqrt(p(1 − p)/n)`` it is not zero at 0 % or 100 %, so "none of 12
    pixels flagged" is not read as an exact 0 %. Pixels are taken as independent; flags that
    cluster (a whole PSF core) make the true scatter larger.

    Parameters
    ----------
    hits, trials : int
        Pixels flagged (or caught) and pixels counted.

    Returns
    -------
    float
        NaN when ``trials`` is 0.

    Examples
    --------
    >>> round(counting_uncertainty_percent(0, 1000), 3)
    0.071
    >>> round(counting_uncertainty_percent(50, 100), 2)
    4.95
    """
    if trials <= 0:
        return float("nan")
    a, b = hits + 0.5, trials - hits + 0.5
    return float(100.0 * np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0))))


def core_flag_fraction(flagged: np.ndarray, signal: np.ndarray, noise: np.ndarray | None = None,
                       *, core_fraction_of_peak: float = 0.3, min_snr: float = 20.0,
                       threshold_percent: float = 1.0) -> MetricResult:
    """Fraction of PSF-core pixels flagged as outliers (NS-IFU01).

    Definition: the PSF core is the set of detector pixels whose signal exceeds
    ``core_fraction_of_peak`` of the brightest pixel of their detector column (the peak of the
    source's spatial profile at that wavelength) and, when ``noise`` is given, is detected at
    ``min_snr`` or more; the metric is the percentage of them flagged. ``signal`` is the
    noiseless source rate on synthetic data, or the rate image with known artefacts zeroed.
    Isolated spikes (no neighbour along the slice above half the core level) are not core.

    Examples
    --------
    The uncertainty is the share's counting uncertainty
    (:func:`counting_uncertainty_percent`). A trace three rows wide along 50 columns (150 core
    pixels), 15 of them flagged:

    >>> signal = np.zeros((50, 50))
    >>> signal[20:23, :] = [[0.5], [1.0], [0.6]]
    >>> flagged = np.zeros((50, 50), dtype=bool)
    >>> flagged[21, :15] = True
    >>> result = core_flag_fraction(flagged, signal)
    >>> round(result.value, 2), round(result.uncertainty, 2), result.details["core_pixels"]
    (10.0, 2.46, 150)
    >>> result.verdict
    'fail'

    5 of the 150 (3.3 ± 1.5 %) cannot tell a 1 % limit from 3 %:

    >>> flagged[21, 5:15] = False
    >>> core_flag_fraction(flagged, signal).verdict
    'undecided'
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
    k = int(np.asarray(flagged)[core].sum())
    frac = 100.0 * k / n if n else float("nan")
    return MetricResult("NS-IFU01", "psf_core_flagged", frac, "%", threshold_percent,
                        message=f"{frac:.2f} % of {n} PSF-core pixels flagged as outliers",
                        details={"core_pixels": n, "flagged_core_pixels": k},
                        uncertainty=counting_uncertainty_percent(k, n) if n else None)


def injected_outlier_recall(flagged: np.ndarray, injected: np.ndarray, noise_sigma: np.ndarray,
                            *, min_sigma: float = 10.0, threshold_percent: float = 90.0,
                            metric: str = "outlier_recall",
                            what: str = "injected outlier") -> MetricResult:
    """Recall of injected outliers above ``min_sigma`` (NS-IFU01).

    Definition: among pixels whose injected artefact signal exceeds ``min_sigma`` × the pixel's
    noise, the percentage flagged. The plot data hold the recall in bins of that significance
    (1 to 10⁴ σ, four bins per decade): the completeness curve of the flagging. The uncertainty
    is the recall's counting uncertainty (:func:`counting_uncertainty_percent`).

    Examples
    --------
    Ten artefacts of 50 σ, nine flagged, and a 5 σ one (below ``min_sigma``) missed:

    >>> injected = np.zeros(100)
    >>> injected[:10], injected[10] = 50.0, 5.0
    >>> flagged = np.zeros(100, dtype=bool)
    >>> flagged[:9] = True
    >>> result = injected_outlier_recall(flagged, injected, np.ones(100))
    >>> result.value, result.details["pixels"], round(result.uncertainty, 1)
    (90.0, 10, 9.9)

    Ten pixels cannot show a recall of at least 90 %:

    >>> result.verdict
    'undecided'

    A thousand, 95 % of them caught, can:

    >>> injected = np.full(1000, 50.0)
    >>> flagged = np.arange(1000) < 950
    >>> injected_outlier_recall(flagged, injected, np.ones(1000)).verdict
    'pass'
    """
    injected = np.asarray(injected, dtype=float)
    noise_sigma = np.asarray(noise_sigma, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    strong = injected > min_sigma * noise_sigma
    n = int(strong.sum())
    k = int(flagged[strong].sum())
    recall = 100.0 * k / n if n else float("nan")
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
                        plot=plot, uncertainty=counting_uncertainty_percent(k, n) if n else None)
