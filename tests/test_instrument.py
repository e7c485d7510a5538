"""The synthetic NIRSpec IFU instrument model against the numbers it is built from."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import angular_separation
from hypothesis import given, settings
from hypothesis import strategies as st

from ifuqa.instrument import (
    ALONG_SLICE_PIXEL_ARCSEC,
    DISPERSERS,
    N_SLICES,
    SLICE_LENGTH_ARCSEC,
    SLICE_WIDTH_ARCSEC,
    Pointing,
    get_disperser,
    pixel_map,
    trace_center,
    unilluminated_mask,
)
from ifuqa.instrument.photometry import electrons_per_s_per_mjy


@pytest.fixture(scope="module")
def g395h_maps():
    d = get_disperser("G395H", "F290LP")
    return {det: pixel_map(d, det) for det in ("NRS1", "NRS2")}


@pytest.mark.parametrize("name", sorted(DISPERSERS))
def test_wavelengths_cover_the_nominal_range(name):
    d = DISPERSERS[name]
    lam = np.concatenate([pixel_map(d, det).wavelength_um for det in d.detectors])
    assert lam.min() == pytest.approx(d.wavelength_min_um, abs=0.01 * d.wavelength_min_um)
    assert lam.max() == pytest.approx(d.wavelength_max_um, abs=0.01 * d.wavelength_max_um)


def test_h_gratings_span_both_detectors_with_a_gap(g395h_maps):
    nrs1, nrs2 = g395h_maps["NRS1"], g395h_maps["NRS2"]
    assert nrs1.size > 1_000_000 and nrs2.size > 1_000_000
    gap = nrs2.wavelength_um.min() - nrs1.wavelength_um.max()
    # the gap is ~170 columns wide, minus the per-slice column shifts
    assert 100 * nrs1.dwave_um[0] < gap < 200 * nrs1.dwave_um[0]


def test_m_gratings_and_prism_use_nrs1_only():
    for name in ("G395M/F290LP", "PRISM/CLEAR"):
        assert pixel_map(DISPERSERS[name], "NRS2").size == 0


def test_dispersion_close_to_the_cube_default_step():
    # the default cube wavelength step is about one detector pixel
    for name in ("G140H/F100LP", "G235H/F170LP", "G395H/F290LP", "G395M/F290LP"):
        d = DISPERSERS[name]
        assert 0.5 < d.dispersion_um_per_px / d.cube_step_um < 1.2


def test_prism_is_nonlinear_with_resolving_power_minimum_near_1p2um():
    d = get_disperser("PRISM", "CLEAR")
    m = pixel_map(d, "NRS1")
    ncols = np.unique(m.x).size
    assert 400 < ncols < 520
    assert d.prism_r(1.2) < d.prism_r(0.6) < d.prism_r(5.0)
    r_measured = m.wavelength_um / (2.2 * m.dwave_um)
    assert np.allclose(r_measured, d.prism_r(m.wavelength_um))


def test_trace_curvature_matches_the_measured_ground_test_trace():
    middle = N_SLICES // 2
    drop = trace_center(8.0, middle) - trace_center(8.0 + 1464.0, middle)
    assert 12.0 < drop < 16.0  # ~14 px over 1464 columns
    slope_blue = trace_center(9.0, middle) - trace_center(8.0, middle)
    slope_red = trace_center(1473.0, middle) - trace_center(1472.0, middle)
    assert slope_blue == pytest.approx(-0.015, rel=0.15)
    assert slope_red == pytest.approx(-0.004, rel=0.35)


def test_slices_have_distinct_sub_pixel_phases():
    phases = trace_center(1024.0, np.arange(N_SLICES)) % 1.0
    assert np.unique(np.round(phases, 2)).size > 20


def test_footprints_tile_each_slice_exactly(g395h_maps):
    m = g395h_maps["NRS1"]
    assert np.all(m.across_hi - m.across_lo == pytest.approx(SLICE_WIDTH_ARCSEC))
    extent = m.along_hi - m.along_lo
    assert np.all(extent <= ALONG_SLICE_PIXEL_ARCSEC + 1e-12) and np.all(extent > 0)
    # in every (slice, column) the along-slice footprints cover [-1.5", 1.5"] without overlap,
    # up to the half-pixel sliver at each end whose pixel centre falls outside the slice
    for k in (0, 13, 29):
        for x in (100, 1000, 2000):
            sel = (m.slice_index == k) & (m.x == x)
            lo, hi = np.sort(m.along_lo[sel]), np.sort(m.along_hi[sel])
            assert np.allclose(lo[1:], hi[:-1])
            covered = hi.sum() - lo.sum()
            assert SLICE_LENGTH_ARCSEC - ALONG_SLICE_PIXEL_ARCSEC <= covered <= SLICE_LENGTH_ARCSEC


def test_slices_tile_the_field_across():
    d = get_disperser("G395M", "F290LP")
    m = pixel_map(d, "NRS1")
    edges = np.unique(np.round(np.concatenate([m.across_lo, m.across_hi]), 6))
    assert edges.size == N_SLICES + 1
    assert edges[-1] - edges[0] == pytest.approx(N_SLICES * SLICE_WIDTH_ARCSEC)


def test_illuminated_pixels_are_unique_and_inside_the_detector(g395h_maps):
    m = g395h_maps["NRS1"]
    flat = m.y.astype(np.int64) * 2048 + m.x
    assert np.unique(flat).size == flat.size
    assert m.x.min() >= 4 and m.x.max() <= 2043 and m.y.min() >= 4 and m.y.max() <= 2043


def test_unilluminated_mask_excludes_light_and_reference_pixels(g395h_maps):
    d = get_disperser("G395H", "F290LP")
    mask = unilluminated_mask(d, "NRS1")
    m = g395h_maps["NRS1"]
    assert not mask[m.y, m.x].any()
    assert not mask[:4].any() and not mask[:, -4:].any()
    assert mask.sum() > 0.4 * mask.size  # plenty of dark rows above and below the slices


def test_wavelength_window_restricts_the_map():
    d = get_disperser("G395H", "F290LP")
    m = pixel_map(d, "NRS1", (3.7, 4.0))
    assert m.wavelength_um.min() >= 3.7 and m.wavelength_um.max() <= 4.0
    assert pixel_map(d, "NRS2", (3.7, 4.0)).size == 0


def test_throughput_and_photon_conversion_are_physical():
    d = get_disperser("G395H", "F290LP")
    # 1 mJy at 4 um in a 5.65e-4 um pixel column: F_nu A dlam / (h lam) * eta
    expected = 1e-29 * 25.4 * 5.65e-4 / (6.62607015e-34 * 4.0) * d.throughput(4.0)
    assert electrons_per_s_per_mjy(d, 4.0, 5.65e-4) == pytest.approx(expected)
    assert 0.25 < d.throughput(4.0) < 0.5
    assert d.throughput(6.0) == 0.0


def test_position_angle_orientation():
    p = Pointing(53.0, 0.0, 0.0)
    ra, dec = p.ifu_to_sky(np.array(0.0), np.array(1.0))  # along -> north
    assert dec * 3600 == pytest.approx(1.0, abs=1e-6) and ra == pytest.approx(53.0)
    ra, dec = p.ifu_to_sky(np.array(1.0), np.array(0.0))  # across -> west
    assert (ra - 53.0) * 3600 == pytest.approx(-1.0, abs=1e-6)
    ra, dec = Pointing(53.0, 0.0, 90.0).ifu_to_sky(np.array(0.0), np.array(1.0))  # along -> east
    assert (ra - 53.0) * 3600 == pytest.approx(1.0, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(ra=st.floats(0, 359.99), dec=st.floats(-89, 89), pa=st.floats(-180, 360),
       across=st.floats(-2, 2), along=st.floats(-2, 2))
def test_sky_round_trip(ra, dec, pa, across, along):
    p = Pointing(ra, dec, pa)
    r, d = p.ifu_to_sky(np.array(across), np.array(along))
    a2, b2 = p.sky_to_ifu(r, d)
    assert a2 == pytest.approx(across, abs=1e-6)
    assert b2 == pytest.approx(along, abs=1e-6)
    separation = angular_separation(*np.radians([ra, dec, float(r), float(d)]))
    assert np.hypot(across, along) == pytest.approx(3600 * np.degrees(separation), abs=2e-3)


def test_unknown_disperser_names_valid_ones():
    with pytest.raises(ValueError, match="G395H/F290LP"):
        get_disperser("G395H", "F100LP")


def test_closed_form_projection_matches_astropy() -> None:
    from astropy.modeling import models

    from ifuqa.instrument.sky import sky_to_tangent, tangent_to_sky

    rng = np.random.default_rng(3)
    xi, eta = rng.uniform(-5, 5, 200), rng.uniform(-5, 5, 200)
    for ra0, dec0 in ((10.0, -30.0), (359.999, 0.0), (150.0, 85.0)):
        proj = models.Pix2Sky_Gnomonic() | models.RotateNative2Celestial(ra0, dec0, 180.0)
        ra_ref, dec_ref = proj(xi / 3600.0, eta / 3600.0)
        ra, dec = tangent_to_sky(xi, eta, ra0, dec0)
        dra = ((ra - np.asarray(ra_ref) + 180.0) % 360.0) - 180.0
        assert np.max(np.abs(dra * np.cos(np.deg2rad(dec0)))) * 3.6e6 < 1e-3  # mas
        assert np.max(np.abs(dec - dec_ref)) * 3.6e6 < 1e-3
        back = sky_to_tangent(ra, dec, ra0, dec0)
        np.testing.assert_allclose(back[0], xi, atol=1e-8)
        np.testing.assert_allclose(back[1], eta, atol=1e-8)
