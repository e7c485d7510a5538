"""NS-IFU04: the extraction aperture is centred on the source."""

import pytest

from ifuqa.evaluate import ns_ifu04

pytestmark = pytest.mark.ns_ifu04


def test_aperture_on_source(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The x1d's aperture centre is on the cube's source centroid and loses no flux."""
    offset, loss = ifuqa_check.evaluate("NS-IFU04", ns_ifu04.centring, ifuqa_dataset,
                                        ifuqa_thresholds)
    ifuqa_check.judge(offset, loss)


def test_centroid_recovers_true_position(ifuqa_dataset, ifuqa_check):
    """On synthetic data the cube centroid is within 10 mas of the true source position."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU04", ns_ifu04.centroid_accuracy,
                                           ifuqa_dataset))


def test_x1d_matches_curve_of_growth(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The x1d carries the cube's total flux: its value matches the aperture-corrected curve of
    growth of the cube within 3 FWHM (an off-source or mis-corrected extraction falls short)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU04", ns_ifu04.curve_of_growth_total,
                                           ifuqa_dataset, ifuqa_thresholds))


def test_x1d_holds_its_source(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The x1d holds significant source flux: an aperture that missed its source collects only
    noise and background residuals."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU04", ns_ifu04.x1d_source, ifuqa_dataset,
                                           ifuqa_thresholds))
