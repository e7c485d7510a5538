"""The truth-free variants of the evaluations — what runs on a user's products — have power on
the processed synthetic scenes too: with the fix they PASS, on the power-matrix row's defect
dataset they FAIL.

The synthetic products are read as a user's would be: without ifuqa's detector layout (the
unilluminated pixels come from the cal file's undefined pixels) and without the rate images for
the outlier flags (the cal's own signal). The checks themselves (the x1d against the cube's curve
of growth, the brightest spaxel's wiggle) are in the table of ``tests/test_power_matrix.py``;
builds are shared with it (same specs).
"""

from __future__ import annotations

import pytest

from ifuqa.builds.power_rows import POWER_ROWS, defect_spec
from ifuqa.evaluate import ns_ifu01, ns_ifu03
from tests._builds import build, cache_root
from tests.test_power_matrix import TH, evaluate, fixed_spec

ROWS = {row.issue: row for row in POWER_ROWS if not row.only}


def test_banding_with_the_cal_gap_mask(pytestconfig) -> None:
    """The cal file's undefined pixels (grown by 2, reference border removed) sample the same
    1/f banding as ifuqa's own unilluminated-pixel layout: the banding before cleaning agrees
    within 1 % (measured: 0.01 %); judged with them, the cleaned rates pass and the uncleaned
    ones (the NS-IFU03 row) fail."""
    row = ROWS["NS-IFU03"]
    fixed = build(pytestconfig, fixed_spec(row.scenario))
    layout = evaluate(ns_ifu03.banding, fixed, TH)
    gaps = evaluate(ns_ifu03.banding, fixed, TH, use_layout=False)
    assert gaps.details["before"] == pytest.approx(layout.details["before"], rel=0.01)
    assert gaps.verdict == "pass", gaps.describe()
    broken = evaluate(ns_ifu03.banding, build(pytestconfig, defect_spec(row, cache_root(
        pytestconfig))), TH, use_layout=False)
    assert broken.verdict == "fail", broken.describe()


@pytest.mark.parametrize("defect", [False, True], ids=["fixed", "defect"])
def test_core_flags_from_the_cal_alone(pytestconfig, defect: bool) -> None:
    """Without rate files the PSF core is found in the cal image itself (flagged pixels set to
    NaN, filled from their neighbours): the same core as the rates give within 0.1 % of its
    pixels and the same flagged share within 0.05 percentage points (measured: 1 pixel of
    7626; 0.16 % and 61.21 % flagged) — so it passes with the fix and fails with the defect."""
    row = ROWS["NS-IFU01"]
    spec = defect_spec(row, cache_root(pytestconfig)) if defect else fixed_spec(row.scenario)
    dataset = build(pytestconfig, spec)
    rates = evaluate(ns_ifu01.core_flags, dataset, TH)
    cal = evaluate(ns_ifu01.core_flags, dataset, TH, use_rates=False)
    assert cal.details["core_pixels"] == pytest.approx(rates.details["core_pixels"], rel=1e-3)
    assert cal.value == pytest.approx(rates.value, abs=0.05), (cal.describe(), rates.describe())
    assert cal.verdict == ("fail" if defect else "pass"), cal.describe()
