"""Simulated ramps and jwst's jump detection and ramp fitting (cosmic-ray rejection measured)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ifuqa.metrics.banding import banding_amplitude
from ifuqa.process.jwst_api.ramp_fitting import fit_ramps
from ifuqa.simulate.artefacts import cosmic_ray_deposits, cosmic_rays
from ifuqa.simulate.noise import NoiseModel, rate_noise, slope_weight
from ifuqa.simulate.ramps import arrival_groups, cosmic_ray_slope_weights, ramp_rate

JUMP_DET = 4


@pytest.mark.parametrize("ngroups", [2, 3, 11, 49])
def test_slope_weights_match_a_least_squares_fit(ngroups):
    tg = 14.5894
    t = (np.arange(ngroups) + 1) * tg
    weights = cosmic_ray_slope_weights(ngroups, tg)
    for k in range(ngroups):
        step = (np.arange(ngroups) >= k).astype(float)
        assert weights[k] == pytest.approx(np.polyfit(t, step, 1)[0], abs=1e-12)
    assert weights[0] == pytest.approx(0.0, abs=1e-15)  # before the first read: offset only


def test_slope_weights_reject_bad_timing():
    with pytest.raises(ValueError, match="ngroups"):
        cosmic_ray_slope_weights(1, 10.0)
    with pytest.raises(ValueError, match="group_time_s"):
        cosmic_ray_slope_weights(5, 0.0)


def test_arrival_groups_cover_the_integration_uniformly():
    groups = arrival_groups(110_000, 11, np.random.default_rng(3))
    counts = np.bincount(groups, minlength=11)
    assert groups.min() == 0 and groups.max() == 10
    assert np.all(np.abs(counts - 10_000) < 5 * math.sqrt(10_000))


def test_deposits_are_the_hits_of_the_rate_model():
    a = cosmic_rays((256, 256), 500.0, np.random.default_rng(5), rate_per_cm2_s=30.0)
    dep = cosmic_ray_deposits((256, 256), 500.0, np.random.default_rng(5),
                                  rate_per_cm2_s=30.0)
    assert dep.n_hits == a.n_hits > 0
    np.testing.assert_allclose(dep.image() / 500.0, a.image, rtol=1e-12, atol=0)
    assert dep.hit.max() == dep.n_hits - 1 and dep.pixel.size == dep.charge_e.size


def _ramp(rate_dn, ngroups, tg, sigma_dn, rng, jumps=()):
    ny, nx = rate_dn.shape
    t = (np.arange(ngroups) + 1) * tg
    ramp = rate_dn[None, None] * t[None, :, None, None]
    ramp = ramp + rng.normal(0.0, sigma_dn, (1, ngroups, ny, nx))
    for (y, x, k, size) in jumps:
        ramp[0, k:, y, x] += size
    return ramp.astype(np.float32)


def test_fit_ramps_recovers_slopes_and_reads_readnoise_as_cds():
    """No shot noise (gain large), white read noise only: the fitted slope is unbiased, its
    read-noise variance is the per-read formula for sigma = READNOISE / sqrt(2), and almost no
    pixel is flagged."""
    rng = np.random.default_rng(11)
    ngroups, tg, sigma = 11, 14.5894, 8.0
    truth = np.full((128, 128), 2.0, dtype=np.float32)
    ramp = _ramp(truth, ngroups, tg, sigma, rng)
    out = fit_ramps(ramp, pixel_dq=np.zeros(truth.shape, np.uint32), group_time_s=tg,
                    detector="NRS1", readpatt="NRSIRS2RAPID", gain=1.0,
                    readnoise_cds_dn=math.sqrt(2.0) * sigma)
    expected_var = 12 * sigma**2 / (ngroups**3 - ngroups) / tg**2
    assert np.median(out.var_rnoise) == pytest.approx(expected_var, rel=0.02)
    resid = (out.rate_dn_s - truth) / np.sqrt(expected_var)
    assert abs(resid.mean()) < 4 / math.sqrt(resid.size)
    assert resid.std() == pytest.approx(1.0, abs=0.05)
    assert ((out.dq & JUMP_DET) > 0).mean() < 0.01


def test_fit_ramps_flags_jumps_and_fits_around_them():
    rng = np.random.default_rng(12)
    ngroups, tg, sigma = 11, 14.5894, 8.0
    truth = np.full((96, 96), 1.5, dtype=np.float32)
    ys, xs = np.meshgrid(np.arange(4, 92, 8), np.arange(4, 92, 8), indexing="ij")
    ks = rng.integers(1, ngroups, ys.size)
    jumps = [(y, x, k, 60 * sigma) for y, x, k in zip(ys.ravel(), xs.ravel(), ks, strict=True)]
    ramp = _ramp(truth, ngroups, tg, sigma, rng, jumps)
    before = ramp.copy()
    out = fit_ramps(ramp, pixel_dq=np.zeros(truth.shape, np.uint32), group_time_s=tg,
                    detector="NRS1", readpatt="NRSIRS2RAPID", gain=1.0,
                    readnoise_cds_dn=math.sqrt(2.0) * sigma)
    np.testing.assert_array_equal(ramp, before)  # the input is not modified
    hit = (ys.ravel(), xs.ravel())
    assert np.all((out.dq[hit] & JUMP_DET) > 0)
    # the jump is removed from the slope: within 5 sigma of the truth at every hit pixel
    assert np.all(np.abs(out.rate_dn_s[hit] - truth[hit]) < 5 * out.err[hit])
    unflagged = np.abs(out.rate_dn_s[hit] - truth[hit] - cosmic_ray_slope_weights(ngroups, tg)[ks]
                       * 60 * sigma)
    assert np.median(unflagged) > 20 * np.median(out.err[hit])  # what a miss would have cost


def test_fit_ramps_rejects_a_ramp_of_the_wrong_shape():
    with pytest.raises(ValueError, match="ngroups"):
        fit_ramps(np.zeros((5, 8, 8), np.float32), pixel_dq=np.zeros((8, 8), np.uint32),
                  group_time_s=10.0, detector="NRS1", readpatt="NRSRAPID", gain=1.0,
                  readnoise_cds_dn=10.0)


@pytest.mark.parametrize("ngroups, min_recall, max_recall", [(11, 95.0, 100.0), (2, 0.0, 0.5)])
def test_ramp_rate_catches_hits_unless_there_are_two_groups(ngroups, min_recall, max_recall):
    """Jump detection catches the hits that matter; with two groups there is one difference per
    pixel and jump detection cannot run (the power of the cosmic-ray check)."""
    shape = (256, 256)
    signal = np.full(shape, 0.5)
    white_only = NoiseModel(readpatt="NRSRAPID").scaled(white=6.0 / 5.2, one_over_f=0.0)
    out = ramp_rate(signal, ngroups=ngroups, group_time_s=14.5894, detector="NRS1", gain=1.0,
                    noise=white_only, poisson=True, pixel_dq=np.zeros(shape, np.uint32),
                    cosmic_ray_rate_per_cm2_s=400.0, rng=np.random.default_rng(4),
                    fit_ramps=fit_ramps)
    err = np.sqrt(out.var_poisson_e + out.var_rnoise_e)
    strong = out.cr_rate_e > 10 * err
    assert strong.sum() > 100
    recall = ((out.dq & JUMP_DET) > 0)[strong].mean() * 100
    assert min_recall <= recall <= max_recall
    assert out.n_hits > 0 and out.cr_mask.sum() >= strong.sum()
    quiet = ~out.cr_mask
    resid = (out.rate_e - signal)[quiet] / err[quiet]
    assert abs(np.median(resid)) < 0.1 and 0.8 < np.std(resid) < 1.3


def test_one_over_f_noise_in_every_read_comes_through_the_slope_fit():
    """With 1/f noise drawn in every read, the fitted rate's scatter and ramp fitting's own
    read-noise variance both match a slope over reads of total noise white (+) 1/f, and the
    rate is banded (rows of the 1/f pattern) as the statistical model's rate is."""
    shape, ngroups, tg = (512, 512), 11, 14.5894
    noise = NoiseModel(readpatt="NRSIRS2RAPID")
    out = ramp_rate(np.zeros(shape), ngroups=ngroups, group_time_s=tg, detector="NRS1",
                    gain=1.0, noise=noise, poisson=False, pixel_dq=np.zeros(shape, np.uint32),
                    cosmic_ray_rate_per_cm2_s=0.0, rng=np.random.default_rng(8),
                    fit_ramps=fit_ramps)
    per_read = math.hypot(noise.white_frame_e, noise.one_over_f_rms(shape))
    expected = per_read * slope_weight(ngroups, tg)
    assert np.std(out.rate_e) == pytest.approx(expected, rel=0.15)
    assert math.sqrt(np.median(out.var_rnoise_e)) == pytest.approx(expected, rel=0.05)
    model = rate_noise(shape, ngroups=ngroups, group_time_s=tg,
                           rng=np.random.default_rng(9), model=noise)
    everywhere = np.ones(shape, dtype=bool)
    ramp_banding = banding_amplitude(out.rate_e, everywhere)
    model_banding = banding_amplitude(model.image, everywhere)
    assert ramp_banding == pytest.approx(model_banding, rel=0.3)
