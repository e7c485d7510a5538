"""NS-IFU03 — 1/f noise: banding in count-rate images and undulations of extracted spectra.

Metrics: banding after cleaning relative to before (rate vs cleaned rate, in the unilluminated
pixels), the low-frequency undulation of the extracted spectrum against the truth (synthetic),
and the share of significantly negative samples of an x1d.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import the_spectrum, true_spectrum, usable_spectrum
from ifuqa.metrics.banding import banding_reduction
from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra import (
    additive_undulation,
    clip_spikes,
    convolve_to_resolution,
    error_scale,
    negative_flux_fraction,
    undulation_amplitude,
)
from ifuqa.products.discovery import product_stem

if TYPE_CHECKING:
    from pathlib import Path

    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["banding", "negative_flux", "undulation"]


REFERENCE_BORDER = 4
"""Reference-pixel border of the NIRSpec detectors (pixels), never part of the mask."""


def _mask_for(model: Any, cal_path: Path | None = None, *,
              use_layout: bool = True) -> np.ndarray:
    """Unilluminated pixels of an exposure: ifuqa's layout for its own products, else the
    pixels that the exposure's cal file leaves undefined (NaN: outside every slice), with the
    illuminated region grown by 2 pixels and the reference border removed."""
    from scipy.ndimage import binary_dilation
    from stdatamodels.jwst import datamodels

    from ifuqa.instrument import get_disperser
    from ifuqa.instrument.layout import unilluminated_mask

    inst = model.meta.instrument
    if use_layout and _made_by_ifuqa(model):
        return unilluminated_mask(get_disperser(inst.grating, inst.filter), inst.detector)
    if cal_path is None:
        raise NotApplicable("no cal file for this exposure: its undefined (NaN) pixels are what "
                            "marks the unilluminated gaps between the slices")
    with datamodels.open(cal_path) as cal:
        lit = np.isfinite(np.asarray(cal.data))
    if lit.shape != np.shape(model.data):
        raise NotApplicable(f"{cal_path.name} and the rate image differ in shape")
    mask = ~binary_dilation(lit, iterations=2) & np.isfinite(np.asarray(model.data))
    b = REFERENCE_BORDER
    mask[:b] = mask[-b:] = False
    mask[:, :b] = mask[:, -b:] = False
    if mask.mean() < 0.05:
        raise NotApplicable(f"{cal_path.name} leaves too few unilluminated pixels "
                            f"({100 * mask.mean():.1f} %) for a banding measurement")
    return mask


def _made_by_ifuqa(model: Any) -> bool:
    """True for ifuqa's own simulated or processed products."""
    try:
        return model.meta.calibration_software_name == "ifuqa"
    except AttributeError:  # not in the schema, absent from a pipeline product
        return False


def banding(dataset: Dataset, thresholds: Thresholds, *, use_layout: bool = True) -> MetricResult:
    """Worst (over exposures) banding ratio after/before cleaning.

    The "after" image is the cleaned rate (``_nsclean``); for ifuqa's products, when no
    cleaning ran, it is the rate itself (ratio 1: nothing was removed). A user's rate without
    a cleaned version is reported as a skip with the banding it shows.
    """
    from stdatamodels.jwst import datamodels

    if not dataset.rate:
        raise NotApplicable("no rate files")
    cleaned = {product_stem(p): p for p in dataset.cleaned}
    cals = {product_stem(p): p for p in dataset.cal}
    results = []
    for rate_path in dataset.rate:
        stem = product_stem(rate_path)
        with datamodels.open(rate_path) as model:
            before = np.asarray(model.data, dtype=float)
            ours = _made_by_ifuqa(model)
            mask = _mask_for(model, cals.get(stem), use_layout=use_layout)
        if stem not in cleaned and not ours:
            level = banding_reduction(before, before, mask).details["significance"]
            raise NotApplicable(f"no cleaned rate (_nsclean) for {rate_path.name} to compare "
                                f"with; its banding is {level:.1f}x the white-noise floor")
        after = before
        if stem in cleaned:
            with datamodels.open(cleaned[stem]) as model:
                after = np.asarray(model.data, dtype=float)
        res = banding_reduction(before, after, mask,
                                threshold=thresholds["ns_ifu03.banding_residual_ratio"])
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


def undulation(dataset: Dataset, thresholds: Thresholds, *, use_truth: bool = True) -> MetricResult:
    """Low-frequency undulation of the extracted spectrum: against the LSF-convolved truth
    (synthetic point sources); on a user's x1d, its additive part
    (:func:`ifuqa.metrics.spectra.additive_undulation`: 1/f residuals add the same undulation
    wherever the source is bright or faint, the source's own features scale with it), on the
    usable samples (DQ clean, unflagged spikes removed)."""
    spec = the_spectrum(dataset.x1d)
    threshold = thresholds["ns_ifu03.undulation_amplitude"]
    if dataset.synthetic and use_truth:
        if dataset.truth.source.kind != "point":
            raise NotApplicable("the truth of an extended source is its total flux, which an "
                                "aperture spectrum does not measure")
        wave, flux, resolving = true_spectrum(dataset.truth)
        ref = np.interp(spec.wavelength_um, wave, convolve_to_resolution(wave, flux, resolving))
        return undulation_amplitude(spec.wavelength_um, spec.flux_jy, reference_jy=ref,
                                    threshold_percent=threshold)
    spec = usable_spectrum(spec)
    result = additive_undulation(spec.wavelength_um[spec.valid],
                                 clip_spikes(spec.flux_jy[spec.valid]),
                                 threshold_percent=threshold)
    result.message += f" in {spec.path.name}"
    result.evidence.update(flagged_fraction=spec.flagged_fraction)
    return result


def negative_flux(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Share of significantly negative samples of the x1d, on its usable rows (not flagged
    DO_NOT_USE), with its errors rescaled to the spectrum's measured scatter
    (:func:`ifuqa.metrics.spectra.error_scale`)."""
    spec = usable_spectrum(the_spectrum(dataset.x1d))
    scale = error_scale(spec.flux_jy[spec.valid], spec.error_jy[spec.valid])
    result = negative_flux_fraction(spec.flux_jy, spec.error_jy, valid=spec.valid, scale=scale,
                                    threshold_percent=thresholds["ns_ifu03.negative_flux_fraction"])
    result.message += f" in {spec.path.name}"
    if spec.flagged_fraction > 0:
        result.message += f"; {100 * spec.flagged_fraction:.0f} % of its rows DQ-flagged"
    result.evidence.update(flagged_fraction=spec.flagged_fraction)
    return result
