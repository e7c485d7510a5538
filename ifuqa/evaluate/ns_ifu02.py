"""NS-IFU02 — point-source flux conservation across output spaxel scales.

Metrics: extracted/true flux across the band (synthetic), the spread of that ratio across the
0.05", 0.1" and 0.2" spaxel scales (synthetic), and unit consistency of a cube/x1d pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import the_spectrum, true_spectrum
from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra import flux_ratio, flux_scale_dependence
from ifuqa.products import read_spectrum
from ifuqa.simulate.truth import Truth
from ifuqa.util.stats import mad_std_about_zero, nanmedian

if TYPE_CHECKING:
    from ifuqa.products import Spectrum
    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["flux_against_truth", "flux_vs_spaxel_scale"]


def _point(truth: Truth) -> None:
    if truth.source.kind != "point":
        raise NotApplicable("flux conservation is defined for a point source")


def flux_against_truth(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Extracted / true flux of the point source across the band."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true spectrum (synthetic data)")
    _point(dataset.truth)
    spec = the_spectrum(dataset.x1d)
    wave, flux, resolving = true_spectrum(dataset.truth)
    threshold = thresholds["ns_ifu02.flux_ratio_deviation"]
    noise = _bin_noise_percent(spec, wave, flux)
    if noise * 3 > threshold:
        raise NotApplicable(f"spectrum too noisy to test flux to {threshold:g} %: statistical "
                            f"uncertainty {noise:.2f} % per wavelength bin")
    result = flux_ratio(spec.wavelength_um, spec.flux_jy, wave, flux,
                        resolving_power=resolving, threshold_percent=threshold)
    result.details["bin_noise_percent"] = noise
    return result


def _bin_noise_percent(spec: Spectrum, wave: np.ndarray, flux: np.ndarray,
                       n_bins: int = 20) -> float:
    """Median statistical uncertainty (%) of the binned extracted/true ratio."""
    ref = np.interp(spec.wavelength_um, wave, flux)
    ok = np.isfinite(spec.flux_jy) & np.isfinite(spec.error_jy)
    if not ok.any():
        return float("inf")
    edges = np.linspace(spec.wavelength_um[ok].min(), spec.wavelength_um[ok].max(), n_bins + 1)
    index = np.clip(np.digitize(spec.wavelength_um[ok], edges) - 1, 0, n_bins - 1)
    var = np.bincount(index, spec.error_jy[ok] ** 2, n_bins)
    tot = np.bincount(index, ref[ok], n_bins)
    num = np.bincount(index, spec.flux_jy[ok], n_bins)
    with np.errstate(all="ignore"):
        propagated = float(nanmedian(np.sqrt(var) / tot) * 100.0)
        ratio = num / tot
    # empirical: bin-to-bin scatter of the ratio about a straight line (errors propagated
    # through cube building ignore the correlations it introduces)
    x = np.arange(n_bins)
    good = np.isfinite(ratio)
    resid = ratio[good] - np.polyval(np.polyfit(x[good], ratio[good], 1), x[good])
    empirical = float(mad_std_about_zero(resid) * 100.0)
    return max(propagated, empirical)


def flux_vs_spaxel_scale(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Spread of the extracted/true ratio across spaxel scales."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true spectrum (synthetic data)")
    _point(dataset.truth)
    if len(dataset.scale_x1d) < 2:
        raise NotApplicable("the dataset was not processed at several spaxel scales")
    wave, flux, resolving = true_spectrum(dataset.truth)
    ratios, binned = {}, {}
    for scale, path in sorted(dataset.scale_x1d.items()):
        spec = read_spectrum(path)
        r = flux_ratio(spec.wavelength_um, spec.flux_jy, wave, flux, resolving_power=resolving)
        ratios[scale] = r.details.get("median_ratio", float("nan"))
        binned[scale] = (r.plot.get("bin_wavelength_um"), r.plot.get("bin_ratio"))
    if not all(np.isfinite(list(ratios.values()))):
        raise NotApplicable("a spaxel-scale extraction has no valid flux")
    return flux_scale_dependence(ratios,
                                 threshold_percent=thresholds["ns_ifu02.flux_vs_spaxel_scale"],
                                 binned_by_scale=binned)
