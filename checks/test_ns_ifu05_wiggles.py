"""NS-IFU05: extracted spectra free of resampling wiggles."""

import pytest

from ifuqa.evaluate import ns_ifu05

pytestmark = pytest.mark.ns_ifu05


def test_extracted_spectrum_has_no_wiggles(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The x1d's wiggle amplitude (5-50 cycles/um) is below the threshold."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU05", ns_ifu05.aperture_wiggle, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_brightest_spaxel_wiggle(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The brightest spaxel's spectrum, divided by the aperture spectrum, wiggles (5-50
    cycles/um) less than the threshold: what a single-spaxel spectrum of this cube would show
    (large without dither combination)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU05", ns_ifu05.spaxel_wiggle, ifuqa_dataset,
                                           ifuqa_thresholds))
