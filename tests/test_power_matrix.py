"""Every shipped check has power: it FAILS on data with the known defect and PASSES with the fix.

Each row of the power matrix processes one synthetic scenario twice — with the fixes, and with the
defect switch that re-creates the known issue — and runs the same evaluation the check in
``checks/`` runs. NS-IFU06 has no pipeline fix: its rows are scenes with and without a large
injected drift. The accuracy tests compare the metrics with the injected truth.
"""

from __future__ import annotations

import numpy as np
import pytest

from ifuqa.builds.power_rows import POWER_ROWS, defect_spec
from ifuqa.builds.synthetic import SyntheticSpec
from ifuqa.evaluate import ns_ifu01, ns_ifu02, ns_ifu03, ns_ifu04, ns_ifu05, ns_ifu06
from ifuqa.verdicts.thresholds import Thresholds
from tests._builds import build, cache_root, scenario_variant

TH = Thresholds.defaults()
ROWS = {row.issue: row for row in POWER_ROWS if not row.only}
"""The defect datasets are those of ``pytest --ifuqa --ifuqa-power-matrix`` (one definition,
shared cached builds)."""


def _defect(config, issue: str):
    return build(config, defect_spec(ROWS[issue], cache_root(config)))

BRIGHT = "bright_point_g395h"
FAINT = "faint_point_g140h_nrs2"
OFFSET = "pointing_offset_g395h"


@pytest.fixture(scope="module")
def bright(pytestconfig):
    return build(pytestconfig, SyntheticSpec(BRIGHT, with_scales=True))


# ---------------------------------------------------------------------------- NS-IFU01


@pytest.fixture(scope="module")
def bright_ns_ifu01(pytestconfig):
    return _defect(pytestconfig, "NS-IFU01")


def test_ns_ifu01_peak_depth_power(bright, bright_ns_ifu01):
    fixed = ns_ifu01.peak_depth(bright, TH)
    broken = ns_ifu01.peak_depth(bright_ns_ifu01, TH)
    assert fixed.verdict == "pass", fixed.describe()
    assert fixed.value <= 2.0
    assert broken.verdict == "fail", broken.describe()
    assert broken.value >= 10.0, broken.describe()


def test_ns_ifu01_core_flags_power(bright, bright_ns_ifu01):
    fixed = ns_ifu01.core_flags(bright, TH)
    broken = ns_ifu01.core_flags(bright_ns_ifu01, TH)
    assert fixed.verdict == "pass" and fixed.value <= 1.0, fixed.describe()
    assert broken.verdict == "fail" and broken.value >= 10.0, broken.describe()


def test_ns_ifu01_outliers_caught_with_the_fix(bright):
    """jwst's IFU method catches >= 90 % of the injected warm pixels above 10 sigma."""
    result = ns_ifu01.warm_pixel_flags(bright, TH)
    assert result.verdict == "pass" and result.value >= 90.0, result.describe()


def test_ns_ifu01_transient_cosmic_rays_are_not_its_target(bright, bright_ns_ifu01):
    """Documented behaviour: the cross-dither minimum ignores single-exposure transients (the
    cosmic rays that ramp fitting missed); judging each exposure alone catches them — and the
    PSF peak with them (the NS-IFU01 defect)."""
    fixed = ns_ifu01.residual_cosmic_ray_flags(bright, TH)
    broken = ns_ifu01.residual_cosmic_ray_flags(bright_ns_ifu01, TH)
    assert fixed.value < 10.0, fixed.describe()
    assert broken.value > 60.0, broken.describe()


# The cosmic-ray check's power (ramps with 11 groups against ramps with two groups, where jump
# detection cannot run) is tested in tests/test_processing.py together with the claims about the
# chain's cosmic-ray rejection, so that one worker builds both ramp-simulated scenes in turn.


def test_ns_ifu01_cosmic_ray_check_skips_residual_model_scenes(bright):
    """Scenes without ramps hold only the hits jump detection would miss: the check says so."""
    from ifuqa.evaluate import NotApplicable

    with pytest.raises(NotApplicable, match="ramps = true"):
        ns_ifu01.cosmic_ray_flags(bright, TH)


def test_ns_ifu01_hole_without_truth_power(bright, bright_ns_ifu01):
    """The truth-free hole metric (what runs on a user's cube) also separates the two."""
    fixed = ns_ifu01.hole(bright, TH)
    broken = ns_ifu01.hole(bright_ns_ifu01, TH)
    assert fixed.verdict == "pass", fixed.describe()
    assert broken.value > fixed.value + 5.0, (fixed.describe(), broken.describe())


# ---------------------------------------------------------------------------- NS-IFU02


@pytest.fixture(scope="module")
def bright_ns_ifu02(pytestconfig):
    return _defect(pytestconfig, "NS-IFU02")


def test_ns_ifu02_flux_vs_spaxel_scale_power(bright, bright_ns_ifu02):
    fixed = ns_ifu02.flux_vs_spaxel_scale(bright, TH)
    broken = ns_ifu02.flux_vs_spaxel_scale(bright_ns_ifu02, TH)
    assert fixed.verdict == "pass", fixed.describe()
    assert broken.verdict == "fail", broken.describe()
    assert broken.value >= 5.0


def test_ns_ifu02_flux_against_truth_power(bright, bright_ns_ifu02):
    fixed = ns_ifu02.flux_against_truth(bright, TH)
    broken = ns_ifu02.flux_against_truth(bright_ns_ifu02, TH)
    assert fixed.verdict == "pass" and fixed.value <= 2.0, fixed.describe()
    assert broken.verdict == "fail", broken.describe()


# ---------------------------------------------------------------------------- NS-IFU03


@pytest.fixture(scope="module")
def faint(pytestconfig):
    return build(pytestconfig, SyntheticSpec(FAINT, with_reference=False))


@pytest.fixture(scope="module")
def faint_ns_ifu03(pytestconfig):
    return _defect(pytestconfig, "NS-IFU03")


def test_ns_ifu03_banding_power(faint, faint_ns_ifu03):
    fixed = ns_ifu03.banding(faint, TH)
    broken = ns_ifu03.banding(faint_ns_ifu03, TH)
    assert fixed.verdict == "pass" and fixed.value <= 0.2, fixed.describe()
    assert broken.verdict == "fail", broken.describe()


def test_ns_ifu03_cleaning_reduces_undulation(faint, faint_ns_ifu03):
    """1/f residuals show up as low-frequency undulation of the faint source's spectrum."""
    fixed = ns_ifu03.undulation(faint, TH)
    broken = ns_ifu03.undulation(faint_ns_ifu03, TH)
    assert fixed.verdict == "pass", fixed.describe()
    assert broken.value > fixed.value, (fixed.describe(), broken.describe())


# ---------------------------------------------------------------------------- NS-IFU04


@pytest.fixture(scope="module")
def offset(pytestconfig):
    return build(pytestconfig, SyntheticSpec(OFFSET, with_reference=False))


@pytest.fixture(scope="module")
def offset_ns_ifu04(pytestconfig):
    return _defect(pytestconfig, "NS-IFU04")


def test_ns_ifu04_centring_power(offset, offset_ns_ifu04):
    fixed_offset, fixed_loss = ns_ifu04.centring(offset, TH)
    broken_offset, broken_loss = ns_ifu04.centring(offset_ns_ifu04, TH)
    assert fixed_offset.verdict == "pass" and fixed_loss.verdict == "pass"
    assert broken_offset.verdict == "fail", broken_offset.describe()
    assert broken_loss.verdict == "fail", broken_loss.describe()


def test_ns_ifu04_offset_recovered_within_10_mas(offset_ns_ifu04):
    """The nominal aperture sits on the target; the source is 0.15" away (the injected pointing
    offset): the measured offset recovers it within 10 mas, and the flux loss is reported."""
    measured, loss = ns_ifu04.centring(offset_ns_ifu04, TH)
    injected = np.hypot(*offset_ns_ifu04.truth.pointing_offset_arcsec) * 1000.0
    assert abs(measured.value - injected) <= 10.0, measured.describe()
    assert loss.value > 2.0, loss.describe()
    assert np.isfinite(loss.value)


def test_ns_ifu04_centroid_matches_truth(offset):
    result = ns_ifu04.centroid_accuracy(offset)
    assert result.value <= 10.0, result.describe()


# ---------------------------------------------------------------------------- NS-IFU05


@pytest.fixture(scope="module")
def bright_ns_ifu05_small_aperture(pytestconfig):
    """No mitigation (one dither position) and a single-spaxel extraction: r = 0.05" (half a
    spaxel) on the brightest spaxel."""
    return _defect(pytestconfig, "NS-IFU05")


def test_ns_ifu05_wiggle_power(bright, bright_ns_ifu05_small_aperture):
    fixed = ns_ifu05.aperture_wiggle(bright, TH)
    broken = ns_ifu05.aperture_wiggle(bright_ns_ifu05_small_aperture, TH)
    assert fixed.verdict == "pass", fixed.describe()
    assert broken.verdict == "fail", broken.describe()


def test_ns_ifu05_mitigation_beats_single_spaxel_by_3x(bright, bright_ns_ifu05_small_aperture):
    """Law et al. (2023): a 4-point dither with r >= 1.5 FWHM keeps wiggles < 1 %; a single
    spaxel without mitigation shows at least 3x more."""
    mitigated = ns_ifu05.aperture_wiggle(bright, TH)  # 4-point dither, r = 2 FWHM
    single = ns_ifu05.spaxel_wiggle(bright_ns_ifu05_small_aperture, TH)
    assert mitigated.value < 1.0, mitigated.describe()
    assert single.value >= 3.0 * mitigated.value, (single.describe(), mitigated.describe())


# ---------------------------------------------------------------------------- NS-IFU06

DRIFTS = {0: [0.0, 0.0], 20: [12.0, 16.0], 40: [24.0, 32.0]}


@pytest.fixture(scope="module", params=sorted(DRIFTS))
def drifting(request, pytestconfig):
    mas = request.param
    path = scenario_variant(pytestconfig, "drift_point_g235m", f"drift_{mas}mas",
                            source_drift_mas=DRIFTS[mas], wavelength_range_um=[1.8, 2.5])
    return mas, build(pytestconfig, SyntheticSpec(path, with_reference=False))


def test_ns_ifu06_drift_recovered_within_3_mas(drifting):
    mas, dataset = drifting
    accuracy = ns_ifu06.drift_accuracy(dataset, TH)
    assert accuracy.value <= 3.0, accuracy.describe()
    drift = ns_ifu06.drift(dataset, TH)
    # the fitted band is slightly narrower than the simulated one
    assert abs(drift.value - mas * _band_fraction(dataset, drift)) <= 3.0, drift.describe()
    assert drift.verdict == ("fail" if mas == 40 else "pass"), drift.describe()


def _band_fraction(dataset, drift) -> float:
    wave = drift.plot["wavelength_um"]
    lo, hi = dataset.truth.source.track_wavelength_um
    return float((wave[-1] - wave[0]) / (hi - lo))


def test_ns_ifu06_power_row_is_the_40_mas_scene(pytestconfig):
    """The power matrix's NS-IFU06 defect dataset is the 40 mas build above."""
    path = scenario_variant(pytestconfig, "drift_point_g235m", "drift_40mas",
                            source_drift_mas=DRIFTS[40], wavelength_range_um=[1.8, 2.5])
    assert defect_spec(ROWS["NS-IFU06"], cache_root(pytestconfig)) == SyntheticSpec(
        path, with_reference=False)
