"""NS-IFU03 — 1/f noise: banding in count-rate images and undulations of extracted spectra.

Metrics: banding after cleaning relative to before (rate vs cleaned rate, in the unilluminated
pixels), the low-frequency undulation of the extracted spectrum against the truth (synthetic),
and the share of significantly negative samples of an x1d.
"""

from __future__ import annotations

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import the_spectrum, true_spectrum
from ifuqa.metrics.detector import banding_reduction
from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra import (
    convolve_to_resolution,
    negative_flux_fraction,
    undulation_amplitude,
)

__all__ = ["banding", "negative_flux", "undulation"]


def _mask_for(model) -> np.ndarray:
    from ifuqa.instrument import get_disperser
    from ifuqa.instrument.layout import unilluminated_mask

    inst = model.meta.instrument
    if model.meta.calibration_software_name != "ifuqa":
        raise NotApplicable("the unilluminated-pixel mask is known only for ifuqa's synthetic "
                            "detector layout")
    return unilluminated_mask(get_disperser(inst.grating, inst.filter), inst.detector)


def banding(dataset, thresholds) -> MetricResult:
    """Worst (over exposures) banding ratio after/before cleaning.

    The "after" image is the cleaned rate written by the chain; when no cleaning ran, it is the
    rate itself (ratio 1: nothing was removed).
    """
    from stdatamodels.jwst import datamodels

    if not dataset.rate:
        raise NotApplicable("no rate files")
    cleaned = {p.name.replace("_nsclean.fits", ""): p for p in dataset.cleaned}
    results = []
    for rate_path in dataset.rate:
        stem = rate_path.name.replace("_rate.fits", "")
        with datamodels.open(rate_path) as model:
            before = np.asarray(model.data, dtype=float)
            mask = _mask_for(model)
        after = before
        if stem in cleaned:
            with datamodels.open(cleaned[stem]) as model:
                after = np.asarray(model.data, dtype=float)
        res = banding_reduction(before, after, mask,
                                threshold=thresholds["ns_ifu03.banding_ratio"])
        res.details["file"] = rate_path.name
        res.details["cleaned"] = stem in cleaned
        results.append(res)
    significant = [r for r in results if r.details["significance"] >= r.details[
        "min_significance"]]
    if not significant:
        best = max(r.details["significance"] for r in results)
        raise NotApplicable(f"no significant 1/f banding in the rate images (at most {best:.1f}x "
                            "the white-noise floor): nothing to clean")
    results = significant
    worst = max(results, key=lambda r: r.value)
    worst.message += f" in {worst.details['file']}" + ("" if worst.details["cleaned"]
                                                      else " (no cleaned image: not cleaned)")
    worst.plot["per_file"] = {r.details["file"]: (r.details["before"], r.details["after"])
                              for r in results}
    return worst


def undulation(dataset, thresholds) -> MetricResult:
    """Low-frequency undulation of the extracted spectrum against the LSF-convolved truth."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true spectrum (synthetic data)")
    if dataset.truth["sources"][0]["kind"] != "point":
        raise NotApplicable("the truth of an extended source is its total flux, which an "
                            "aperture spectrum does not measure")
    spec = the_spectrum(dataset.x1d)
    wave, flux, resolving = true_spectrum(dataset.truth)
    ref = np.interp(spec.wavelength_um, wave, convolve_to_resolution(wave, flux, resolving))
    return undulation_amplitude(spec.wavelength_um, spec.flux_jy, reference_jy=ref,
                                threshold_percent=thresholds["ns_ifu03.undulation_percent"])


def negative_flux(dataset, thresholds) -> MetricResult:
    """Share of significantly negative samples of the x1d."""
    spec = the_spectrum(dataset.x1d)
    return negative_flux_fraction(spec.flux_jy, spec.error_jy,
                                  threshold_percent=thresholds["ns_ifu03.negative_flux_percent"])
