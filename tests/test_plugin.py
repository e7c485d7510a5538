"""The pytest plugin: options, thresholds, results JSON, summary, skips and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ifuqa.verdicts.thresholds import DEFAULTS, ThresholdError, Thresholds

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def test_threshold_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ifuqa.thresholds]\n'ns_ifu05.wiggle_percent' = 0.8\n'ns_ifu06.drift_mas' = 25\n")
    th = Thresholds(rootdir=tmp_path, ini=["ns_ifu05.wiggle_percent = 0.6"],
                    cli=["ns_ifu04.offset_mas=12"])
    assert th["ns_ifu05.wiggle_percent"] == 0.6  # ini beats pyproject
    assert th.sources["ns_ifu05.wiggle_percent"] == "ini ifuqa_thresholds"
    assert th["ns_ifu06.drift_mas"] == 25  # pyproject beats default
    assert th["ns_ifu04.offset_mas"] == 12  # command line
    assert th["ns_ifu02.flux_ratio_percent"] == DEFAULTS["ns_ifu02.flux_ratio_percent"].value
    th2 = Thresholds(rootdir=tmp_path, ini=["ns_ifu05.wiggle_percent = 0.6"],
                     cli=["ns_ifu05.wiggle_percent=0.3"])
    assert th2["ns_ifu05.wiggle_percent"] == 0.3  # command line beats ini


@pytest.mark.parametrize(("line", "match"), [
    ("ns_ifu09.x = 1", "unknown threshold"),
    ("ns_ifu05.wiggle_percent = lots", "must be a number"),
    ("ns_ifu05.wiggle_percent", "expected 'name = value'"),
])
def test_threshold_errors_name_the_setting(line: str, match: str) -> None:
    with pytest.raises(ThresholdError, match=match):
        Thresholds(cli=[line])


def test_checks_skip_without_data(pytester: pytest.Pytester) -> None:
    from ifuqa._pytest.options import checks_dir

    result = pytester.runpytest_subprocess(str(checks_dir()), "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=result.parseoutcomes().get("skipped", 0))
    result.stdout.fnmatch_lines(["*skipped*"])
    assert result.ret == 0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_user_products_give_named_errors_and_the_run_goes_on(pytester: pytest.Pytester,
                                                                tmp_path: Path) -> None:
    data = tmp_path / "my_reduction"
    data.mkdir()
    (data / "jw01234001001_03101_00001_nrs1_x1d.fits").write_bytes(b"")
    (data / "jw01234001001_03101_00002_nrs1_s3d.fits").write_bytes(b"SIMPLE  =   T" * 7)
    (data / "notes_x1d.fits.gz").write_bytes(b"\x1f\x8b broken gzip")
    before = {p.name: _sha(p) for p in data.iterdir()}
    results = tmp_path / "results.json"
    run = pytester.runpytest_subprocess(f"--ifuqa-data={data}", f"--ifuqa-results={results}",
                                        "-p", "no:cacheprovider", "-m", "ns_ifu03 or ns_ifu01")
    assert run.ret == 1  # errors are failures, but every dataset ran
    records = json.loads(results.read_text())["records"]
    errors = [r for r in records if r["verdict"] == "error"]
    assert errors
    messages = " ".join(r["message"] for r in errors)
    assert "empty file" in messages
    assert "jw01234001001_03101_00001_nrs1_x1d.fits" in messages
    assert {p.name: _sha(p) for p in data.iterdir()} == before
    run.stdout.fnmatch_lines(["*ifuqa known-issue summary*"])
    for rec in records:
        assert set(rec) >= {"issue", "check", "dataset", "metric", "value", "unit", "threshold",
                            "verdict", "message", "versions"}
        assert rec["verdict"] in ("pass", "fail", "skip", "error")
        assert {"jwst", "stdatamodels", "numpy"} <= set(rec["versions"])


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real JWST products not present at {REAL}")
def test_real_nirspec_x1d_runs_through_the_checks(pytester: pytest.Pytester,
                                                  tmp_path: Path) -> None:
    x1d = REAL / "jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
    before = _sha(x1d)
    results = tmp_path / "results.json"
    run = pytester.runpytest_subprocess(f"--ifuqa-data={x1d}", f"--ifuqa-results={results}",
                                        "-p", "no:cacheprovider", "-m", "ns_ifu03")
    records = json.loads(results.read_text())["records"]
    negative = [r for r in records if r["metric"] == "negative_flux_fraction"]
    assert negative and negative[0]["verdict"] in ("pass", "fail")
    assert 0.0 <= negative[0]["value"] <= 100.0
    assert _sha(x1d) == before
    assert run.ret in (0, 1)


def test_markers_select_one_issue(pytester: pytest.Pytester) -> None:
    run = pytester.runpytest_subprocess("--ifuqa", "--ifuqa-scenario", "bright_point_g395h",
                                        "-m", "ns_ifu05", "--collect-only", "-q",
                                        "-p", "no:cacheprovider")
    run.stdout.fnmatch_lines(["*test_ns_ifu05_wiggles.py::*bright_point_g395h*"])
    assert "ns_ifu01" not in run.stdout.str()
