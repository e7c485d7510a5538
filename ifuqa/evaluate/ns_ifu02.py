"""NS-IFU02 — point-source flux conservation across output spaxel scales.

Metrics: extracted/true flux across the band (synthetic), the spread of that ratio across the
0.05", 0.1" and 0.2" spaxel scales (synthetic), and unit consistency of a cube/x1d pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    aperture_pixels,
    cube_fwhm,
    detect_source,
    the_spectrum,
    true_spectrum,
)
from ifuqa.evaluate.coverage import require_clear_of_field_edges
from ifuqa.metrics.noise_calibration import aperture_noise_factor, circular_aperture_sums
from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra import flux_ratio, flux_scale_dependence
from ifuqa.products import read_cube, read_spectrum
from ifuqa.simulate.truth import Truth

if TYPE_CHECKING:
    from ifuqa.products import Spectrum
    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["NOISE_MARGIN_FWHM", "flux_against_truth", "flux_vs_spaxel_scale"]

NOISE_MARGIN_FWHM = 2.0
"""Source-free apertures for the noise calibration lie beyond the extraction aperture by this
many PSF FWHM (the PSF's far wings change slowly with wavelength and are fitted out)."""


def _point(truth: Truth) -> None:
    if truth.source.kind != "point":
        raise NotApplicable("flux conservation is defined for a point source")


def _correlated_noise(cube_path: Path, spec: Spectrum) -> tuple[np.ndarray | None,
                                                                  dict[str, Any]]:
    """The variance per x1d sample (Jy²) that the x1d's error column leaves out, measured on
    the cube's source-free spaxels
    (:func:`ifuqa.metrics.noise_calibration.aperture_noise_factor`), and the evidence; (None,
    why) when it cannot be measured."""
    cube = read_cube(cube_path)
    data, err = np.asarray(cube.data, dtype=float), np.asarray(cube.err, dtype=float)
    n_planes = data.shape[0]
    try:
        npix = aperture_pixels(spec.path, n_planes)
    except NotApplicable as exc:
        return None, {"noise_calibration": str(exc)}
    if spec.extraction_xy is None:
        return None, {"noise_calibration": f"{spec.path.name} does not record its extraction "
                                           "centre"}
    radius = float(np.sqrt(np.nanmax(npix) / np.pi))
    margin = NOISE_MARGIN_FWHM * float(np.nanmax(cube_fwhm(cube))) / cube.spaxel_arcsec
    cal = aperture_noise_factor(data, err, spec.extraction_xy, radius, radius + margin)
    if not np.isfinite(cal.factor):
        return None, {"noise_calibration": f"{cal.apertures} source-free apertures of "
                                           f"{radius:.1f} spaxels in {cube_path.name}"}
    source, _ = circular_aperture_sums(data, err, spec.extraction_xy, radius)
    planes = np.isfinite(spec.flux_jy) & (source != 0)
    if not planes.any() or np.sum(source[planes]) == 0:
        return None, {"noise_calibration": "no flux in the extraction aperture"}
    jy_per_unit = float(np.sum(spec.flux_jy[planes]) / np.sum(source[planes]))
    excess = max(cal.factor**2 - 1.0, 0.0) * cal.plane_variance * jy_per_unit**2
    return excess, {**cal.evidence, "noise_cube": cube_path.name}


def _require_source_clear_of_field_edges(dataset: Dataset, spec: Spectrum | None,
                                         what: str) -> dict[str, Any]:
    """NotApplicable when a dither position's field edge runs through the source's PSF core
    (:func:`ifuqa.evaluate.coverage.require_clear_of_field_edges`): drizzle's coverage
    weighting then moves the cube's flux by a few %, whatever the calibration does. Returns
    the coverage's evidence (empty when the fields are unknown)."""
    if not dataset.s3d or not dataset.cal:
        return {}
    cube = read_cube(dataset.s3d[0])
    center = spec.extraction_xy if spec is not None else None
    if center is None:
        center = detect_source(cube).center_xy
    coverage = require_clear_of_field_edges(dataset, cube, center, what=what)
    return coverage.evidence() if coverage is not None else {}


def flux_against_truth(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Extracted / true flux of the point source across the band.

    Each wavelength bin's ratio carries the x1d's error column plus the correlated noise the
    error column leaves out, measured on the cube's source-free spaxels — information
    independent of the ratio under test, whose own scatter is never used (a defect that
    changes the flux with wavelength would otherwise widen its own error bar)."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true spectrum (synthetic data)")
    _point(dataset.truth)
    spec = the_spectrum(dataset.x1d)
    wave, flux, resolving = true_spectrum(dataset.truth)
    if not np.any(np.asarray(flux, dtype=float) > 0):
        raise NotApplicable("the true source flux is zero across the band: the extracted/true "
                            "ratio is undefined")
    coverage = _require_source_clear_of_field_edges(dataset, spec,
                                                    "the extracted flux against the truth")
    extra, evidence = (_correlated_noise(dataset.s3d[0], spec) if dataset.s3d
                       else (None, {"noise_calibration": "no cube"}))
    result = flux_ratio(spec.wavelength_um, spec.flux_jy, wave, flux,
                        resolving_power=resolving,
                        threshold_percent=thresholds["ns_ifu02.flux_ratio_deviation"],
                        flux_error_jy=spec.error_jy, extra_variance_jy2=extra)
    result.evidence.update(evidence, **coverage)
    return result


def flux_vs_spaxel_scale(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Spread of the extracted/true ratio across spaxel scales."""
    if not dataset.synthetic:
        raise NotApplicable("needs the true spectrum (synthetic data)")
    _point(dataset.truth)
    if len(dataset.scale_x1d) < 2:
        raise NotApplicable("the dataset was not processed at several spaxel scales")
    _require_source_clear_of_field_edges(
        dataset, read_spectrum(dataset.x1d[0]) if dataset.x1d else None,
        "the flux's change with the spaxel scale (the partly covered spaxels grow with it)")
    wave, flux, resolving = true_spectrum(dataset.truth)
    ratios, binned, sigmas, noise = {}, {}, {}, {}
    for scale, path in sorted(dataset.scale_x1d.items()):
        spec = read_spectrum(path)
        # the scale's own cube beside its x1d; the main cube for the scale it was built at
        cube = path.with_name(path.name.replace("_x1d.fits", "_s3d.fits"))
        cube = cube if cube.is_file() else (dataset.s3d[0] if dataset.s3d else None)
        extra, evidence = (_correlated_noise(cube, spec) if cube is not None
                           else (None, {"noise_calibration": "no cube for this scale"}))
        r = flux_ratio(spec.wavelength_um, spec.flux_jy, wave, flux, resolving_power=resolving,
                       flux_error_jy=spec.error_jy, extra_variance_jy2=extra)
        ratios[scale] = r.details.get("median_ratio", float("nan"))
        binned[scale] = (r.plot.get("bin_wavelength_um"), r.plot.get("bin_ratio"))
        sigmas[scale] = r.details.get("median_ratio_sigma", float("nan"))
        noise[f"{scale:g}"] = evidence
    if not all(np.isfinite(list(ratios.values()))):
        raise NotApplicable("a spaxel-scale extraction has no valid flux")
    result = flux_scale_dependence(
        ratios, threshold_percent=thresholds["ns_ifu02.flux_vs_spaxel_scale"],
        binned_by_scale=binned,
        sigma_by_scale=sigmas if all(np.isfinite(list(sigmas.values()))) else None)
    result.evidence["noise_by_scale"] = noise
    return result
