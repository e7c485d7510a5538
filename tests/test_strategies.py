"""ifuqa.strategies: every drawn scene is one ``ifuqa simulate`` accepts and the instrument can
observe; the whole instrument space is reachable; failing scenes shrink toward simple ones."""

from __future__ import annotations

import doctest
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from stdatamodels.validate import ValidationWarning

import ifuqa.scenario.write
import ifuqa.strategies.bounds
import ifuqa.strategies.pointing
import ifuqa.strategies.scenes
import ifuqa.strategies.sources
from ifuqa.instrument.dispersers import DISPERSERS
from ifuqa.scenario import READOUT_GROUP_TIME_S, load_scenario, parse_scenario
from ifuqa.scenario.write import scenario_toml
from ifuqa.strategies import (
    DISPERSER_ORDER,
    FAINT_FRACTION,
    FIELD_HALF_ARCSEC,
    dither_patterns,
    extended_sources,
    field_margin_arcsec,
    point_sources,
    pointing_errors,
    saturation_mjy,
    scenarios,
    simulated_band,
)

MANY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def minimal(strategy, condition=lambda s: True):
    """The minimal drawn value satisfying ``condition`` (Hypothesis's shrinking; no database, so
    earlier runs do not steer it)."""
    return find(strategy, condition, settings=settings(database=None, max_examples=2000))


def some(strategy, condition, max_examples: int = 3000):
    """The first drawn value satisfying ``condition`` (no shrinking): it is reachable."""
    return find(strategy, condition, settings=settings(database=None, max_examples=max_examples,
                                                       phases=[Phase.generate]))


def _band(s):
    return simulated_band(s)


def _assert_observable(s) -> None:
    """The bounds the module docstring promises."""
    disp = DISPERSERS[f"{s.grating}/{s.filter}"]
    lo, hi = _band(s)
    assert disp.wavelength_min_um <= lo < hi <= disp.wavelength_max_um
    for det in s.detectors or disp.detectors:
        assert det in disp.detectors
    if s.wavelength_range_um is not None:  # a window lies on the simulated detectors
        ranges = [disp.wavelength_range_on(d) for d in (s.detectors or disp.detectors)]
        assert min(r[0] for r in ranges) <= lo and hi <= max(r[1] for r in ranges)
    assert 2 <= s.ngroups and 90.0 <= s.effective_exposure_time <= 3100.0
    src = s.sources[0]
    margin = field_margin_arcsec((lo, hi))
    for dx, dy in s.dithers:  # inside the field of view in every exposure
        x = src.offset[0] + s.pointing_offset[0] + dx
        y = src.offset[1] + s.pointing_offset[1] + dy
        assert abs(x) <= FIELD_HALF_ARCSEC[0] - margin + 1e-9
        assert abs(y) <= FIELD_HALF_ARCSEC[1] - margin + 1e-9
    assert all(abs(v) <= 0.2 for v in s.pointing_offset)
    sat = saturation_mjy(disp, (lo, hi), s.effective_exposure_time,
                         spectral_index=src.spectral_index)
    assert FAINT_FRACTION * sat * 0.999 <= src.flux_mjy <= sat * 1.001
    for line in src.lines:
        assert lo <= line.wavelength_um <= hi and line.amplitude > -1.0
        assert src.flux_mjy * (1.0 + line.amplitude) <= sat * 1.001
    assert math.hypot(*src.drift_mas) <= 25.0 + 1e-9


@MANY
@given(scenarios())
def test_every_drawn_scenario_is_observable(scenario) -> None:
    """Drawn scenes keep the instrument's bounds (that parse_scenario and ``ifuqa simulate``
    accept them is tests/test_scenario.py's property)."""
    _assert_observable(scenario)


def _write_headers(scenario, folder: Path) -> list[Path]:
    """What ``ifuqa simulate`` does for a scene apart from rendering the full frames: plan every
    exposure, map the pixels its band lights on each detector, write every rate file's header
    (tiny images: the header is what the jwst schema validates)."""
    import numpy as np

    from ifuqa.instrument.dispersers import get_disperser
    from ifuqa.instrument.layout import N_SLICES, pixel_map
    from ifuqa.simulate.exposures import exposure_plans, write_rate

    disperser = get_disperser(scenario.grating, scenario.filter)
    plans = exposure_plans(scenario)
    dets = {p.detector for p in plans}
    assert dets == set(scenario.detectors or disperser.detectors)  # each simulated detector lit
    assert len(plans) == len(dets) * len(scenario.dithers)
    for det in dets:  # every slice sees the whole band on each detector
        pixmap = pixel_map(disperser, det, scenario.wavelength_range_um)
        assert set(np.unique(pixmap.slice_index)) == set(range(N_SLICES))
    small = np.ones((8, 8))
    paths = []
    for plan in plans:
        path = folder / f"{plan.basename}_rate.fits"
        write_rate(path, scenario, plan, small, small, small, np.zeros((8, 8), dtype=np.uint32))
        paths.append(path)
    return paths


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenarios())
def test_every_drawn_scenario_plans_and_writes_schema_valid_exposures(tmp_path_factory,
                                                                      scenario) -> None:
    """Over the whole instrument space: every exposure of a drawn scene is planned on a lit
    detector with every slice in its band, and its rate-file header is one the jwst datamodel
    schema accepts (a ValidationWarning is an error). The property that found the custom-dither
    PATTTYPE bug; the full ``ifuqa simulate`` of drawn scenes is the slow test below."""
    import warnings

    from stdatamodels.jwst import datamodels

    folder = tmp_path_factory.mktemp("headers")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        for path in _write_headers(scenario, folder):
            with datamodels.open(path) as model:
                model.validate()


@pytest.mark.slow
@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(band_planes=40))
def test_ifuqa_simulate_accepts_drawn_scenes(tmp_path_factory, scenario) -> None:
    """``ifuqa simulate FILE`` on drawn scenes (every disperser, detector, readout, dither and
    source kind can come up; a narrow band keeps each to ~5 s per exposure): it succeeds
    without a schema warning and writes a valid rate file per exposure, each with the source's
    light, and the truth."""
    import warnings

    import numpy as np
    from stdatamodels.jwst import datamodels

    from ifuqa.cli import main

    folder = tmp_path_factory.mktemp("simulate")
    path = folder / f"{scenario.name}.toml"
    path.write_text(scenario_toml(scenario, comment="drawn by ifuqa.strategies"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        assert main(["simulate", str(path), "--out", str(folder / "sim")]) == 0
        rates = sorted((folder / "sim").glob("*_rate.fits"))
        n_det = len(scenario.detectors or DISPERSERS[f"{scenario.grating}/"
                                                     f"{scenario.filter}"].detectors)
        assert len(rates) == n_det * len(scenario.dithers)
        for rate in rates:
            with datamodels.open(rate) as model:
                model.validate()
                assert np.isfinite(model.data).all() and np.nansum(model.data) > 0
    assert (folder / "sim" / "truth.json").is_file()


def test_ifuqa_simulate_runs_a_drawn_scene(tmp_path) -> None:
    """A drawn scene (the simplest faint one) goes through the ``ifuqa simulate`` command."""
    from ifuqa.cli import main

    scene = minimal(scenarios(band_planes=60, dithers="2-point-nod", grating="G140H"),
                 lambda s: s.sources[0].flux_mjy < 0.1)
    path = tmp_path / "faint.toml"
    path.write_text(scenario_toml(scene))
    assert main(["simulate", str(path), "--out", str(tmp_path / "sim")]) == 0
    assert len(sorted((tmp_path / "sim").glob("*_rate.fits"))) == 2
    assert (tmp_path / "sim" / "truth.json").is_file()


def test_custom_dither_scenes_simulate_without_schema_warnings(tmp_path) -> None:
    """Found by the search: simulate wrote PATTTYPE = 'CUSTOM' for custom dither offsets, which
    the jwst datamodel schema rejects (a ValidationWarning, an error under this project's
    warning filters). Custom offsets are now written as 'N/A'; every rate file validates."""
    import warnings

    from stdatamodels.jwst import datamodels

    from ifuqa.cli import main

    scene = minimal(scenarios(band_planes=60, dithers=dither_patterns(min_positions=2),
                              grating="G140H"),
                    lambda s: s.dither_pattern == "custom")
    path = tmp_path / "custom.toml"
    path.write_text(scenario_toml(scene))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        assert main(["simulate", str(path), "--out", str(tmp_path / "sim")]) == 0
        rates = sorted((tmp_path / "sim").glob("*_rate.fits"))
        assert len(rates) == len(scene.dithers)
        for rate in rates:
            with datamodels.open(rate) as model:
                model.validate()
                assert model.meta.dither.primary_type == "N/A"
                assert model.meta.dither.total_points == len(scene.dithers)


@pytest.mark.parametrize("name", DISPERSER_ORDER)
def test_every_disperser_is_drawn(name: str) -> None:
    assert set(DISPERSER_ORDER) == set(DISPERSERS)
    found = some(scenarios(), lambda s: f"{s.grating}/{s.filter}" == name)
    _assert_observable(found)


@pytest.mark.parametrize("detectors", [("NRS1",), ("NRS2",), ("NRS1", "NRS2")])
def test_both_detectors_are_drawn(detectors) -> None:
    found = some(scenarios(), lambda s: s.detectors == detectors)
    assert found.grating.endswith("H")


@pytest.mark.parametrize("readout", sorted(READOUT_GROUP_TIME_S))
def test_every_readout_pattern_is_drawn(readout: str) -> None:
    found = some(scenarios(), lambda s: s.readout == readout)
    _assert_observable(found)


@pytest.mark.parametrize("pattern", ["none", "2-point-nod", "4-point-nod", "4-point-dither",
                                     "custom"])
def test_every_dither_pattern_is_drawn(pattern: str) -> None:
    some(scenarios(), lambda s: s.dither_pattern == pattern)


def test_faint_bright_offset_line_dominated_and_extended_scenes_are_drawn() -> None:
    some(scenarios(), lambda s: _fill(s) <= 2 * FAINT_FRACTION)
    some(scenarios(), lambda s: s.sources[0].flux_mjy <= 1e-5)  # 1e-5 mJy and below
    some(scenarios(), lambda s: _fill(s) >= 0.9)
    some(scenarios(), lambda s: abs(s.sources[0].offset[1]) > 0.9)
    some(scenarios(), lambda s: any(ln.amplitude > 50 for ln in s.sources[0].lines))
    ext = some(scenarios(), lambda s: s.sources[0].kind == "extended"
               and s.sources[0].profile == "sersic")
    assert ext.sources[0].drift_mas == (0.0, 0.0)
    some(scenarios(), lambda s: math.hypot(*s.pointing_offset) > 0.1)
    some(scenarios(), lambda s: 0 < math.hypot(*s.pointing_offset) < 0.02)


def _fill(s) -> float:
    """The source's flux density as a fraction of its scene's saturation limit (peak-pixel
    electrons over the limit's: what signal-to-noise follows)."""
    return s.sources[0].flux_mjy / saturation_mjy(
        f"{s.grating}/{s.filter}", _band(s), s.effective_exposure_time,
        spectral_index=s.sources[0].spectral_index)


def _simple_apart_from_flux(s) -> None:
    assert s.dither_pattern == "none" and s.pointing_offset == (0.0, 0.0)
    src = s.sources[0]
    assert src.kind == "point" and src.offset == (0.0, 0.0) and src.drift_mas == (0.0, 0.0)
    assert src.lines == () and src.spectral_index == 0.0 and s.position_angle == 0.0


def test_failing_scenes_shrink_toward_the_simple_scene() -> None:
    """The simplest scene, and the simplest faint and offset ones: everything the condition
    does not need stays simple.

    Hypothesis returns a local minimum of the choice sequence: a choice reaches its simple
    value when simplifying it (the others fixed) keeps the condition. Faintness as signal-to-
    noise (the flux over the scene's saturation limit, the unit the strategy draws it in) is
    independent of the disperser and exposure, so they shrink to G395H and ~500 s. Faintness in
    mJy is not (G395H has the highest saturation limit, so it needs the larger flux choice): the
    shrinker may stop on another disperser, and only the uncoupled choices are asserted."""
    simple = minimal(scenarios(band_planes=150), lambda s: True)
    assert (simple.grating, simple.filter, simple.readout) == ("G395H", "F290LP", "NRSIRS2RAPID")
    _simple_apart_from_flux(simple)
    assert abs(simple.effective_exposure_time - 500.0) < 15.0
    window = simple.wavelength_range_um
    lo, hi = DISPERSERS["G395H/F290LP"].wavelength_range_on(simple.detectors[0])
    assert abs(0.5 * sum(window) - 0.5 * (lo + hi)) < 0.05  # centred on its detector
    bright = saturation_mjy("G395H/F290LP", window, simple.effective_exposure_time) / 4
    assert simple.sources[0].flux_mjy == pytest.approx(bright)

    for _ in range(3):  # fresh random starts: the minimum does not depend on where it began
        faint = minimal(scenarios(band_planes=150), lambda s: _fill(s) < 1e-4)
        _simple_apart_from_flux(faint)
        assert (faint.grating, faint.readout, faint.detectors) == ("G395H", "NRSIRS2RAPID",
                                                                   ("NRS1",))
        assert abs(faint.effective_exposure_time - 500.0) < 15.0
        assert 0.5e-4 < _fill(faint) < 1e-4  # as bright as the condition allows

    faint_mjy = minimal(scenarios(band_planes=150), lambda s: s.sources[0].flux_mjy < 0.01)
    _simple_apart_from_flux(faint_mjy)
    offset = minimal(scenarios(band_planes=150), lambda s: abs(s.sources[0].offset[0]) > 0.5)
    assert offset.sources[0].offset[1] == 0.0 and offset.dither_pattern == "none"
    assert offset.pointing_offset == (0.0, 0.0) and offset.sources[0].drift_mas == (0.0, 0.0)


def test_fixed_arguments_are_kept() -> None:
    s = minimal(scenarios(grating="G395H", kind="extended", flux_mjy=2.0, readout="NRS",
                       detectors="NRS2", band_um=0.1, dithers="4-point-dither",
                       pointing_error=(0.01, -0.02), noise={"one_over_f": 0.5}, seed=7),
             lambda s: True)
    assert (s.grating, s.readout, s.detectors, s.dither_pattern) == ("G395H", "NRS", ("NRS2",),
                                                                     "4-point-dither")
    assert s.sources[0].kind == "extended" and s.sources[0].flux_mjy == 2.0
    assert s.pointing_offset == (0.01, -0.02) and s.noise.one_over_f == 0.5 and s.seed == 7
    assert s.wavelength_range_um[1] - s.wavelength_range_um[0] == pytest.approx(0.1)
    prism = minimal(scenarios(grating="PRISM", band_planes=100), lambda s: True)
    assert prism.filter == "CLEAR" and prism.wavelength_range_um[1] - \
        prism.wavelength_range_um[0] == pytest.approx(0.5)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"grating": "G395H", "filter": "F100LP"}, "no NIRSpec IFU disperser"),
    ({"grating": "G395M", "detectors": "NRS2"}, "illuminates"),
    ({"band_um": 0.1, "band_planes": 100}, "not both"),
    ({"band_planes": 2}, "at least 8"),
])
def test_contradictory_arguments_are_rejected(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        minimal(scenarios(**kwargs), lambda s: True)


def test_component_strategies() -> None:
    assert minimal(pointing_errors("none"), lambda p: True) == (0.0, 0.0)
    ta = minimal(pointing_errors("ta"), lambda p: abs(p[0]) > 0.01)
    assert abs(ta[0]) <= 0.015
    with pytest.raises(ValueError, match="kind"):
        pointing_errors("perfect")
    assert minimal(dither_patterns(), lambda d: True) == "none"
    assert minimal(dither_patterns(min_positions=2, max_positions=2, custom=False),
                lambda d: True) == "2-point-nod"
    custom = minimal(dither_patterns(min_positions=3), lambda d: isinstance(d, list))
    assert len(custom) == 3 and all(abs(v) <= 0.4 for xy in custom for v in xy)
    with pytest.raises(ValueError):
        dither_patterns(min_positions=3, max_positions=2)
    src = minimal(point_sources(flux_mjy=st.just(3.0)), lambda s: True)
    assert src["flux_mjy"] == 3.0
    assert "drift_mas" not in minimal(extended_sources(), lambda s: True)


@pytest.mark.parametrize("module", [ifuqa.strategies.bounds, ifuqa.strategies.pointing,
                                    ifuqa.strategies.sources, ifuqa.strategies.scenes,
                                    ifuqa.scenario.write])
def test_examples_in_the_docstrings(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_scenario_toml_writes_every_key_explicitly() -> None:
    s = load_scenario("extended_g235h")
    text = scenario_toml(s)
    data = tomllib.loads(text)
    assert data["noise"]["one_over_f"] == 1.0 and data["sources"][0]["profile"] == "sersic"
    assert parse_scenario(data, name=s.name) == load_scenario("extended_g235h").__class__(
        **{**s.__dict__, "source_path": None})
    assert Path(s.source_path).name == "extended_g235h.toml"
