"""ifuqa explore: the search has power (a processing defect is found within a few examples and
shrunk to a scene whose TOML reproduces it), failures are replayed first from the example
database, the shipped checks run outside pytest as they do inside it, the outputs are written,
and the pytest plugin stays free of Hypothesis at load."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ifuqa.builds.exploration import (
    NSCLEAN_RESIDUAL,
    PROFILES,
    exploration_spec,
    full_chain_scenario,
)
from ifuqa.evaluate.shipped_checks import checks_dir, issue_checks, run_checks
from ifuqa.explore.search import database_key, explore_issue, issue_strategy, replay
from ifuqa.explore.steering import closeness
from ifuqa.products.dataset import Dataset
from ifuqa.scenario import load_scenario
from ifuqa.util.known_issues import ISSUES
from ifuqa.verdicts.thresholds import Thresholds

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build cache (and example database) for the searches of this module."""
    return tmp_path_factory.mktemp("explore-cache")


@pytest.fixture(scope="module")
def ns_ifu04_defect_search(cache: Path):
    """``ifuqa explore --defect NS-IFU04`` (library call): extraction at the header's target."""
    lines: list[str] = []
    result = explore_issue("NS-IFU04", max_examples=5, cache_root=cache,
                           checks_dir=checks_dir(), defects=("NS-IFU04",), seed=3,
                           shrink_budget=1, log=lines.append)
    return result, lines


def test_plugin_load_does_not_import_hypothesis() -> None:
    code = ("import sys, ifuqa._pytest.plugin, ifuqa.cli; ifuqa.cli.build_parser(); "
            "print('hypothesis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_the_search_runs_the_shipped_checks() -> None:
    """Every check function of checks/test_ns_ifu0N_*.py, and nothing else."""
    for issue in ISSUES:
        marker = issue.lower().replace("-", "_")
        expected = []
        for path in sorted(checks_dir().glob(f"test_{marker}_*.py")):
            expected += [n.name for n in ast.parse(path.read_text()).body
                         if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        assert [name for name, _ in issue_checks(issue, checks_dir())] == expected
    with pytest.raises(LookupError, match="no checks of NS-IFU04"):
        issue_checks("NS-IFU04", ROOT / "tests")


def test_checks_run_outside_pytest_record_like_the_plugin(tmp_path: Path) -> None:
    """NS-IFU04's checks on an exact cube: centred extraction passes, an extraction 4 spaxels
    off fails, the truth-only check skips (no truth)."""
    from ifuqa.builds.analytic_products import PointCubeSpec, write_point_cube, write_point_x1d

    spec = PointCubeSpec(shape=(120, 31, 31), wave_range_um=(4.0, 4.1), noise_fraction=1e-4)
    cube = write_point_cube(tmp_path / "a_s3d.fits", spec)
    good = write_point_x1d(tmp_path / "a_x1d.fits", spec)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = write_point_x1d(bad_dir / "a_x1d.fits", spec, center_xy=(19.2, 14.7))
    th = Thresholds.defaults()
    ok = run_checks("NS-IFU04", Dataset("exact", s3d=[cube], x1d=[good]), th, checks_dir())
    off = run_checks("NS-IFU04", Dataset("off", s3d=[cube], x1d=[bad]), th, checks_dir())
    by_metric = {r.metric: r for r in ok.records}
    assert by_metric["extraction_offset"].verdict == "pass"
    assert by_metric["centroid_accuracy"].verdict == "skip"  # needs the truth
    assert not ok.failed
    failing = {r.metric for r in off.failing}
    assert {"extraction_offset", "extraction_flux_loss"} <= failing and off.failed
    assert closeness(off.records) > 1.0 > closeness(ok.records) > 0.0


def test_a_check_that_raises_is_recorded_as_an_error(tmp_path: Path) -> None:
    (tmp_path / "test_ns_ifu06_broken.py").write_text(
        "def test_crash(ifuqa_dataset, ifuqa_check):\n    raise ZeroDivisionError('boom')\n"
        "def test_fine(ifuqa_dataset, ifuqa_check):\n    pass\n")
    run = run_checks("NS-IFU06", Dataset("x"), Thresholds.defaults(), tmp_path)
    assert [r.verdict for r in run.records] == ["error"]
    assert "ZeroDivisionError: boom" in run.records[0].message and run.failed


@pytest.mark.parametrize("issue", ISSUES)
def test_profiles_draw_fast_scenes_that_keep_the_issue_physics(issue: str,
                                                               tmp_path: Path) -> None:
    """Each profile's scenes: a window of the band on one detector, the dithers the issue
    needs, 1/f at NSClean's residual (cleaning off) except NS-IFU03."""
    from hypothesis import HealthCheck, given, settings

    profile = PROFILES[issue]

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(issue_strategy(issue))
    def check(scenario):
        assert scenario.wavelength_range_um is not None
        assert scenario.detectors is None or len(scenario.detectors) == 1
        assert profile.min_dithers <= len(scenario.dithers) <= profile.max_dithers
        assert scenario.sources[0].kind in profile.kinds
        spec = exploration_spec(scenario, issue, tmp_path)
        if issue == "NS-IFU03":
            assert scenario.noise.one_over_f == 1.0 and spec.options == ()
        else:
            assert scenario.noise.one_over_f == NSCLEAN_RESIDUAL
            assert spec.options == (("clean", False),)
            full = full_chain_scenario(scenario, profile)
            assert full.noise.one_over_f == pytest.approx(1.0)
        assert spec.with_reference == (issue == "NS-IFU01")
        assert spec.with_scales == (issue == "NS-IFU02")
        assert load_scenario(spec.scenario).name == scenario.name

    check()


def test_the_search_finds_the_ns_ifu04_defect_within_a_few_examples(
        ns_ifu04_defect_search) -> None:
    result, lines = ns_ifu04_defect_search
    summary = result.summary()
    assert result.found, "\n".join(lines)
    assert summary["drawn"] <= 5
    assert any(r.metric == "extraction_offset" for r in result.minimal_run.failing)
    # the shrink budget bounds the builds: the scenes drawn, one shrink build, nothing else
    assert sum(e.status == "built" for e in result.examples if e.phase == "shrink") <= 1
    assert summary["built"] <= summary["drawn"] + 1
    src = result.minimal.sources[0]
    assert (abs(src.offset[0]) + abs(src.offset[1]) + abs(result.minimal.pointing_offset[0])
            + abs(result.minimal.pointing_offset[1])) > 0.03  # off the nominal position


def test_the_minimal_scene_reproduces(ns_ifu04_defect_search, cache: Path,
                                      tmp_path: Path) -> None:
    """The written TOML is what ``ifuqa simulate`` takes, and rebuilding it as the search did
    gives the same failing records."""
    from ifuqa.cli import main
    from ifuqa.explore.output import write_finding

    result, _ = ns_ifu04_defect_search
    page = write_finding(result, tmp_path / "out")
    folder = page.parent
    assert folder.name == "NS-IFU04[NS-IFU04]"
    toml = folder / "minimal.toml"
    scenario = load_scenario(toml)
    assert scenario.name == result.minimal.name
    assert tomllib.loads(toml.read_text())["noise"]["one_over_f"] == NSCLEAN_RESIDUAL
    again = replay(scenario, "NS-IFU04", cache_root=cache, checks_dir=checks_dir(),
                   defects=("NS-IFU04",))
    assert [(r.check, r.metric, r.verdict) for r in again.records] == \
        [(r.check, r.metric, r.verdict) for r in result.minimal_run.records]
    failing = json.loads((folder / "failing.json").read_text())
    assert failing["format"] == "ifuqa-results/1" and failing["records"]
    assert all(r["verdict"] in ("fail", "error") for r in failing["records"])
    html = page.read_text()
    assert html.count("data:image/png;base64,") >= 2  # the scene and a failing metric
    assert "extraction_offset" in html and "ifuqa simulate minimal.toml" in html
    examples = json.loads((folder / "examples.json").read_text())
    assert examples["summary"]["found"] and examples["examples"]
    assert main(["simulate", str(toml), "--out", str(tmp_path / "sim")]) == 0
    assert len(sorted((tmp_path / "sim").glob("*_rate.fits"))) == len(scenario.dithers)


@pytest.mark.slow  # ~30-45 s of builds on 2 cores
def test_failures_are_replayed_first_from_the_example_database(cache: Path) -> None:
    """An unseeded search stores its failing scene; the next one replays it first, from the
    outcome cache (no build). A seeded search stores nothing (Hypothesis's rule)."""
    from hypothesis.database import DirectoryBasedExampleDatabase

    db = DirectoryBasedExampleDatabase(str(cache / "hypothesis"))
    key = database_key("NS-IFU04", ("NS-IFU04",))
    assert not list(db.fetch(key))  # the seeded search of the fixture saved nothing
    lines: list[str] = []
    first = explore_issue("NS-IFU04", max_examples=8, cache_root=cache, checks_dir=checks_dir(),
                          defects=("NS-IFU04",), shrink_budget=0, log=lines.append)
    assert first.found, "\n".join(lines)
    assert list(db.fetch(key))
    again = explore_issue("NS-IFU04", max_examples=1, cache_root=cache,
                          checks_dir=checks_dir(), defects=("NS-IFU04",), shrink_budget=0,
                          log=lines.append)
    assert again.found and again.examples[0].failed, "\n".join(lines)
    assert again.examples[0].status == "cached"  # replayed first, and free
    assert again.minimal.name == first.minimal.name
    assert not again.built


def test_a_second_defect_is_found_and_written_by_the_cli(cache: Path, tmp_path: Path) -> None:
    """``ifuqa explore --defect NS-IFU03``: no NSClean; the banding check fails on the first
    scenes; exit status 1; summary and finding written; --replay reproduces it."""
    from ifuqa.cli import main

    out = tmp_path / "out"
    argv = ["explore", "--defect", "NS-IFU03", "--max-examples", "3", "--seed", "0",
            "--shrink-budget", "1", "--no-confirm", "--cache", str(cache), "--out", str(out)]
    assert main(argv) == 1
    summary = json.loads((out / "summary.json").read_text())["searches"][0]
    assert summary["issue"] == "NS-IFU03" and summary["found"] and summary["drawn"] <= 3
    assert any("banding_residual_ratio" in f for f in summary["failing"])
    toml = out / "NS-IFU03[NS-IFU03]" / "minimal.toml"
    assert main(["explore", "--replay", str(toml), "--issue", "NS-IFU03", "--defect",
                 "NS-IFU03", "--cache", str(cache)]) == 1
    assert main(["explore", "--replay", str(toml), "--cache", str(cache)]) == 2  # no --issue


@pytest.mark.slow  # ~30-45 s of builds on 2 cores
def test_pytest_ifuqa_explore_fails_with_the_minimal_scene(cache: Path, tmp_path: Path) -> None:
    """``pytest --ifuqa-explore=N`` runs one search test per issue (selected with -m); with the
    defect it fails, naming the minimal scene."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=",
         "--ifuqa-explore=3", "--ifuqa-defect=NS-IFU03", "--ifuqa-explore-seed=0",
         f"--ifuqa-cache={cache}", f"--ifuqa-explore-out={out}", "-m", "ns_ifu03", "-q"],
        capture_output=True, text=True, cwd=ROOT, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text
    assert "ifuqa-explore[NS-IFU03]" in text and "1 failed" in text
    assert "minimal scene:" in text and "banding_residual_ratio" in text
    assert (out / "NS-IFU03[NS-IFU03]" / "index.html").is_file()


def test_the_page_escapes_and_embeds(tmp_path: Path) -> None:
    from ifuqa.report.explore_page import render_explore_page, scene_png
    from ifuqa.verdicts.record import Record

    png = scene_png(field_half_arcsec=(1.545, 1.5), positions=[(0.1, 0.2), (0.4, -0.3)],
                    margin_arcsec=0.4, aperture_arcsec=0.3, title="t")
    assert png.startswith(b"\x89PNG")
    rec = Record("NS-IFU04", "test_x", "d", "extraction_offset", value=45.0, unit="mas",
                 threshold=30.0, verdict="fail", message="offset <45 mas>", sense="max")
    html = render_explore_page(issue="NS-IFU04", title="T", toml="a = 1", scene={"k": "v"},
                               scene_figure=png, failing=[(rec, None)], records=[rec],
                               summary={"drawn": 3}, reproduce=["ifuqa simulate x.toml"])
    assert "offset &lt;45 mas&gt;" in html and "45 mas (limit ≤ 30 mas)" in html
    assert html.count("data:image/png;base64,") == 1 and "no figure for this metric" in html
