"""Scenario files: the catalogue loads, and every invalid input names its key and file."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from ifuqa.scenario import (
    DITHER_PATTERNS,
    ScenarioError,
    catalogue_names,
    load_scenario,
    parse_scenario,
)
from ifuqa.scenario.write import scenario_dict, scenario_toml
from ifuqa.strategies import scenarios

MINIMAL = """
grating = "G395H"
filter = "F290LP"
exposure_time = 500.0
[[sources]]
kind = "point"
flux_mjy = 1.0
"""

EXPECTED_CATALOGUE = {
    "bright_point_g395h", "faint_point_g140h_nrs2", "pointing_offset_g395h",
    "drift_point_g235m", "extended_g235h", "prism_point", "cosmic_rays_g395h_ramps",
}


def test_catalogue_has_every_required_scenario():
    assert EXPECTED_CATALOGUE <= set(catalogue_names())


@pytest.mark.parametrize("name", sorted(EXPECTED_CATALOGUE))
def test_catalogue_scenarios_load(name):
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.sources and scenario.exposure_time > 0


def test_catalogue_contents_match_their_purpose():
    assert load_scenario("bright_point_g395h").dithers == DITHER_PATTERNS["4-point-dither"]
    faint = load_scenario("faint_point_g140h_nrs2")
    assert faint.detectors == ("NRS2",) and faint.grating == "G140H"
    off = load_scenario("pointing_offset_g395h").pointing_offset
    assert (off[0] ** 2 + off[1] ** 2) ** 0.5 == pytest.approx(0.15)
    drift = load_scenario("drift_point_g235m").sources[0].drift_mas
    assert drift == (0.0, 0.0) or list(drift) == [0.0, 0.0]  # good data: the power row drifts
    assert load_scenario("extended_g235h").sources[0].kind == "extended"
    assert load_scenario("prism_point").grating == "PRISM"
    ramps = load_scenario("cosmic_rays_g395h_ramps")
    assert ramps.noise.ramps and ramps.noise.cosmic_rays == 1.0 and ramps.ngroups >= 3
    assert not load_scenario("bright_point_g395h").noise.ramps


def test_extra_studies_key_decides_the_reference_cube_and_spaxel_scales():
    import tomllib

    from ifuqa.builds.synthetic import catalogue_spec

    # absent: by kind of scene (a centred 4-point-dither point source gets both studies)
    base = tomllib.loads(MINIMAL) | {"dithers": "4-point-dither"}
    assert parse_scenario(base).extra_studies is None
    off = parse_scenario(base | {"extra_studies": False})
    assert off.extra_studies is False
    assert parse_scenario(scenario_dict(off)) == off
    with pytest.raises(ScenarioError, match=r"extra_studies.*true or false"):
        parse_scenario(base | {"extra_studies": "no"})
    bright = catalogue_spec("bright_point_g395h")
    assert bright.with_reference and bright.with_scales
    drift = catalogue_spec("drift_point_g235m")  # NS-IFU06's base opts out
    assert not drift.with_reference and not drift.with_scales


def test_minimal_scenario_defaults(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL)
    s = load_scenario(path)
    assert s.name == "mini"
    assert s.dithers == ((0.0, 0.0),) and s.readout == "NRSIRS2RAPID"
    assert s.ngroups >= 2 and s.effective_exposure_time == pytest.approx(
        (s.ngroups - 1) * s.group_time_s)
    assert s.noise.one_over_f == 1.0 and s.noise.poisson


def test_explicit_dithers_and_noise_switches(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(MINIMAL.replace('exposure_time = 500.0', '''exposure_time = 500.0
dithers = [[0.0, 0.0], [0.05, 0.1]]
[noise]
one_over_f = false
cosmic_rays = 2.5'''))
    s = load_scenario(path)
    assert s.dithers == ((0.0, 0.0), (0.05, 0.1))
    assert s.noise.one_over_f == 0.0 and s.noise.cosmic_rays == 2.5


@pytest.mark.parametrize(("change", "key"), [
    (("exposure_time = 500.0", "exposure_time = 500.0\ncolour = 'red'"), "colour"),
    (('flux_mjy = 1.0', 'flux_mjy = 1.0\nsize = 3'), "sources[0].size"),
    (('flux_mjy = 1.0', 'flux_mjy = -1.0'), "sources[0].flux_mjy"),
    (('flux_mjy = 1.0', 'flux_mjy = "bright"'), "sources[0].flux_mjy"),
    (('kind = "point"', 'kind = "comet"'), "sources[0].kind"),
    (('filter = "F290LP"', 'filter = "F100LP"'), "filter"),
    (("exposure_time = 500.0", "exposure_time = 0"), "exposure_time"),
    (("exposure_time = 500.0", "exposure_time = 500.0\ndithers = 'spiral'"), "dithers"),
    (("exposure_time = 500.0", "exposure_time = 500.0\ndithers = [[1.0]]"), "dithers[0]"),
    (("exposure_time = 500.0", "exposure_time = 500.0\nreadout = 'FAST'"), "readout"),
    (("exposure_time = 500.0", "exposure_time = 500.0\nseed = -3"), "seed"),
    (("exposure_time = 500.0", "exposure_time = 500.0\npointing_offset = 0.1"),
     "pointing_offset"),
    (("exposure_time = 500.0", "exposure_time = 500.0\nwavelength_range_um = [1.0, 2.0]"),
     "wavelength_range_um"),
    (('grating = "G395H"', 'grating = "G395M"\ndetectors = ["NRS2"]'), "detectors"),
    (("exposure_time = 500.0", "exposure_time = 500.0\n[noise]\nflicker = 1"), "noise.flicker"),
    (("exposure_time = 500.0", "exposure_time = 500.0\n[noise]\nramps = 1"), "noise.ramps"),
    (("flux_mjy = 1.0", "flux_mjy = 1.0\nlines = [{wavelength_um = 1.0, amplitude = 1.0}]"),
     "sources[0].lines[0].wavelength_um"),
    (("flux_mjy = 1.0", "flux_mjy = 1.0\nlines = [{wavelength_um = 4.0, amplitude = -2.0}]"),
     "sources[0].lines[0].amplitude"),
    (("flux_mjy = 1.0", "flux_mjy = 1.0\nradius_arcsec = 0.2"), "sources[0].radius_arcsec"),
])
def test_invalid_values_name_the_key_and_file(tmp_path, change, key):
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace(*change))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"'{key}'" in message
    assert str(path) in message


def test_missing_required_key():
    with pytest.raises(ScenarioError, match="'grating' is required"):
        parse_scenario({"filter": "F290LP", "exposure_time": 1.0,
                        "sources": [{"kind": "point", "flux_mjy": 1.0}]})


def test_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("grating = \n")
    with pytest.raises(ScenarioError, match=r"broken\.toml: not valid TOML"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario("does_not_exist")


def test_extended_source_keys(tmp_path):
    path = tmp_path / "ext.toml"
    path.write_text(MINIMAL.replace('kind = "point"', '''kind = "extended"
profile = "sersic"
radius_arcsec = 0.25
sersic_index = 4.0'''))
    src = load_scenario(path).sources[0]
    assert (src.profile, src.radius_arcsec, src.sersic_index) == ("sersic", 0.25, 4.0)


# ---------------------------------------------------------------- properties over drawn scenes
# The scenes of ifuqa.strategies (what `ifuqa explore` and users' property tests draw).

DRAWS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@DRAWS
@given(scenarios())
def test_every_drawn_scenario_is_accepted_by_parse_scenario(scenario):
    """Many draws over the whole instrument space: parse_scenario accepts each, and its TOML
    text reads back to the same scenario."""
    import tomllib

    assert parse_scenario(scenario_dict(scenario)) == scenario
    assert parse_scenario(tomllib.loads(scenario_toml(scenario))) == scenario
    assert scenario.ngroups >= 2
    assert abs(scenario.effective_exposure_time - scenario.exposure_time) < 1e-6


@settings(max_examples=60, deadline=None)
@given(scenarios(band_planes=120))
def test_every_drawn_scenario_file_is_accepted_by_ifuqa_simulate(tmp_path_factory, scenario):
    """``ifuqa simulate FILE`` loads the scenario with load_scenario: the written file loads to
    the drawn scenario (its source_path aside)."""
    from dataclasses import replace

    path = tmp_path_factory.mktemp("drawn") / f"{scenario.name}.toml"
    path.write_text(scenario_toml(scenario, comment="drawn by ifuqa.strategies"))
    loaded = load_scenario(path)
    assert replace(loaded, source_path=None) == scenario
    assert loaded.source_path == str(path)


def test_a_window_on_no_simulated_detector_is_rejected():
    """A band that falls on none of the listed detectors (found by the strategies' property test:
    `ifuqa simulate` then wrote only truth.json) is rejected, naming the key and the ranges."""
    with pytest.raises(ScenarioError,
                       match=r"wavelength_range_um.*none of the simulated detectors.*NRS1"):
        parse_scenario({"grating": "G395H", "filter": "F290LP", "exposure_time": 500.0,
                        "detectors": ["NRS1"], "wavelength_range_um": [4.2, 4.3],
                        "sources": [{"kind": "point", "flux_mjy": 1.0}]})
