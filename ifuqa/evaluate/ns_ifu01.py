"""NS-IFU01 — holes at the PSF peak from over-eager outlier rejection.

Metrics: depth of the PSF peak against a cube built without outlier rejection (synthetic), the
central depression of the PSF without truth (any cube), the share of PSF-core detector pixels
flagged, and the recall of injected cosmic rays above 10 σ (synthetic).
"""

from __future__ import annotations

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import fwhm_arcsec, the_cube
from ifuqa.metrics.cube import binned_images, peak_depth_against_reference, peak_hole
from ifuqa.metrics.detector import core_flag_fraction, cosmic_ray_recall
from ifuqa.metrics.result import MetricResult
from ifuqa.products import read_cube

__all__ = ["core_flags", "cosmic_ray_flags", "hole", "peak_depth"]


def hole(dataset, thresholds) -> MetricResult:  # noqa: ANN001
    """Central depression of the PSF in the cube, in wavelength bins (no truth needed)."""
    cube = the_cube(dataset.s3d)
    radius = 2.5 * float(np.nanmedian(fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    result = peak_hole(cube.data, cube.wavelength_um, radius_pix=radius / cube.spaxel_arcsec,
                       threshold_percent=thresholds["ns_ifu01.hole_depth_percent"])
    return result


def peak_depth(dataset, thresholds, *, n_bins: int = 6) -> MetricResult:  # noqa: ANN001
    """Depth of the PSF peak against the no-rejection reference cube (deepest of ``n_bins``)."""
    if dataset.reference_s3d is None:
        raise NotApplicable("no reference cube built without outlier rejection (synthetic "
                            "datasets only)")
    cube = the_cube(dataset.s3d)
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


def _flags_and_rates(dataset):  # noqa: ANN001, ANN202
    from stdatamodels.jwst import datamodels
    from stdatamodels.jwst.datamodels import dqflags

    if not dataset.cal:
        raise NotApplicable("no cal files (outlier flags live in their DQ)")
    outlier = dqflags.pixel["OUTLIER"]
    rates = {p.name.replace("_rate.fits", ""): p for p in dataset.rate}
    for cal in dataset.cal:
        stem = cal.name.replace("_cal.fits", "")
        if stem not in rates:
            continue
        with datamodels.open(cal) as model:
            flagged = (np.asarray(model.dq) & outlier) > 0
        with datamodels.open(rates[stem]) as model:
            rate = np.asarray(model.data, dtype=float)
            err = np.asarray(model.err, dtype=float)
        yield stem, flagged, rate, err


def core_flags(dataset, thresholds) -> MetricResult:  # noqa: ANN001
    """Share of PSF-core pixels (> 30 % of the column's peak) flagged, over all exposures."""
    from astropy.io import fits

    flagged_all, signal_all = [], []
    for stem, flagged, rate, _ in _flags_and_rates(dataset):
        sig = rate.copy()
        if dataset.truth_dir is not None and (dataset.truth_dir / f"{stem}_crmask.fits").is_file():
            sig[fits.getdata(dataset.truth_dir / f"{stem}_crmask.fits").astype(bool)] = 0.0
        flagged_all.append(flagged)
        signal_all.append(sig)
    if not flagged_all:
        raise NotApplicable("no cal file matches a rate file")
    return core_flag_fraction(np.concatenate(flagged_all, axis=1),
                              np.concatenate(signal_all, axis=1),
                              threshold_percent=thresholds["ns_ifu01.core_flagged_percent"])


def cosmic_ray_flags(dataset, thresholds) -> MetricResult:  # noqa: ANN001
    """Recall of injected cosmic-ray pixels above 10 σ (synthetic truth)."""
    from astropy.io import fits

    if dataset.truth_dir is None:
        raise NotApplicable("cosmic-ray truth exists only for synthetic data")
    flagged_all, cr_all, sigma_all = [], [], []
    for stem, flagged, _, err in _flags_and_rates(dataset):
        path = dataset.truth_dir / f"{stem}_crmask.fits"
        cr = fits.getdata(path, "CRRATE").astype(float)
        flagged_all.append(flagged)
        cr_all.append(cr)
        sigma_all.append(np.where(np.isfinite(err) & (err > 0), err, np.inf))
    if not flagged_all or not np.any([c.any() for c in cr_all]):
        raise NotApplicable("no cosmic rays were injected")
    return cosmic_ray_recall(np.concatenate(flagged_all), np.concatenate(cr_all),
                             np.concatenate(sigma_all),
                             threshold_percent=thresholds["ns_ifu01.cosmic_ray_recall_percent"])
