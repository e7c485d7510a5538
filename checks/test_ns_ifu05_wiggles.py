"""NS-IFU05: extracted spectra free of resampling wiggles."""

import pytest

from ifuqa.evaluate import ns_ifu05

pytestmark = pytest.mark.ns_ifu05


def test_extracted_spectrum_has_no_wiggles(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The x1d's periodic wiggle in the disperser's band (the trace slopes over its columns, up
    to the 2nd harmonic; steps and spikes are not wiggles) is below the threshold, after the
    additive part that the cube's source-free spaxels show (1/f residuals: not a wiggle) is
    removed; with the x1d alone that part cannot be told from a wiggle, and the result says so."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU05", ns_ifu05.aperture_wiggle, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_brightest_spaxel_wiggle(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The brightest spaxel's spectrum, divided by the aperture spectrum, wiggles (periodic
    component in the disperser's band) less than the threshold: what a single-spaxel spectrum
    of this cube would show (large without dither combination)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU05", ns_ifu05.spaxel_wiggle, ifuqa_dataset,
                                           ifuqa_thresholds))
