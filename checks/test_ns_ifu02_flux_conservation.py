"""NS-IFU02: point-source flux is right and does not depend on the spaxel scale."""

import pytest

from ifuqa.evaluate import ns_ifu02

pytestmark = pytest.mark.ns_ifu02


def test_extracted_flux_matches_truth(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Aperture-corrected extracted flux within the threshold of the truth across the band."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU02", ns_ifu02.flux_against_truth,
                                           ifuqa_dataset, ifuqa_thresholds))


def test_flux_independent_of_spaxel_scale(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Extracted/true flux is the same at 0.05, 0.1 and 0.2 arcsec spaxels."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU02", ns_ifu02.flux_vs_spaxel_scale,
                                           ifuqa_dataset, ifuqa_thresholds))
