"""NS-IFU05 — sinusoidal wiggles in spectra of undersampled point sources.

Metrics: the wiggle amplitude of the extracted (aperture) spectrum against the LSF-convolved truth
(synthetic) or against a smooth continuum, and the wiggle of the brightest spaxel's spectrum
relative to the aperture spectrum (any cube; informs how single-spaxel spectra would look).

The band follows the disperser (:func:`trace_wiggle_band`): a wiggle has one cycle per detector
row the trace crosses, ``|dy/dx|`` cycles per detector column, so the band is the range of the
trace slopes (``ifuqa.instrument.layout``) over the columns the spectrum covers, up to the second
harmonic; the analysis runs in detector columns (PRISM's non-linear dispersion included).
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

GENERIC_BAND_CYCLES_PER_UM = (5.0, 50.0)
"""The band used without a NIRSpec disperser model (other instruments, unknown grating): the
typical 5–50 cycles/µm of KNOWN_ISSUES."""

HARMONICS = 2
"""Harmonics of the trace-crossing frequency in the band: an undersampled PSF (FWHM ~1.5
detector rows) makes a spaxel's response to the row phase non-sinusoidal, with a second
harmonic."""

if TYPE_CHECKING:
    from ifuqa.products import Cube
    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["GENERIC_BAND_CYCLES_PER_UM", "HARMONICS", "aperture_wiggle", "spaxel_spectra",
           "spaxel_wiggle", "trace_wiggle_band"]


def trace_wiggle_band(grating: str | None, filter_name: str | None, wavelength_um: np.ndarray
                      ) -> tuple[np.ndarray | None, tuple[float, float], dict]:
    """Detector columns of a spectrum's samples and the wiggle band in cycles per column.

    From the disperser's model (:mod:`ifuqa.instrument.dispersers`: wavelength → virtual
    column, NRS2 columns continuing past the gap) and the trace model
    (:func:`ifuqa.instrument.trace_center`, all 30 slices with their ±10 % slope spread): the
    trace slopes ``|dy/dx|`` over the columns the spectrum covers give the fundamental
    ``[min, max]``; the band is ``[max(min, 1 / span), HARMONICS × max]`` (a wiggle needs one
    cycle over the spectrum to be told from its continuum).

    Parameters
    ----------
    grating, filter_name : str or None
        The product's GRATING and FILTER.
    wavelength_um : numpy.ndarray
        The spectrum's wavelengths.

    Returns
    -------
    columns, band, evidence
        The virtual column of each sample (None without a NIRSpec disperser: then the band is
        :data:`GENERIC_BAND_CYCLES_PER_UM` in cycles/µm), the band, and what it came from.

    Examples
    --------
    >>> cols, band, ev = trace_wiggle_band("G395M", "F290LP", np.linspace(2.9, 5.2, 1900))
    >>> [round(b, 4) for b in band], ev["fundamental_cycles_per_um"]
    ([0.0005, 0.0326], [0.1, 13.8])
    >>> trace_wiggle_band("MIRI", None, np.linspace(5, 6, 10))[0] is None
    True
    """
    from ifuqa.instrument import get_disperser, trace_center
    from ifuqa.instrument.dispersers import DETECTOR_COLUMNS, GAP_COLUMNS
    from ifuqa.instrument.layout import N_SLICES

    try:
        disperser = get_disperser(str(grating), str(filter_name))
    except ValueError:
        return None, GENERIC_BAND_CYCLES_PER_UM, {
            "band_origin": f"no NIRSpec disperser model for {grating}/{filter_name}: the "
                           "generic 5-50 cycles/um"}
    wave = np.asarray(wavelength_um, dtype=float)
    columns = np.asarray(disperser.virtual_column_of_wavelength(wave), dtype=float)
    ok = np.isfinite(columns)
    on_nrs2 = columns >= DETECTOR_COLUMNS
    detector_x = np.where(on_nrs2, columns - DETECTOR_COLUMNS - GAP_COLUMNS, columns)[ok]
    k = np.arange(N_SLICES)[:, None]
    slope = np.abs(trace_center(detector_x + 0.5, k) - trace_center(detector_x - 0.5, k))
    span = float(np.ptp(columns[ok]))
    low, high = float(slope.min()), float(slope.max())
    band = (max(low, 1.0 / max(span, 1.0)), HARMONICS * high)
    lam = wave[ok]
    dispersion = float(np.median(np.abs(np.diff(lam) / np.diff(columns[ok])))) if lam.size > 1 \
        else disperser.dispersion_um_per_px
    return columns, band, {
        "band_origin": f"{disperser.name} trace slopes over columns "
                       f"{columns[ok].min():.0f}-{columns[ok].max():.0f}",
        "fundamental_cycles_per_column": [round(low, 5), round(high, 5)],
        "fundamental_cycles_per_um": [round(low / dispersion, 1), round(high / dispersion, 1)],
        "band_cycles_per_column": [round(band[0], 5), round(band[1], 5)]}


def _wiggle_on(wave: np.ndarray, values: np.ndarray, reference: np.ndarray | None,
               grating: str | None, filter_name: str | None, **kwargs: object) -> MetricResult:
    columns, band, evidence = trace_wiggle_band(grating, filter_name, wave)
    if columns is None:
        result = wiggle_amplitude(wave, values, reference, band_cycles_per_um=band, **kwargs)
    else:
        result = wiggle_amplitude(wave, values, reference, columns=columns,
                                  band_cycles_per_column=band, **kwargs)
    if result.details.get("modes", 1) < 1:
        lo, hi = float(np.nanmin(wave)), float(np.nanmax(wave))
        raise NotApplicable(f"the spectrum ({lo:.3f}-{hi:.3f} um) spans less than one period of "
                            "the disperser's wiggle band: a wiggle there cannot be told from "
                            "the continuum")
    result.evidence.update(evidence)
    return result


def aperture_wiggle(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Wiggle amplitude of the x1d in the disperser's band (:func:`trace_wiggle_band`): against
    the truth when known, the periodic component of x1d / truth
    (:func:`ifuqa.metrics.spectra.wiggle_amplitude`: steps and spikes are not wiggles); on a
    user's x1d, whose real structure has power at every scale, the strongest periodic component
    (:func:`ifuqa.metrics.spectra.periodic_wiggle_amplitude`), on its usable samples (DQ clean,
    unflagged spikes removed). The amplitude's uncertainty decides, never a noise gate."""
    spec = usable_spectrum(the_spectrum(dataset.x1d))
    limit = limit_for(thresholds, "ns_ifu05.wiggle_amplitude")
    if dataset.synthetic:
        wave, flux, resolving = true_spectrum(dataset.truth)
        reference = np.interp(spec.wavelength_um, wave,
                              convolve_to_resolution(wave, flux, resolving))
        result = _wiggle_on(spec.wavelength_um, spec.flux_jy, reference, spec.grating,
                            spec.filter, threshold_percent=limit.value,
                            label=f"{spec.path.name} / truth")
    else:
        wave = spec.wavelength_um[spec.valid]
        columns, band, evidence = trace_wiggle_band(spec.grating, spec.filter, wave)
        bands = ({"band_cycles_per_um": band} if columns is None
                 else {"columns": columns, "band_cycles_per_column": band})
        result = periodic_wiggle_amplitude(
            wave, clip_spikes(spec.flux_jy[spec.valid]), **bands,
            threshold_percent=limit.value, label=f"{spec.path.name} against a cubic continuum")
        result.evidence.update(evidence, flagged_fraction=spec.flagged_fraction)
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
    res = _wiggle_on(cube.wavelength_um, spaxel, aperture, cube.grating, cube.filter,
                     threshold_percent=limit.value,
                     label=f"brightest spaxel ({ix}, {iy}) / aperture")
    res.metric = "spaxel_wiggle_amplitude"
    res.evidence.update(limit.evidence(),
                        planes_used=int(np.isfinite(spaxel / aperture).sum()),
                        planes=int(cube.data.shape[0]))
    return res
