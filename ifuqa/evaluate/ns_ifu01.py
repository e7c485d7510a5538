"""NS-IFU01 — holes at the PSF peak from over-eager outlier rejection.

Metrics: depth of the PSF peak against a cube built without outlier rejection (synthetic), the
central depression of the PSF without truth (any cube), the share of PSF-core detector pixels
flagged, and the recall of injected cosmic rays above 10 σ (synthetic).
"""

from __future__ import annotations

import numpy as np

from ifuqa.discovery import product_stem
from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import MIN_BIN_SNR, fwhm_arcsec, require_snr, the_cube
from ifuqa.metrics import nanstat
from ifuqa.metrics.cube import binned_images, peak_depth_against_reference, peak_hole
from ifuqa.metrics.detector import core_flag_fraction, injected_outlier_recall
from ifuqa.metrics.result import MetricResult
from ifuqa.products import read_cube

MIN_CORE_PIXELS = 200
"""Core pixels needed for the flagged fraction to be meaningful at the 1 % level."""

__all__ = ["core_flags", "cosmic_ray_flags", "hole", "peak_depth", "warm_pixel_flags"]


def hole(dataset, thresholds) -> MetricResult:
    """Central depression of the PSF in the cube, in wavelength bins (no truth needed)."""
    cube = the_cube(dataset.s3d)
    require_snr(cube, n_bins=12, minimum=MIN_BIN_SNR)
    radius = 2.5 * float(nanstat.nanmedian(fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    result = peak_hole(cube.data, cube.wavelength_um, radius_pix=radius / cube.spaxel_arcsec,
                       threshold_percent=thresholds["ns_ifu01.hole_depth_percent"])
    return result


def peak_depth(dataset, thresholds, *, n_bins: int = 6) -> MetricResult:
    """Depth of the PSF peak against the no-rejection reference cube (deepest of ``n_bins``)."""
    if dataset.reference_s3d is None:
        raise NotApplicable("no noiseless reference cube for this dataset (built for "
                            "dithered, centred synthetic point sources only)")
    cube = the_cube(dataset.s3d)
    threshold = thresholds["ns_ifu01.peak_depth_percent"]
    # the peak spaxel carries ~1/4 of the bin's aperture S/N; 3 sigma below the threshold
    require_snr(cube, n_bins=n_bins, minimum=max(MIN_BIN_SNR, 4 * 3 * 100.0 / threshold))
    ref = read_cube(dataset.reference_s3d)
    test_imgs, waves = binned_images(cube.data, cube.wavelength_um, n_bins)
    ref_imgs, _ = binned_images(ref.data, ref.wavelength_um, n_bins)
    results = [peak_depth_against_reference(t, r, threshold_percent=thresholds[
        "ns_ifu01.peak_depth_percent"]) for t, r in zip(test_imgs, ref_imgs, strict=True)]
    worst = max(results, key=lambda r: r.value)
    worst.plot["wavelength_um"] = waves
    worst.plot["depth_percent"] = np.array([r.value for r in results])
    worst.message += f" (deepest of {n_bins} wavelength bins)"
    return worst


def _fill_flagged(values: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Replace undefined values at flagged pixels by the median of their defined 8-neighbours
    (the pipeline sets outliers to NaN in the cal, hiding the signal they had)."""
    out = values.copy()
    jj, ii = np.nonzero(flagged & ~np.isfinite(values))
    ny, nx = values.shape
    for j, i in zip(jj, ii, strict=True):
        patch = values[max(j - 1, 0):min(j + 2, ny), max(i - 1, 0):min(i + 2, nx)]
        if np.isfinite(patch).any():
            out[j, i] = np.nanmedian(patch)
    return out


def _flags_and_rates(dataset, *, use_rates: bool = True):
    """(stem, outlier flags, signal, noise) per exposure: the signal of the rate image when
    the dataset has it, else the cal image itself (outliers set to NaN filled from their
    neighbours)."""
    from stdatamodels.jwst import datamodels
    from stdatamodels.jwst.datamodels import dqflags

    if not dataset.cal:
        raise NotApplicable("no cal/crf files (outlier flags live in their DQ)")
    outlier = dqflags.pixel["OUTLIER"]
    rates = {product_stem(p): p for p in dataset.rate} if use_rates else {}
    for cal in dataset.cal:
        stem = product_stem(cal)
        with datamodels.open(cal) as model:
            flagged = (np.asarray(model.dq) & outlier) > 0
            if stem not in rates:
                signal = _fill_flagged(np.asarray(model.data, dtype=float), flagged)
                noise = _fill_flagged(np.asarray(model.err, dtype=float), flagged)
        if stem in rates:
            with datamodels.open(rates[stem]) as model:
                signal = np.asarray(model.data, dtype=float)
                noise = np.asarray(model.err, dtype=float)
        yield stem, flagged, signal, noise


def core_flags(dataset, thresholds, *, use_rates: bool = True) -> MetricResult:
    """Share of PSF-core pixels (> 30 % of the column's peak) flagged, over all exposures."""
    from astropy.io import fits

    flagged_all, signal_all, noise_all = [], [], []
    for stem, flagged, rate, err in _flags_and_rates(dataset, use_rates=use_rates):
        sig = rate.copy()
        if dataset.truth_dir is not None and (dataset.truth_dir / f"{stem}_crmask.fits").is_file():
            truth = dataset.truth_dir / f"{stem}_crmask.fits"
            sig[fits.getdata(truth).astype(bool)] = 0.0
            sig[fits.getdata(truth, "WARM") > 0] = 0.0
        flagged_all.append(flagged)
        signal_all.append(sig)
        noise_all.append(err)
    if not flagged_all:
        raise NotApplicable("no cal file matches a rate file")
    result = core_flag_fraction(np.concatenate(flagged_all, axis=1),
                                np.concatenate(signal_all, axis=1),
                                np.concatenate(noise_all, axis=1),
                                threshold_percent=thresholds["ns_ifu01.core_flagged_percent"])
    if result.details["core_pixels"] < MIN_CORE_PIXELS:
        raise NotApplicable(f"only {result.details['core_pixels']} PSF-core pixels detected at "
                            f"S/N >= 20 (needs {MIN_CORE_PIXELS} for a percent-level fraction)")
    return result


def _truth_recall(dataset, extension: str, **kwargs) -> MetricResult:
    from astropy.io import fits

    if dataset.truth_dir is None:
        raise NotApplicable("artefact truth exists only for synthetic data")
    flagged_all, injected_all, sigma_all = [], [], []
    for stem, flagged, _, err in _flags_and_rates(dataset):
        path = dataset.truth_dir / f"{stem}_crmask.fits"
        flagged_all.append(flagged)
        injected_all.append(fits.getdata(path, extension).astype(float))
        sigma_all.append(np.where(np.isfinite(err) & (err > 0), err, np.inf))
    result = injected_outlier_recall(np.concatenate(flagged_all), np.concatenate(injected_all),
                                     np.concatenate(sigma_all), **kwargs)
    if result.details["pixels"] == 0:
        raise NotApplicable(f"no injected {kwargs.get('what', 'artefact')} above 10 sigma")
    return result


def warm_pixel_flags(dataset, thresholds) -> MetricResult:
    """Recall of injected warm pixels (outliers at the same detector pixel in every dither,
    absent from the bad-pixel mask: what jwst's IFU method targets) above 10 σ."""
    return _truth_recall(dataset, "WARM", metric="warm_pixel_recall", what="warm",
                         threshold_percent=thresholds["ns_ifu01.outlier_recall_percent"])


def cosmic_ray_flags(dataset, thresholds) -> MetricResult:
    """Recall of the cosmic rays left in the rate images (those ramp fitting missed) above
    10 σ. jwst's IFU method compares dithers and so does not target transients seen in one
    exposure; reported for information with the same threshold."""
    return _truth_recall(dataset, "CRRATE", metric="cosmic_ray_recall", what="cosmic-ray",
                         threshold_percent=thresholds["ns_ifu01.outlier_recall_percent"])
