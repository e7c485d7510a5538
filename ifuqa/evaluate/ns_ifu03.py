"""NS-IFU03 — 1/f noise: banding in count-rate images and undulations of extracted spectra.

Metrics: banding after cleaning relative to before (rate vs cleaned rate, in the unilluminated
pixels), the additive low-frequency undulation on the cube's source-free spaxels and in the x1d
itself, and the share of significantly negative samples of an x1d. None compares with the truth:
1/f residuals are additive, the source's multiplicative artefacts (other issues' wiggles and
holes) are not counted.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    source_free_spaxels,
    the_cube,
    the_spectrum,
    usable_spectrum,
)
from ifuqa.metrics.banding import banding_reduction, held_out_rows
from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra import (
    additive_undulation,
    clip_spikes,
    error_scale,
    negative_flux_fraction,
)
from ifuqa.metrics.spectra.undulation import off_source_undulation
from ifuqa.products.discovery import product_stem
from ifuqa.products.read import file_version

if TYPE_CHECKING:
    from pathlib import Path

    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["banding", "negative_flux", "off_source", "undulation"]


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


CLEANING_KEYWORDS = ("S_CLNFNS", "S_NSCLEN")
"""Primary-header keywords of jwst's 1/f cleaning steps (``clean_flicker_noise``, jwst >= 1.16;
``nsclean``, 1.13-1.15)."""


def _skipped_cleaning(cal_path: Path) -> str | None:
    """Why the exposure's cal file shows that its rate went into calibration uncleaned, or None
    when it does not say so: a jwst cleaning step recorded as SKIPPED, or ifuqa's provenance
    (``IFQ_FIX`` without NS-IFU03: NSClean off)."""
    from ifuqa.products.probe import probe_fits

    header = probe_fits(cal_path)[0]
    for key in CLEANING_KEYWORDS:
        if str(header.get(key, "")).strip().upper() == "SKIPPED":
            return f"{cal_path.name} records {key} = SKIPPED"
    fixes = header.get("IFQ_FIX")
    if fixes is not None and "NS-IFU03" not in str(fixes).split(","):
        return f"{cal_path.name} was processed without NSClean (IFQ_FIX = {fixes})"
    return None


HOLD_OUT_KEYWORD = "IFQ_HOLD"
"""Primary-header keyword of a cleaned rate whose cleaning fit left out the odd blocks of this
many rows of the unilluminated pixels (:func:`ifuqa.metrics.banding.held_out_rows`)."""


def _held_out_block(cleaned_path: Path) -> int:
    """Rows per held-out block of a cleaned rate (0: the fit used every unilluminated pixel)."""
    from ifuqa.products.probe import probe_fits

    value = probe_fits(cleaned_path)[0].get(HOLD_OUT_KEYWORD, 0)
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        raise NotApplicable(f"{cleaned_path.name}: {HOLD_OUT_KEYWORD} = {value!r} is not a "
                            "number of rows") from None


_BANDING_MEMO: dict[tuple[Any, ...], MetricResult] = {}
_BANDING_MEMO_SIZE = 32
"""Exposures whose banding ratio :func:`banding` keeps (per process): the fixed dataset and its
NS-IFU01/02/04 defects share their rate files and their cleaned images (each build writes its
own copy of the ``_nsclean`` file), and measuring one exposure takes about 0.7 s."""


def _science_digest(path: Path) -> str | None:
    """Digest of a product's SCI array (its values, shape and type): what identifies a cleaned
    image whatever file and header it was written with; None when it cannot be read (the
    datamodel read then names the problem)."""
    import hashlib

    from astropy.io import fits

    try:
        with fits.open(path, memmap=True) as hdul:
            data = np.ascontiguousarray(hdul["SCI"].data)
    except (OSError, KeyError, TypeError, ValueError):
        return None
    digest = hashlib.blake2b(data.view(np.uint8), digest_size=16)
    digest.update(f"{data.shape}{data.dtype.str}".encode())
    return digest.hexdigest()


def _exposure_banding(rate_path: Path, before: np.ndarray, cleaned_path: Path | None,
                      mask: np.ndarray, mask_source: tuple[Any, ...], block: int,
                      threshold: float) -> MetricResult:
    """:func:`ifuqa.metrics.banding.banding_reduction` of one exposure's rate (``before``)
    against its cleaned rate (itself when ``cleaned_path`` is None), on ``mask`` restricted to
    the held-out rows when ``block``; measured once per version of the rate, cleaned image
    and mask (``mask_source`` says what the mask came from) and returned as a new copy each
    time."""
    from stdatamodels.jwst import datamodels

    versions = (file_version(rate_path),
                None if cleaned_path is None else _science_digest(cleaned_path))
    cacheable = versions[0] is not None and (cleaned_path is None or versions[1] is not None)
    key = (*versions, mask_source, block, threshold)
    if cacheable and key in _BANDING_MEMO:
        return copy.deepcopy(_BANDING_MEMO[key])
    after = before
    if cleaned_path is not None:
        with datamodels.open(cleaned_path) as model:
            after = np.asarray(model.data, dtype=float)
    if block:
        mask = mask & held_out_rows(mask.shape, block=block)
    res = banding_reduction(before, after, mask, threshold=threshold)
    if cacheable:
        if len(_BANDING_MEMO) >= _BANDING_MEMO_SIZE:
            _BANDING_MEMO.pop(next(iter(_BANDING_MEMO)))
        _BANDING_MEMO[key] = copy.deepcopy(res)
    return res


def banding(dataset: Dataset, thresholds: Thresholds, *, use_layout: bool = True) -> MetricResult:
    """Worst (over exposures) banding ratio after/before cleaning.

    Each rate is compared with its cleaned rate (``_nsclean``). An exposure without one is
    judged only when its cal file shows that it was calibrated uncleaned
    (:func:`_skipped_cleaning`): then the calibrated data carry the rate's whole banding (ratio
    1, exact). Any other exposure without a cleaned rate — no cal file (the exposure did not go
    into the products, e.g. the other dither positions of a one-dither cube) or a cal that does
    not say cleaning was skipped — is not judged, and named with the reason; with no exposure
    left, the check does not apply. When the cleaned rate records that its fit held rows out
    (:data:`HOLD_OUT_KEYWORD`), the ratio is measured on those rows only (out of sample);
    otherwise on the fit's own unilluminated pixels (in-sample, said in the message), where a
    fit that absorbs the column medians it is judged by looks better than it is.
    """
    from stdatamodels.jwst import datamodels

    if not dataset.rate:
        raise NotApplicable("no rate files")
    cleaned = {product_stem(p): p for p in dataset.cleaned}
    cals = {product_stem(p): p for p in dataset.cal}
    results, unjudged = [], []
    for rate_path in dataset.rate:
        stem = product_stem(rate_path)
        skipped = None
        if stem not in cleaned:
            if stem not in cals:
                unjudged.append(f"{rate_path.name}: no cleaned rate (_nsclean) and no cal file "
                                "(the exposure did not go into the products)")
                continue
            skipped = _skipped_cleaning(cals[stem])
        with datamodels.open(rate_path) as model:
            before = np.asarray(model.data, dtype=float)
            mask = _mask_for(model, cals.get(stem), use_layout=use_layout)
            inst = model.meta.instrument
            mask_source = (("layout", inst.grating, inst.filter, inst.detector)
                           if use_layout and _made_by_ifuqa(model)
                           else ("cal", file_version(cals[stem]) if stem in cals else None))
        if stem not in cleaned and skipped is None:
            level = banding_reduction(before, before, mask).details["significance"]
            unjudged.append(f"no cleaned rate (_nsclean) for {rate_path.name} to compare with, "
                            f"and {cals[stem].name} does not record that cleaning was skipped; "
                            f"its banding is {level:.1f}x the white-noise floor")
            continue
        block = _held_out_block(cleaned[stem]) if stem in cleaned else 0
        pixels = (f"held out of the fit: odd blocks of {block} rows" if block
                  else "in-sample")
        res = _exposure_banding(rate_path, before, cleaned.get(stem), mask, mask_source, block,
                                thresholds["ns_ifu03.banding_residual_ratio"])
        res.details["file"] = rate_path.name
        res.details["cleaned"] = skipped is None
        res.details["how"] = (f"cleaned: {cleaned[stem].name}" if skipped is None
                              else f"not cleaned: {skipped}")
        res.details["pixels"] = pixels
        results.append(res)
    if not results:
        raise NotApplicable("; ".join(unjudged))
    significant = [r for r in results if r.details["significance"] >= r.details[
        "min_significance"]]
    if not significant:
        best = max(r.details["significance"] for r in results)
        raise NotApplicable(f"no significant 1/f banding in the rate images (at most {best:.1f}x "
                            "the white-noise floor): nothing to clean")
    results = significant
    worst = max(results, key=lambda r: r.value)
    worst.message += (f" in {worst.details['file']} ({worst.details['how']}; "
                      f"{worst.details['pixels']})")
    if unjudged:
        worst.message += "; not judged: " + "; ".join(unjudged)
    worst.evidence.update(exposures_judged=len(results), exposures_not_judged=unjudged,
                          pixels=worst.details["pixels"])
    worst.plot["per_file"] = {r.details["file"]: (r.details["before"], r.details["after"])
                              for r in results}
    return worst


def undulation(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Additive low-frequency undulation of the extracted spectrum, from the x1d alone
    (:func:`ifuqa.metrics.spectra.additive_undulation`: 1/f residuals add the same undulation
    wherever the source is bright or faint, the source's own features and multiplicative
    artefacts — resampling wiggles, PSF-core holes — scale with it), on the usable samples (DQ
    clean, unflagged spikes removed). It needs a source whose level changes over the band: on a
    flat spectrum additive and proportional structure cannot be told apart and the verdict is
    undecided. Synthetic and user products are judged alike (no comparison with the truth,
    which would also count the multiplicative artefacts of other issues)."""
    spec = usable_spectrum(the_spectrum(dataset.x1d))
    result = additive_undulation(spec.wavelength_um[spec.valid],
                                 clip_spikes(spec.flux_jy[spec.valid]),
                                 threshold_percent=thresholds["ns_ifu03.undulation_amplitude"])
    result.message += f" in {spec.path.name}"
    result.evidence.update(flagged_fraction=spec.flagged_fraction)
    return result


OFF_SOURCE_MARGIN_FWHM = 3.0
"""Source-free spaxels start this many PSF FWHM (the largest over the band) beyond the edge of
the extraction aperture."""

MIN_HALF_SPAXELS = 20
"""Each half of the source-free spaxels needs at least this many spaxels."""


def off_source(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """The additive (1/f) undulation the x1d's aperture collects, measured where the cube has
    no source (:func:`ifuqa.metrics.spectra.off_source_undulation`): the mean spectrum of the
    covered spaxels more than :data:`OFF_SOURCE_MARGIN_FWHM` FWHM beyond the extraction
    aperture, split at its median column into two halves (one spaxel between them, so that no
    drizzle kernel feeds both) whose difference gives the noise; scaled to the aperture's area
    (NPIXELS) and to the x1d's median flux. Needs no truth; the source's multiplicative
    artefacts (wiggles, holes) are absent there."""
    cube = the_cube(dataset.s3d)
    spec = usable_spectrum(the_spectrum(dataset.x1d))
    kind = (spec.source_type or cube.srctype or "").upper()
    if kind == "EXTENDED":
        raise NotApplicable(f"{spec.path.name}: SRCTYPE=EXTENDED, the source fills the field: no "
                            "source-free spaxels to measure additive residuals on")
    data = np.asarray(cube.data, dtype=float)
    region = source_free_spaxels(cube, spec, OFF_SOURCE_MARGIN_FWHM)
    free, xx, npix = region.mask, region.x, region.npix
    split = float(np.median(xx[free])) if free.any() else 0.0
    halves = [free & (xx < split - 0.5), free & (xx > split + 0.5)]
    counts = [int(h.sum()) for h in halves]
    if min(counts) < MIN_HALF_SPAXELS:
        raise NotApplicable(f"{cube.path.name}: too few source-free spaxels ({counts[0]} and "
                            f"{counts[1]} in the two halves, need {MIN_HALF_SPAXELS} each, more "
                            f"than {region.distance_pix:.1f} spaxels from the extraction "
                            "centre)")
    with np.errstate(all="ignore"):
        off_a, off_b = (np.nanmean(data[:, h], axis=1) for h in halves)
    area_sr = (cube.spaxel_arcsec / 206264.806) ** 2 if cube.bunit == "MJy/sr" else 1.0
    to_jy = npix * area_sr * 1e6  # mean per-spaxel MJy(/sr) -> Jy in the aperture
    level = float(np.nanmedian(spec.flux_jy[spec.valid]))
    if not level > 0:
        raise NotApplicable(f"{spec.path.name}: median flux {level:.3g} Jy, no positive source "
                            "level to compare the undulation with")
    step = float(np.median(np.diff(cube.wavelength_um)))
    result = off_source_undulation(cube.wavelength_um, off_a, off_b, to_aperture_jy=to_jy,
                                   level_jy=level, um_per_column=step,
                                   threshold_percent=thresholds[
                                       "ns_ifu03.off_source_undulation"])
    result.message += (f" in {cube.path.name} ({counts[0]} + {counts[1]} source-free spaxels; "
                       f"aperture of {spec.path.name})")
    result.evidence.update(spaxels=counts, um_per_column=step)
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
