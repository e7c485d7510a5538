"""The detector noise model against the numbers it is built from (KNOWN_ISSUES, NS-IFU03)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from stdatamodels.jwst.datamodels import dqflags

from ifuqa.metrics.banding import banding_amplitude, column_power_spectrum
from ifuqa.simulate.artefacts import cosmic_rays, dq_for_detector
from ifuqa.simulate.noise import (
    IRS2_WHITE_NOISE_SCALE,
    NoiseModel,
    add_poisson,
    one_over_f_frame,
    pink_noise,
    rate_noise,
    read_noise_frame,
    slope_weight,
)

FULL = (2048, 2048)
ONLY_PINK = NoiseModel(white_e=0.0, acn_e=0.0, picture_frame_e=0.0)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def pink_frame() -> np.ndarray:
    return one_over_f_frame(FULL, model=ONLY_PINK, rng=_rng(1))


def _loglog_slope(freq: np.ndarray, power: np.ndarray, lo: float) -> float:
    sel = (freq >= lo) & (freq <= 10 * lo)
    return float(np.polyfit(np.log10(freq[sel]), np.log10(power[sel]), 1)[0])


# ----------------------------------------------------------------------------- NoiseModel


def test_noise_model_defaults_and_scaling():
    m = NoiseModel()
    assert (m.white_e, m.correlated_pink_e, m.uncorrelated_pink_e, m.acn_e,
            m.picture_frame_e, m.readpatt) == (5.2, 3.0, 1.0, 0.5, 0.3, "NRSIRS2RAPID")
    s = m.scaled(white=2.0, one_over_f=0.5)
    assert s.white_e == pytest.approx(10.4)
    assert (s.correlated_pink_e, s.uncorrelated_pink_e, s.acn_e, s.picture_frame_e) == \
        pytest.approx((1.5, 0.5, 0.25, 0.15))
    assert s.readpatt == m.readpatt
    with pytest.raises(ValueError, match="white_e"):
        NoiseModel(white_e=-1.0)


@pytest.mark.parametrize(("readpatt", "irs2"), [("NRSIRS2RAPID", True), ("NRSIRS2", True),
                                                 ("NRSRAPID", False), ("NRS", False)])
def test_irs2_scales_white_noise_only(readpatt, irs2):
    m = NoiseModel(readpatt=readpatt)
    assert m.irs2 is irs2
    expected = 5.2 * (IRS2_WHITE_NOISE_SCALE if irs2 else 1.0)
    assert m.white_frame_e == pytest.approx(expected)
    r = rate_noise((64, 64), ngroups=5, group_time_s=10.0, rng=_rng(), model=m)
    assert r.white_sigma == pytest.approx(expected * slope_weight(5, 10.0))
    # the 1/f part does not depend on the readout pattern
    assert r.banding_sigma == pytest.approx(
        NoiseModel(readpatt="NRS").one_over_f_rms((64, 64)) * slope_weight(5, 10.0))


# ----------------------------------------------------------------------------- 1/f noise


def test_pink_noise_rms_and_slope():
    x = pink_noise(2**18, 3.0, _rng(3), nstreams=8)
    assert x.shape == (8, 2**18)
    assert np.sqrt((x**2).mean()) == pytest.approx(3.0, rel=0.1)


def test_frame_power_spectrum_is_one_over_f(pink_frame):
    mask = np.ones(FULL, dtype=bool)
    freq, power = column_power_spectrum(pink_frame, mask)
    for lo in (1e-4, 1e-3):
        assert _loglog_slope(freq, power, lo) == pytest.approx(-1.0, abs=0.25)


def test_default_frame_spectrum_slope_with_white_noise():
    frame = read_noise_frame(FULL, model=NoiseModel(), rng=_rng(2), detector="NRS2")
    freq, power = column_power_spectrum(frame, np.ones(FULL, bool), detector="NRS2")
    assert _loglog_slope(freq, power, 1e-4) == pytest.approx(-1.0, abs=0.25)
    # at high frequency the white noise (flat) dominates
    assert abs(_loglog_slope(freq, power, 0.04)) < 0.3


def test_banding_is_vertical_in_dms(pink_frame):
    col_rms = banding_amplitude(pink_frame, np.ones(FULL, bool))
    row_rms = float(np.std(np.median(pink_frame, axis=1)))
    assert col_rms > 1.0
    assert col_rms > 10 * row_rms


def test_outputs_correlated_and_mirrored():
    shared = NoiseModel(white_e=0.0, uncorrelated_pink_e=0.0, acn_e=0.0,
                            picture_frame_e=0.0)
    f = one_over_f_frame(FULL, model=shared, rng=_rng(4))
    # alternate outputs scan in opposite directions: row r of output 0 is read together with
    # row 1023 - r of output 1, and row 1024 + r of output 2
    np.testing.assert_array_equal(f[:512], f[512:1024][::-1])
    np.testing.assert_array_equal(f[:512], f[1024:1536])
    # per-output structure: uncorrelated pink noise decorrelates the column profiles of outputs
    own = NoiseModel(white_e=0.0, correlated_pink_e=0.0, acn_e=0.0, picture_frame_e=0.0)
    g = one_over_f_frame(FULL, model=own, rng=_rng(4))
    prof = g.reshape(4, 512, 2048).mean(axis=1)
    assert banding_amplitude(g, np.ones(FULL, bool)) > 0.3
    assert abs(np.corrcoef(prof[0], prof[1])[0, 1]) < 0.5


def test_nrs2_is_flipped_along_x():
    m = NoiseModel()
    f1 = one_over_f_frame((128, 96), model=m, rng=_rng(5), detector="NRS1")
    f2 = one_over_f_frame((128, 96), model=m, rng=_rng(5), detector="NRS2")
    np.testing.assert_allclose(f2, f1[:, ::-1])
    with pytest.raises(ValueError, match="detector"):
        one_over_f_frame((8, 8), model=m, rng=_rng(), detector="NRS3")


def test_acn_alternates_along_fast_scan():
    acn = NoiseModel(white_e=0, correlated_pink_e=0, uncorrelated_pink_e=0,
                         picture_frame_e=0)
    f = one_over_f_frame((512, 256), model=acn, rng=_rng(6))
    # one output strip: 128 rows; even rows share a per-column offset, odd rows another
    strip = f[:128]
    np.testing.assert_allclose(strip[0::2], np.broadcast_to(strip[0], (64, 256)))
    np.testing.assert_allclose(strip[1::2], np.broadcast_to(strip[1], (64, 256)))
    assert np.std(f) == pytest.approx(0.5, rel=0.1)


def test_picture_frame_larger_at_edges():
    pf = NoiseModel(white_e=0, correlated_pink_e=0, uncorrelated_pink_e=0, acn_e=0)
    edge, centre = [], []
    for seed in range(20):
        f = one_over_f_frame(FULL, model=pf, rng=_rng(seed))
        edge.append(f[1024, 0])
        centre.append(f[1024, 1024])
    assert 0.1 < np.std(edge) < 0.6
    assert np.max(np.abs(centre)) < 0.01


def test_one_over_f_zero_gives_no_banding():
    m = NoiseModel().scaled(one_over_f=0.0)
    f = one_over_f_frame((256, 256), model=m, rng=_rng())
    assert not f.any()
    r = rate_noise((512, 512), ngroups=10, group_time_s=14.59, rng=_rng(), model=m)
    assert r.banding_sigma == 0.0
    # only the white noise of the column medians (128 rows per output) is left: ~1.25/√128
    band = banding_amplitude(r.image, np.ones((512, 512), bool))
    assert band == pytest.approx(1.2533 / math.sqrt(128) * r.white_sigma, rel=0.15)


def test_white_noise_rms():
    m = NoiseModel(readpatt="NRSRAPID").scaled(one_over_f=0.0)
    f = read_noise_frame((512, 512), model=m, rng=_rng(7))
    assert f.std() == pytest.approx(5.2, rel=0.01)


# ----------------------------------------------------------------------------- rates


@pytest.mark.parametrize("ngroups", [2, 5, 30])
def test_rate_noise_matches_least_squares(ngroups):
    tg = 14.5894
    sigma = math.sqrt(12.0 / (ngroups * (ngroups**2 - 1))) / tg
    white = rate_noise((512, 512), ngroups=ngroups, group_time_s=tg, rng=_rng(8),
                           model=NoiseModel(readpatt="NRS").scaled(one_over_f=0.0))
    assert white.white_sigma == pytest.approx(5.2 * sigma)
    assert white.image.std() == pytest.approx(white.white_sigma, rel=0.05)
    onef = rate_noise(FULL, ngroups=ngroups, group_time_s=tg, rng=_rng(9),
                          model=NoiseModel().scaled(white=0.0))
    assert onef.white_sigma == 0.0
    assert onef.banding_sigma == pytest.approx(NoiseModel().one_over_f_rms() * sigma)
    assert onef.image.std() == pytest.approx(onef.banding_sigma, rel=0.15)


def test_rate_noise_slope_equals_explicit_fit():
    """The equivalent-frame shortcut has the variance of an explicit least-squares fit."""
    n, tg, s = 6, 10.0, 5.2
    rng = _rng(10)
    t = np.arange(n) * tg
    reads = rng.normal(0.0, s, size=(n, 200_000))
    slope = np.polyfit(t, reads, 1)[0]
    r = rate_noise((400, 500), ngroups=n, group_time_s=tg, rng=_rng(11),
                       model=NoiseModel(readpatt="NRS").scaled(one_over_f=0.0))
    assert r.image.std() == pytest.approx(slope.std(), rel=0.05)


def test_rate_noise_validation():
    with pytest.raises(ValueError, match="ngroups"):
        rate_noise((8, 8), ngroups=1, group_time_s=10.0, rng=_rng(), model=NoiseModel())
    with pytest.raises(ValueError, match="group_time_s"):
        rate_noise((8, 8), ngroups=3, group_time_s=0.0, rng=_rng(), model=NoiseModel())


def test_rate_noise_reproducible():
    kw = {"ngroups": 4, "group_time_s": 10.0, "model": NoiseModel()}
    a = rate_noise((256, 256), rng=_rng(12), **kw).image
    b = rate_noise((256, 256), rng=_rng(12), **kw).image
    c = rate_noise((256, 256), rng=_rng(13), **kw).image
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float64


# ----------------------------------------------------------------------------- photons, CRs, DQ


def test_add_poisson_mean_variance_and_special_values():
    sig = np.full(200_000, 10.0)
    out = add_poisson(sig, 100.0, _rng(14))
    assert out.mean() == pytest.approx(10.0, rel=0.002)
    assert out.var() == pytest.approx(10.0 / 100.0, rel=0.02)
    special = add_poisson(np.array([np.nan, -5.0, 0.0]), 50.0, _rng())
    assert np.isnan(special[0])
    np.testing.assert_array_equal(special[1:], [0.0, 0.0])
    np.testing.assert_array_equal(add_poisson(sig[:50], 3.0, _rng(1)),
                                  add_poisson(sig[:50], 3.0, _rng(1)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cosmic_ray_rate_and_footprint(seed):
    shape, t, rate = (1024, 1024), 300.0, 3.0
    expected = rate * shape[0] * shape[1] * (18e-4) ** 2 * t
    cr = cosmic_rays(shape, t, _rng(seed), rate_per_cm2_s=rate)
    assert abs(cr.n_hits - expected) < 4 * math.sqrt(expected)
    assert 5.0 <= cr.mask.sum() / cr.n_hits <= 9.0
    assert cr.hit_centres.shape == (cr.n_hits, 2)
    np.testing.assert_array_equal(cr.mask, cr.image > 0)
    assert cr.mask[tuple(cr.hit_centres.T)].all()
    charge = cr.image * t
    # deposited charge per hit ~ a few thousand e⁻
    assert 1500 < charge.sum() / cr.n_hits < 6000


def test_cosmic_rays_reproducible_and_off():
    a = cosmic_rays((256, 256), 500.0, _rng(20))
    b = cosmic_rays((256, 256), 500.0, _rng(20))
    c = cosmic_rays((256, 256), 500.0, _rng(21))
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)
    none = cosmic_rays((64, 64), 500.0, _rng(), rate_per_cm2_s=0.0)
    assert none.n_hits == 0 and not none.mask.any() and none.hit_centres.shape == (0, 2)


def test_dq_reference_border_hot_dead():
    dq = dq_for_detector(FULL, _rng(30), hot_fraction=1e-3, dead_fraction=5e-4)
    assert dq.dtype == np.uint32
    ref = dqflags.pixel["REFERENCE_PIXEL"]
    border = np.ones(FULL, bool)
    border[4:-4, 4:-4] = False
    assert np.all(dq[border] & ref)
    assert not np.any(dq[~border] & ref)
    n_inner = (~border).sum()
    hot = (dq & dqflags.pixel["HOT"]) > 0
    dead = (dq & dqflags.pixel["DEAD"]) > 0
    assert abs(hot.sum() - 1e-3 * n_inner) < 5 * math.sqrt(1e-3 * n_inner)
    assert abs(dead.sum() - 5e-4 * n_inner) < 5 * math.sqrt(5e-4 * n_inner)
    assert np.all(dq[dead] & dqflags.pixel["DO_NOT_USE"])
    np.testing.assert_array_equal(dq, dq_for_detector(FULL, _rng(30), hot_fraction=1e-3,
                                                          dead_fraction=5e-4))


# ----------------------------------------------------------------------------- metrics


def test_banding_amplitude_respects_mask():
    img = np.zeros((64, 32))
    img[:, 5] = 10.0  # one bright column
    mask = np.ones(img.shape, bool)
    mask[:, 5] = False
    assert banding_amplitude(img, mask) == 0.0
    assert np.isnan(banding_amplitude(img, np.zeros(img.shape, bool)))


def test_profile_spectrum_shape():
    f = one_over_f_frame((256, 512), model=ONLY_PINK, rng=_rng(40))
    mask = np.ones(f.shape, bool)
    mask[:, 100:110] = False
    freq, power = column_power_spectrum(f, mask, kind="profile")
    assert freq.shape == power.shape == (256,)
    assert freq[-1] == pytest.approx(0.5)
    assert power[:10].mean() > 10 * power[-50:].mean()
