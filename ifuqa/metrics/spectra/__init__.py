"""Spectral metrics: flux conservation against truth (:mod:`.flux`), the band-limited Fourier
amplitudes they share (:mod:`.fourier`), wiggles (NS-IFU05, :mod:`.wiggles`), low-frequency
undulation and negative flux (NS-IFU03, :mod:`.undulation`). Pure functions of arrays; they
import only :mod:`ifuqa.metrics.result` and :mod:`ifuqa.util`."""

from ifuqa.metrics.spectra.flux import convolve_to_resolution, flux_ratio, flux_scale_dependence
from ifuqa.metrics.spectra.fourier import (
    amplitude_uncertainty,
    band_limited_amplitude,
    clip_spikes,
    uniform_spectrum,
)
from ifuqa.metrics.spectra.undulation import (
    additive_undulation,
    error_scale,
    negative_flux_fraction,
    smooth_continuum,
    source_significance,
    undulation_amplitude,
)
from ifuqa.metrics.spectra.wiggles import periodic_wiggle_amplitude, wiggle_amplitude

__all__ = ["additive_undulation", "amplitude_uncertainty", "band_limited_amplitude", "clip_spikes",
           "convolve_to_resolution", "error_scale", "flux_ratio", "flux_scale_dependence",
           "negative_flux_fraction", "periodic_wiggle_amplitude", "smooth_continuum",
           "source_significance",
           "undulation_amplitude", "uniform_spectrum", "wiggle_amplitude"]
