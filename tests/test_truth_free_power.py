"""The truth-free variants of the checks — what runs on a user's products — have power on the
processed synthetic scenes too: with the defect switch they FAIL, with the fix they PASS.

The synthetic products are read as a user's would be: without ifuqa's detector layout (the
unilluminated pixels come from the cal file's undefined pixels), without the rate images for
the outlier flags (the cal's own signal), and comparing the x1d with the cube's own curve of
growth instead of the true flux. Builds are shared with the power matrix (same specs).
"""

from __future__ import annotations

import pytest

from ifuqa.builds.synthetic import SyntheticSpec
from ifuqa.evaluate import ns_ifu01, ns_ifu03, ns_ifu04
from ifuqa.verdicts.thresholds import Thresholds
from tests._builds import build

TH = Thresholds.defaults()


@pytest.fixture(scope="module")
def offset(pytestconfig):
    return build(pytestconfig, SyntheticSpec("pointing_offset_g395h", with_reference=False))


@pytest.fixture(scope="module")
def offset_ns_ifu04(pytestconfig):
    return build(pytestconfig, SyntheticSpec("pointing_offset_g395h", defects=("NS-IFU04",),
                                             with_reference=False))


def test_curve_of_growth_power(offset, offset_ns_ifu04):
    """An x1d extracted at the nominal position, 150 mas from the source, carries less flux
    than the cube's aperture-corrected total; the re-centred one agrees within 3 %."""
    fixed = ns_ifu04.curve_of_growth_total(offset, TH)
    broken = ns_ifu04.curve_of_growth_total(offset_ns_ifu04, TH)
    assert fixed.verdict == "pass" and fixed.value < 2.0, fixed.describe()
    assert broken.verdict == "fail" and broken.value > 4.0, broken.describe()
    assert broken.details["deviation_percent"].max() < 0


@pytest.fixture(scope="module")
def faint(pytestconfig):
    return build(pytestconfig, SyntheticSpec("faint_point_g140h_nrs2", with_reference=False))


@pytest.fixture(scope="module")
def faint_ns_ifu03(pytestconfig):
    return build(pytestconfig, SyntheticSpec("faint_point_g140h_nrs2", defects=("NS-IFU03",),
                                             with_reference=False))


def test_banding_with_the_cal_gap_mask_power(faint, faint_ns_ifu03):
    fixed = ns_ifu03.banding(faint, TH, use_layout=False)
    broken = ns_ifu03.banding(faint_ns_ifu03, TH, use_layout=False)
    assert fixed.verdict == "pass" and fixed.value < 0.2, fixed.describe()
    assert broken.verdict == "fail" and broken.value > 0.8, broken.describe()


@pytest.fixture(scope="module")
def bright(pytestconfig):
    return build(pytestconfig, SyntheticSpec("bright_point_g395h", with_scales=True))


@pytest.fixture(scope="module")
def bright_ns_ifu01(pytestconfig):
    return build(pytestconfig, SyntheticSpec("bright_point_g395h", defects=("NS-IFU01",)))


def test_core_flags_from_cal_alone_power(bright, bright_ns_ifu01):
    """Without rate files, the PSF core is found in the cal image itself (flagged pixels set
    to NaN are filled from their neighbours)."""
    fixed = ns_ifu01.core_flags(bright, TH, use_rates=False)
    broken = ns_ifu01.core_flags(bright_ns_ifu01, TH, use_rates=False)
    assert fixed.verdict == "pass" and fixed.value < 1.0, fixed.describe()
    assert broken.verdict == "fail" and broken.value > 10.0, broken.describe()



@pytest.fixture(scope="module")
def bright_ns_ifu05(pytestconfig):
    """No dither combination (the NS-IFU05 row of the power matrix: one dither position,
    single-spaxel x1d)."""
    return build(pytestconfig, SyntheticSpec(
        "bright_point_g395h", defects=("NS-IFU05",), with_reference=False,
        options=(("aperture_radius_arcsec", 0.05), ("brightest_spaxel", True))))


def test_brightest_spaxel_wiggle_power(bright, bright_ns_ifu05):
    """The brightest spaxel of a 4-point-dither cube wiggles about 1.5 % against the aperture
    spectrum; of a single-dither cube, more than 3 %."""
    from ifuqa.evaluate import ns_ifu05

    fixed = ns_ifu05.spaxel_wiggle(bright, TH)
    broken = ns_ifu05.spaxel_wiggle(bright_ns_ifu05, TH)
    assert fixed.verdict == "pass" and fixed.value < 2.0, fixed.describe()
    assert broken.verdict == "fail" and broken.value > 3.0, broken.describe()
