"""Regression scenarios of open pipeline limitations: ``[[expected_failures]]`` of a scenario is
parsed, written back, and turns its checks into strict expected failures in ``pytest --ifuqa``."""

from __future__ import annotations

import re
import tomllib

import pytest

from ifuqa._pytest.limitations import limitation_params
from ifuqa.builds.synthetic import SyntheticSpec, catalogue_spec
from ifuqa.scenario import ScenarioError, load_scenario, parse_scenario
from ifuqa.scenario.write import scenario_toml

BASE = {"grating": "G395H", "filter": "F290LP", "exposure_time": 500.0,
        "sources": [{"kind": "point", "flux_mjy": 1.0}]}


def test_the_autocen_regression_scene_expects_its_failures() -> None:
    scenario = load_scenario("autocen_line_dominated_g395h")
    checks = {e.check for e in scenario.expected_failures}
    assert "test_aperture_on_source" in checks
    assert all("#10696" in e.reason or e.reason.startswith("ifuqa:")
               for e in scenario.expected_failures)
    # a small scene: one detector, 120 planes, no extra reference/scale products
    spec = catalogue_spec("autocen_line_dominated_g395h")
    assert not spec.with_reference and not spec.with_scales
    assert scenario.detectors == ("NRS1",)
    assert parse_scenario(tomllib.loads(scenario_toml(scenario)), name=scenario.name) == \
        scenario.__class__(**{**scenario.__dict__, "source_path": None})


def test_expected_failures_become_strict_xfails() -> None:
    spec = SyntheticSpec("autocen_line_dominated_g395h")
    other = SyntheticSpec("bright_point_g395h")
    marked = limitation_params("test_aperture_on_source", [("a", spec), ("b", other), ("c", None)])
    assert marked[1] == ("b", other) and marked[2] == ("c", None)
    param = marked[0][1]
    (mark,) = param.marks
    assert mark.name == "xfail" and mark.kwargs["strict"] is True
    assert mark.kwargs["raises"] is pytest.fail.Exception and "#10696" in mark.kwargs["reason"]
    assert limitation_params("test_centroid_drift", [("a", spec)]) == [("a", spec)]


@pytest.mark.parametrize(("entry", "key"), [
    ({"check": "aperture", "reason": "x"}, "expected_failures[0].check"),
    ({"check": "test_x", "reason": " "}, "expected_failures[0].reason"),
    ({"check": "test_x"}, "expected_failures[0].reason"),
    ({"check": "test_x", "reason": "r", "issue": 1}, "expected_failures[0].issue"),
])
def test_bad_expected_failures_name_the_key(entry, key) -> None:
    with pytest.raises(ScenarioError, match=re.escape(f"'{key}'")):
        parse_scenario({**BASE, "expected_failures": [entry]})
    with pytest.raises(ScenarioError, match="'expected_failures'"):
        parse_scenario({**BASE, "expected_failures": {"check": "test_x"}})
