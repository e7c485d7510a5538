"""NS-IFU03: 1/f banding removed; extracted spectra free of 1/f undulations."""

import pytest

from ifuqa.evaluate import ns_ifu03

pytestmark = pytest.mark.ns_ifu03


def test_banding_removed(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Cleaning removes >= 80 % of the banding in the unilluminated pixels."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU03", ns_ifu03.banding, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_spectrum_free_of_undulation(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The extracted spectrum has no low-frequency undulation against the truth."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU03", ns_ifu03.undulation, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_spectrum_not_negative(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Few samples of the extracted spectrum are significantly negative."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU03", ns_ifu03.negative_flux, ifuqa_dataset,
                                           ifuqa_thresholds))
