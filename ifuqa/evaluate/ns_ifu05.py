"""NS-IFU05 — sinusoidal wiggles in spectra of undersampled point sources.

Metrics: the wiggle amplitude of the extracted (aperture) spectrum against the LSF-convolved truth
(synthetic) or against a smooth continuum, and the wiggle of the brightest spaxel's spectrum
relative to the aperture spectrum (any cube; informs how single-spaxel spectra would look).

The band follows the disperser (:func:`trace_wiggle_band`): a wiggle has one cycle per detector
row the trace crosses, ``|dy/dx|`` cycles per detector column, so the band is the range of the
trace slopes (``ifuqa.instrument.layout``) over the columns the spectrum covers, up to the second
harmonic; the analysis runs in detector columns (PRISM's non-linear dispersion included).

Wiggles are multiplicative (a fixed fraction of the source's flux, at the trace-crossing
period); 1/f read-noise residuals are additive (the same flux in every spaxel at a detector
column, whatever the source) and red, so at G140H they reach the wiggle band. The x1d check
removes the additive part that the cube's source-free spaxels show
(:func:`additive_in_aperture`) before measuring the wiggle; with the x1d alone it cannot, and
says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    background_subtracted,
    fwhm_arcsec,
    limit_for,
    source_free_spaxels,
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

    from ifuqa.products import Cube, Spectrum
    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

__all__ = ["ADDITIVE_CLIP_SIGMA", "GENERIC_BAND_CYCLES_PER_UM", "HARMONICS",
           "MIN_ADDITIVE_COVERAGE",
           "additive_in_aperture", "aperture_wiggle", "spaxel_spectra", "spaxel_wiggle",
           "trace_wiggle_band"]

ADDITIVE_CLIP_SIGMA = 5.0
"""The source-free spaxels of a plane are combined by their mean clipped at this many standard
deviations (:func:`astropy.stats.sigma_clipped_stats`): a few spaxels with cosmic-ray residuals
or warm pixels are not the additive structure common to all, and with the plain mean they made
the estimate's noise 5 x larger (``faint_point_g140h_nrs2``: 1.45 % → 0.29 % per sample of the
source's flux, measured 2026-12-07)."""


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
        _too_short(wave)
    result.evidence.update(evidence)
    return result


def _too_short(wave: np.ndarray) -> None:
    lo, hi = float(np.nanmin(wave)), float(np.nanmax(wave))
    raise NotApplicable(f"the spectrum ({lo:.3f}-{hi:.3f} um) spans less than one period of "
                        "the disperser's wiggle band: a wiggle there cannot be told from the "
                        "continuum")


MIN_ADDITIVE_COVERAGE = 0.9
"""The source-free spaxels must have data at this share of the x1d's usable wavelengths for the
additive part to be removed (elsewhere the x1d's samples would be lost)."""


def additive_in_aperture(dataset: Dataset, spec: Spectrum) -> tuple[np.ndarray, dict]:
    """The additive (source-independent) flux the x1d's aperture collects, per wavelength, from
    the cube's source-free spaxels.

    1/f residuals give every pixel of an output the same offset at a detector column, so the
    spaxels far from the source carry the same additive spectrum (per spaxel) as the source's
    aperture, while the source's multiplicative artefacts are absent there. The spaxels are
    selected as NS-IFU03's off-source check selects them
    (:func:`ifuqa.evaluate.ns_ifu03.off_source`: covered spaxels more than
    :data:`~ifuqa.evaluate.ns_ifu03.OFF_SOURCE_MARGIN_FWHM` FWHM beyond the aperture's edge),
    combined per plane by a clipped mean (:data:`ADDITIVE_CLIP_SIGMA`) and scaled to the
    aperture's area (the x1d's ``NPIXELS``) and unit (Jy).

    Parameters
    ----------
    dataset : Dataset
        The dataset (its first s3d).
    spec : Spectrum
        Its x1d, extracted from that cube.

    Returns
    -------
    additive_jy, evidence
        The additive flux per x1d row (NaN where no source-free spaxel has data) and what it
        came from.

    Raises
    ------
    NotApplicable
        With the reason when the additive part cannot be measured this way: no cube; an
        extended source (no source-free spaxels); an x1d that is not this cube's (rows vs
        planes), records no extraction centre or aperture area, or had a background
        subtracted by the extraction already (its ``BACKGROUND`` column: the annulus removed
        the local additive part); too few source-free spaxels.
    """
    from astropy.stats import sigma_clipped_stats

    from ifuqa.evaluate.ns_ifu03 import MIN_HALF_SPAXELS, OFF_SOURCE_MARGIN_FWHM

    if not dataset.s3d:
        raise NotApplicable("no cube: with the x1d alone, additive (1/f) residuals in the "
                            "wiggle band cannot be told from multiplicative wiggles (a failure "
                            "may be 1/f: NS-IFU03's checks tell)")
    cube = the_cube(dataset.s3d)
    if (spec.source_type or cube.srctype or "").upper() == "EXTENDED":
        raise NotApplicable(f"{spec.path.name}: SRCTYPE=EXTENDED, the source fills the field: "
                            "no source-free spaxels to measure the additive part on")
    data = np.asarray(cube.data, dtype=float)
    if background_subtracted(spec.path, data.shape[0]):
        raise NotApplicable(f"{spec.path.name} records a subtracted background (BACKGROUND): "
                            "the extraction's annulus removed the local additive part already")
    if not np.allclose(spec.wavelength_um, cube.wavelength_um, rtol=1e-6, equal_nan=True):
        raise NotApplicable(f"{spec.path.name} and {cube.path.name} differ in wavelength: the "
                            "x1d was not extracted from this cube")
    region = source_free_spaxels(cube, spec, OFF_SOURCE_MARGIN_FWHM)
    free, npix = region.mask, region.npix
    if free.sum() < 2 * MIN_HALF_SPAXELS:
        raise NotApplicable(f"{cube.path.name}: too few source-free spaxels ({int(free.sum())}, "
                            f"need {2 * MIN_HALF_SPAXELS}, more than {region.distance_pix:.1f} "
                            "spaxels from the extraction centre)")
    values = data[:, free]
    mean = sigma_clipped_stats(values, mask=~np.isfinite(values), axis=1,
                               sigma=ADDITIVE_CLIP_SIGMA)[0]
    mean = np.ma.filled(np.ma.asarray(mean, dtype=float), np.nan)
    area_sr = (cube.spaxel_arcsec / 206264.806) ** 2 if cube.bunit == "MJy/sr" else 1.0
    additive = mean * npix * area_sr * 1e6  # mean per-spaxel MJy(/sr) -> Jy in the aperture
    covered_rows = float(np.isfinite(additive)[spec.valid].mean()) if spec.valid.any() else 0.0
    if covered_rows < MIN_ADDITIVE_COVERAGE:
        raise NotApplicable(f"{cube.path.name}: the source-free spaxels have data at only "
                            f"{100 * covered_rows:.0f} % of {spec.path.name}'s usable "
                            "wavelengths")
    return additive, {"additive_from": f"{int(free.sum())} source-free spaxels of "
                                       f"{cube.path.name} (> {region.distance_pix:.1f} spaxels "
                                       "from the extraction centre), clipped mean x NPIXELS",
                      "additive_spaxels": int(free.sum())}


def _additive_or_reason(dataset: Dataset, spec: Spectrum) -> tuple[np.ndarray | None, dict]:
    """The additive estimate, or None and why not (an unreadable cube is reported here and
    judged by the cube's own checks: the x1d is still measured)."""
    from ifuqa.products import ProductError

    try:
        return additive_in_aperture(dataset, spec)
    except (NotApplicable, ProductError) as why:
        return None, {"additive_not_removed": str(why)}


def aperture_wiggle(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Wiggle amplitude of the x1d in the disperser's band (:func:`trace_wiggle_band`): against
    the truth when known, the periodic component of x1d / truth
    (:func:`ifuqa.metrics.spectra.wiggle_amplitude`: steps and spikes are not wiggles); on a
    user's x1d, whose real structure has power at every scale, the strongest periodic component
    (:func:`ifuqa.metrics.spectra.periodic_wiggle_amplitude`), on its usable samples (DQ clean,
    unflagged spikes removed). The amplitude's uncertainty decides, never a noise gate.

    Both first subtract the additive part of the x1d measured on the cube's source-free spaxels
    (:func:`additive_in_aperture`: 1/f residuals, which are not wiggles); where that cannot be
    measured (no cube, an extended source, an x1d whose extraction subtracted a background) the
    message says why, and that an additive undulation in the band would count as wiggle."""
    spec = usable_spectrum(the_spectrum(dataset.x1d))
    limit = limit_for(thresholds, "ns_ifu05.wiggle_amplitude")
    additive, additive_evidence = _additive_or_reason(dataset, spec)
    if dataset.synthetic:
        wave, flux, resolving = true_spectrum(dataset.truth)
        reference = np.interp(spec.wavelength_um, wave,
                              convolve_to_resolution(wave, flux, resolving))
        result = _wiggle_on(spec.wavelength_um, spec.flux_jy, reference, spec.grating,
                            spec.filter, additive=additive, threshold_percent=limit.value,
                            label=f"{spec.path.name} / truth")
    else:
        valid = spec.valid
        wave = spec.wavelength_um[valid]
        columns, band, evidence = trace_wiggle_band(spec.grating, spec.filter, wave)
        bands = ({"band_cycles_per_um": band} if columns is None
                 else {"columns": columns, "band_cycles_per_column": band})
        if band[1] * float(np.ptp(wave if columns is None else columns)) < 1.0:
            _too_short(wave)
        result = periodic_wiggle_amplitude(
            wave, clip_spikes(spec.flux_jy[valid]), **bands,
            additive=None if additive is None else additive[valid],
            threshold_percent=limit.value, label=f"{spec.path.name} against a cubic continuum")
        result.evidence.update(evidence, flagged_fraction=spec.flagged_fraction)
    if additive is None:
        result.message += (f"; additive (1/f) part not removed: "
                           f"{additive_evidence['additive_not_removed']}")
    result.evidence.update(additive_evidence)
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
