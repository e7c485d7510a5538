"""NS-IFU03: 1/f banding removed; extracted spectra free of additive 1/f undulations."""

import pytest

from ifuqa.evaluate import ns_ifu03

pytestmark = pytest.mark.ns_ifu03


def test_banding_removed(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Cleaning removes >= 80 % of the banding in the unilluminated pixels."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU03", ns_ifu03.banding, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_off_source_spectrum_flat(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The cube's source-free spaxels, scaled to the extraction aperture, carry no additive
    low-frequency undulation (1/f residuals add the same to the source's aperture)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU03", ns_ifu03.off_source, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_spectrum_free_of_undulation(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """The extracted spectrum has no additive low-frequency undulation (from the x1d alone)."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU03", ns_ifu03.undulation, ifuqa_dataset,
                                           ifuqa_thresholds))


def test_spectrum_not_negative(ifuqa_dataset, ifuqa_check, ifuqa_thresholds):
    """Few samples of the extracted spectrum are significantly negative."""
    ifuqa_check.judge(ifuqa_check.evaluate("NS-IFU03", ns_ifu03.negative_flux, ifuqa_dataset,
                                           ifuqa_thresholds))
