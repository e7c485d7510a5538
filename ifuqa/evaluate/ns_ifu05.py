"""NS-IFU05 — sinusoidal wiggles in spectra of undersampled point sources.

Metrics: the wiggle amplitude of the extracted (aperture) spectrum against the LSF-convolved truth
(synthetic) or against a smooth continuum, and the wiggle of the brightest spaxel's spectrum
relative to the aperture spectrum (any cube; informs how single-spaxel spectra would look).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    fwhm_arcsec,
    limit_for,
    the_cube,
    the_spectrum,
    true_spectrum,
    usable_spectrum,
)
from ifuqa.metrics.apertures import aperture_flux
from ifuqa.metrics.centroids import centroid
from ifuqa.metrics.result import MetricResult
from ifuqa.metrics.spectra import (
    clip_spikes,
    convolve_to_resolution,
    periodic_wiggle_amplitude,
    wiggle_amplitude,
)
from ifuqa.util.stats import nanmean, nanmedian

if TYPE_CHECKING:
    from ifuqa.products import Cube
    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["aperture_wiggle", "spaxel_spectra", "spaxel_wiggle"]


def aperture_wiggle(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Wiggle amplitude of the x1d: against the truth when known (band power in 5-50
    cycles/µm); on a user's x1d, whose real structure has power at every scale, the strongest
    periodic component (:func:`ifuqa.metrics.spectra.periodic_wiggle_amplitude`), on its usable
    samples (DQ clean, unflagged spikes removed). The amplitude's uncertainty decides, never a
    noise gate."""
    spec = usable_spectrum(the_spectrum(dataset.x1d))
    limit = limit_for(thresholds, "ns_ifu05.wiggle_amplitude")
    if dataset.synthetic:
        wave, flux, resolving = true_spectrum(dataset.truth)
        reference = np.interp(spec.wavelength_um, wave,
                              convolve_to_resolution(wave, flux, resolving))
        result = wiggle_amplitude(spec.wavelength_um, spec.flux_jy, reference,
                                  threshold_percent=limit.value,
                                  label=f"{spec.path.name} / truth")
    else:
        result = periodic_wiggle_amplitude(
            spec.wavelength_um[spec.valid], clip_spikes(spec.flux_jy[spec.valid]),
            threshold_percent=limit.value, label=f"{spec.path.name} against a cubic continuum")
        result.evidence.update(flagged_fraction=spec.flagged_fraction)
    result.evidence.update(limit.evidence())
    return result


def spaxel_spectra(cube: Cube, *, radius_fwhm: float = 2.0) -> tuple[np.ndarray, np.ndarray,
                                                                 tuple[int, int]]:
    """(brightest-spaxel spectrum, aperture spectrum at the centroid, spaxel (x, y))."""
    with np.errstate(all="ignore"):
        white = nanmean(cube.data, axis=0)
    fwhm = float(nanmedian(fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    cx, cy = centroid(white, radius_pix=2.5 * fwhm / cube.spaxel_arcsec)
    iy, ix = np.unravel_index(np.nanargmax(np.where(np.isfinite(white), white, -np.inf)),
                              white.shape)
    radius = radius_fwhm * fwhm / cube.spaxel_arcsec
    aperture = np.array([aperture_flux(plane, (cx, cy), radius) for plane in cube.data])
    return cube.data[:, iy, ix].astype(float), aperture, (int(ix), int(iy))


def spaxel_wiggle(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Wiggle amplitude of the brightest spaxel relative to the aperture spectrum."""
    cube = the_cube(dataset.s3d)
    if cube.data.shape[0] < 64:
        raise NotApplicable("too few wavelength planes for a wiggle measurement")
    spaxel, aperture, (ix, iy) = spaxel_spectra(cube)
    limit = limit_for(thresholds, "ns_ifu05.spaxel_wiggle_amplitude")
    res = wiggle_amplitude(cube.wavelength_um, spaxel, aperture, threshold_percent=limit.value,
                           label=f"brightest spaxel ({ix}, {iy}) / aperture")
    res.metric = "spaxel_wiggle_amplitude"
    res.evidence.update(limit.evidence(),
                        planes_used=int(np.isfinite(spaxel / aperture).sum()),
                        planes=int(cube.data.shape[0]))
    return res
