"""The regression gate: baselines, tolerances, comparison in pytest (serial and xdist) and
``ifuqa compare``.

The pytest runs use tiny fake checks (no simulation): each records metrics with
:class:`ifuqa._pytest.recorder.CheckRecorder` whose values come from ``values.json`` in the test
folder.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ifuqa.util.atomic as atomic_module
from ifuqa.cli import main as cli_main
from ifuqa.verdicts.baseline import (
    BaselineError,
    build_baseline,
    compare_values,
    read_baseline,
    write_baseline,
)
from ifuqa.verdicts.results import read_records, write_results
from ifuqa.verdicts.tolerances import (
    DEFAULTS,
    Tolerance,
    ToleranceError,
    Tolerances,
    parse_tolerance,
)

CONFTEST = '''
import json
import pathlib
import types

import pytest

from ifuqa._pytest.recorder import CheckRecorder

VALUES = pathlib.Path(__file__).with_name("values.json")
SEEDS = {"alpha": 11, "beta": 12}


@pytest.fixture(params=sorted(SEEDS))
def fake_check(request):
    name = request.param
    truth = types.SimpleNamespace(seed=SEEDS[name])
    return CheckRecorder(request.node, types.SimpleNamespace(name=name, truth=truth))


@pytest.fixture
def value(fake_check):
    data = json.loads(VALUES.read_text())[fake_check.dataset_name]
    return data.get
'''

CHECKS = '''
import pytest

from ifuqa.metrics.result import MetricResult


def test_wiggles(fake_check, value):
    fake_check.judge(MetricResult("NS-IFU05", "wiggle_amplitude", value("wiggle"), "%", 1.0))


def test_centring(fake_check, value):
    fake_check.judge(
        MetricResult("NS-IFU04", "extraction_offset", value("offset"), "mas", 30.0),
        MetricResult("NS-IFU04", "extraction_flux_loss", value("loss"), "%", 2.0))


def test_recall(fake_check, value):
    fake_check.judge(MetricResult("NS-IFU01", "warm_pixel_recall", value("recall"), "%", 90.0,
                                  sense="min"))


def test_drift(fake_check, value):
    drift = value("drift")
    if drift is None:  # what CheckRecorder.evaluate does for a NotApplicable evaluation
        fake_check.record_unmeasured("NS-IFU06", "drift", "skip", "source too faint")
        pytest.skip("source too faint")
    fake_check.judge(MetricResult("NS-IFU06", "centroid_drift", drift, "mas", 30.0))
'''

VALUES = {"alpha": {"wiggle": 0.40, "offset": 5.0, "loss": 0.5, "recall": 95.0, "drift": 10.0},
          "beta": {"wiggle": 0.30, "offset": 8.0, "loss": 0.8, "recall": 97.0, "drift": 12.0}}
N_METRICS = 10  # (wiggle + offset + loss + recall + drift) x 2 datasets
N_TESTS = 8


@pytest.fixture
def fake(pytester: pytest.Pytester) -> pytest.Pytester:
    """A folder with the fake checks and their values."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_checks=CHECKS)
    set_values(pytester)
    return pytester


def set_values(pytester: pytest.Pytester, **changes: float | None) -> None:
    """Write values.json: the defaults with ``dataset__metric=value`` changes."""
    values = json.loads(json.dumps(VALUES))
    for key, value in changes.items():
        dataset, metric = key.split("__")
        values[dataset][metric] = value
    (pytester.path / "values.json").write_text(json.dumps(values))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def generate(pytester: pytest.Pytester, name: str = "baseline.json", *args: str) -> Path:
    path = pytester.path / name
    result = run(pytester, f"--ifuqa-generate-baseline={path}", *args)
    assert result.ret == 0, result.stdout.str()
    return path


def failed_ids(result: pytest.RunResult) -> list[str]:
    return sorted(re.findall(r"^FAILED (\S+)", result.stdout.str(), flags=re.M))


# -- generating and comparing ------------------------------------------------------------------


def test_generate_then_compare_passes(fake: pytest.Pytester) -> None:
    path = generate(fake)
    data = json.loads(path.read_text())
    assert data["format"] == "ifuqa-baseline/1"
    assert {"jwst", "stcal", "stdatamodels", "numpy"} <= set(data["versions"])
    assert data["datasets"] == {"alpha": {"seed": 11}, "beta": {"seed": 12}}
    entry = data["metrics"]["test_wiggles"]["alpha"]["wiggle_amplitude"]
    assert entry == {"issue": "NS-IFU05", "value": 0.4, "unit": "%", "sense": "max",
                     "threshold": 1.0, "verdict": "pass"}
    assert data["metrics"]["test_recall"]["beta"]["warm_pixel_recall"]["sense"] == "min"
    assert sum(len(m) for d in data["metrics"].values() for m in d.values()) == N_METRICS

    results = fake.path / "results.json"
    again = run(fake, f"--ifuqa-baseline={path}", f"--ifuqa-results={results}")
    assert again.ret == 0, again.stdout.str()
    again.assert_outcomes(passed=N_TESTS)
    again.stdout.fnmatch_lines(["*ifuqa regression gate: ON, baseline*10 metrics*",
                                "*ifuqa regression gate*",
                                f"compared {N_METRICS} metrics: 0 regressed, 0 improved, "
                                f"{N_METRICS} within tolerance*"])
    records = json.loads(results.read_text())["records"]
    assert {r["gate"]["status"] for r in records} == {"same"}
    assert all(r["seed"] in (11, 12) and r["sense"] in ("max", "min") for r in records)


@pytest.mark.parametrize(("change", "failing", "status"), [
    ({"alpha__wiggle": 0.60}, "test_wiggles[alpha]", "regressed"),  # +0.2 % > ±0.05 %
    ({"beta__recall": 95.0}, "test_recall[beta]", "regressed"),  # recall falls 2 points > 1
    ({"alpha__offset": 7.5}, "test_centring[alpha]", "regressed"),  # +2.5 mas > 2 mas
    ({"alpha__wiggle": 0.44}, None, "same"),  # within ±0.05 %
    ({"beta__recall": 99.0}, None, "improved"),  # a recall going up is better
])
def test_worse_beyond_tolerance_fails_that_metric(fake: pytest.Pytester, change: dict,
                                                  failing: str | None, status: str) -> None:
    path = generate(fake)
    set_values(fake, **change)
    result = run(fake, f"--ifuqa-baseline={path}")
    if failing is None:
        assert result.ret == 0, result.stdout.str()
        result.assert_outcomes(passed=N_TESTS)
        return
    assert result.ret == 1
    result.assert_outcomes(passed=N_TESTS - 1, failed=1)
    assert failed_ids(result) == [f"test_checks.py::{failing}"]
    out = result.stdout.str()
    assert "REGRESSION against the baseline" in out
    (key, new), = change.items()
    old = VALUES[key.split("__")[0]][key.split("__")[1]]
    assert f"{new:g}" in out and f"{old:g}" in out  # the new and the baseline value
    assert "tolerance ns_ifu0" in out and "±" in out  # and the tolerance


def test_regression_message_names_values_and_tolerance(fake: pytest.Pytester) -> None:
    path = generate(fake)
    set_values(fake, alpha__wiggle=0.60)
    result = run(fake, f"--ifuqa-baseline={path}")
    result.stdout.fnmatch_lines([
        "*NS-IFU05 wiggle_amplitude on alpha: REGRESSION against the baseline*: 0.6 % now vs "
        "0.4 % in the baseline (0.2 % higher, worse), beyond the tolerance "
        "ns_ifu05.wiggle_amplitude: ±0.05 % or 10 % of the baseline (the larger) = 0.05 %",
        "REGRESSED  NS-IFU05 wiggle_amplitude on alpha (test_wiggles): 0.4 % → 0.6 %*",
        "compared 10 metrics: 1 regressed, 0 improved, 9 within tolerance*"])


def test_improvement_is_reported(fake: pytest.Pytester) -> None:
    path = generate(fake)
    set_values(fake, alpha__wiggle=0.20, beta__drift=2.0)
    result = run(fake, f"--ifuqa-baseline={path}")
    assert result.ret == 0
    result.assert_outcomes(passed=N_TESTS)
    result.stdout.fnmatch_lines([
        "IMPROVED   NS-IFU05 wiggle_amplitude on alpha (test_wiggles): 0.4 % → 0.2 %*",
        "IMPROVED   NS-IFU06 centroid_drift on beta (test_drift): 12 mas → 2 mas*",
        "compared 10 metrics: 0 regressed, 2 improved, 8 within tolerance*"])


def test_missing_dataset_fails_with_how_to(fake: pytest.Pytester) -> None:
    path = generate(fake, "baseline.json", "-k", "alpha")
    assert set(json.loads(path.read_text())["datasets"]) == {"alpha"}
    result = run(fake, f"--ifuqa-baseline={path}")
    assert result.ret == 1
    result.assert_outcomes(passed=4, failed=4)
    assert all(i.endswith("[beta]") for i in failed_ids(result))
    result.stdout.fnmatch_lines([
        "*NS-IFU05 wiggle_amplitude on beta: not in the baseline *baseline.json (dataset "
        "'beta' is not in it)*--ifuqa-generate-baseline=PATH*"])
    assert "never passes silently" in result.stdout.str()


def test_missing_metric_fails_with_how_to(fake: pytest.Pytester) -> None:
    path = generate(fake)
    data = json.loads(path.read_text())
    del data["metrics"]["test_centring"]["beta"]["extraction_flux_loss"]
    path.write_text(json.dumps(data))
    result = run(fake, f"--ifuqa-baseline={path}")
    assert failed_ids(result) == ["test_checks.py::test_centring[beta]"]
    result.stdout.fnmatch_lines(["*extraction_flux_loss on beta: not in the baseline*(it has no "
                                 "metric 'extraction_flux_loss' for test_centring on beta)*"
                                 "--ifuqa-generate-baseline=PATH*"])


def test_metric_measured_in_baseline_but_skipped_now_fails(fake: pytest.Pytester) -> None:
    path = generate(fake)
    set_values(fake, alpha__drift=None)
    result = run(fake, f"--ifuqa-baseline={path}")
    assert result.ret == 1
    result.assert_outcomes(passed=N_TESTS - 1, failed=1)  # not a skip: the gate would be blind
    assert failed_ids(result) == ["test_checks.py::test_drift[alpha]"]
    result.stdout.fnmatch_lines(["*NS-IFU06 drift on alpha: skip now (source too faint) but the "
                                 "baseline*measured centroid_drift = 10 mas*",
                                 "LOST       NS-IFU06 centroid_drift on alpha (test_drift): 10 mas "
                                 "in the baseline, not recorded now; drift: skip (source too "
                                 "faint)",
                                 "compared 9 metrics:*; 1 lost,*"])


def test_metric_skipped_in_both_stays_skipped(fake: pytest.Pytester) -> None:
    set_values(fake, alpha__drift=None)
    path = generate(fake)
    result = run(fake, f"--ifuqa-baseline={path}")
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=N_TESTS - 1, skipped=1)
    result.stdout.fnmatch_lines(["compared 9 metrics:*1 skipped in both*"])


def test_baseline_metric_not_recorded_now_fails(fake: pytest.Pytester) -> None:
    path = generate(fake)
    data = json.loads(path.read_text())
    data["metrics"]["test_wiggles"]["alpha"]["spaxel_wiggle_amplitude"] = {
        "issue": "NS-IFU05", "value": 0.7, "unit": "%", "sense": "max", "threshold": 1.0,
        "verdict": "pass"}
    path.write_text(json.dumps(data))
    result = run(fake, f"--ifuqa-baseline={path}")
    assert failed_ids(result) == ["test_checks.py::test_wiggles[alpha]"]
    result.stdout.fnmatch_lines(["*NS-IFU05 spaxel_wiggle_amplitude on alpha: measured in the "
                                 "baseline (0.7 %) but not recorded by test_wiggles now*"])


def test_expected_failures_are_not_gated(fake: pytest.Pytester) -> None:
    """A power-matrix style xfail check that passes its threshold must XPASS (no power), not
    be turned into an "expected" failure by the gate (its dataset is not in the baseline)."""
    path = generate(fake)
    fake.makepyfile(test_power='''
import pytest

from ifuqa.metrics.result import MetricResult


@pytest.mark.xfail(strict=True, raises=pytest.fail.Exception, reason="power matrix")
def test_defect(fake_check):
    fake_check.judge(MetricResult("NS-IFU05", "wiggle_amplitude", 0.5, "%", 1.0))
''')
    result = run(fake, f"--ifuqa-baseline={path}", "-rX")
    result.assert_outcomes(passed=N_TESTS, failed=2)
    result.stdout.fnmatch_lines(["*[[]XPASS(strict)[]]*power matrix*",
                                 "*2 not judged (expected to fail)*"])


# -- the gate is never silently off ----------------------------------------------------------

GOOD = {"format": "ifuqa-baseline/1", "versions": {}, "datasets": {},
        "metrics": {"test_wiggles": {"alpha": {"wiggle_amplitude": {"value": 0.4}}}}}


@pytest.mark.parametrize(("content", "reason"), [
    (None, "no such file"),
    ("", "empty file"),
    (json.dumps(GOOD)[:40], "corrupt or truncated JSON"),
    ("not json at all", "corrupt or truncated JSON"),
    (b"\xff\xfe\x00garbage", "cannot read it"),
    (json.dumps({"format": "something-else/2"}), "not an ifuqa baseline: format"),
    (json.dumps([1, 2]), "not an ifuqa baseline"),
    (json.dumps(dict(GOOD, metrics=[])), "'metrics' must be an object"),
    (json.dumps(dict(GOOD, metrics={"t": {"d": {"m": {"value": "big"}}}})),
     "value must be a number or null"),
])
def test_unusable_baseline_fails_the_run(fake: pytest.Pytester, content: str | bytes | None,
                                         reason: str) -> None:
    path = fake.path / "baseline.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = run(fake, f"--ifuqa-baseline={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*ifuqa regression gate: cannot use the baseline: *{reason}*"
                                 "not silently switched off*--ifuqa-generate-baseline=PATH*"])
    assert "passed" not in result.stdout.str()


def test_unusable_baseline_fails_under_xdist_too(fake: pytest.Pytester) -> None:
    path = fake.path / "baseline.json"
    path.write_text('{"format": "ifuqa-baseline/1", "metri')
    result = run(fake, "-n", "2", f"--ifuqa-baseline={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "corrupt or truncated JSON" in result.stderr.str()


def test_baseline_comparing_nothing_fails_the_run(fake: pytest.Pytester) -> None:
    path = generate(fake)
    result = run(fake, f"--ifuqa-baseline={path}", "-k", "no_such_test")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # not 5 (no tests), not 0
    result.stdout.fnmatch_lines(["ERROR: the regression gate compared no metric with the "
                                 "baseline*would be silently off*"])


def test_run_where_every_metric_skips_compares_nothing_and_fails(fake: pytest.Pytester) -> None:
    set_values(fake, alpha__drift=None, beta__drift=None)
    path = generate(fake, "baseline.json", "-k", "drift")
    result = run(fake, f"--ifuqa-baseline={path}", "-k", "drift")
    result.assert_outcomes(skipped=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "compared no metric" in result.stdout.str()


def test_generate_without_metrics_fails_and_writes_nothing(fake: pytest.Pytester) -> None:
    path = fake.path / "baseline.json"
    result = run(fake, f"--ifuqa-generate-baseline={path}", "-k", "no_such_test")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert not path.exists()
    result.stdout.fnmatch_lines(["ERROR: baseline NOT written to*: the run recorded no metric*"])


def test_no_gate_no_change(fake: pytest.Pytester) -> None:
    result = run(fake)
    assert result.ret == 0
    assert "regression gate" not in result.stdout.str()


# -- atomic writing ----------------------------------------------------------------------------


def _records(value: float = 0.4) -> list[dict]:
    return [{"issue": "NS-IFU05", "check": "test_wiggles", "dataset": "alpha",
             "metric": "wiggle_amplitude", "value": value, "unit": "%", "sense": "max",
             "threshold": 1.0, "verdict": "pass", "seed": 11, "nodeid": "t.py::a"}]


def test_failed_write_leaves_the_old_baseline_intact(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, build_baseline(_records(0.4), {"jwst": "3.0.0"}))
    before = path.read_bytes()

    def disk_full(fd: int) -> None:  # the new content is in the temporary file, not on disk
        raise OSError("disk full")

    monkeypatch.setattr(atomic_module.os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_baseline(path, build_baseline(_records(0.9), {"jwst": "3.0.1"}))
    monkeypatch.undo()
    monkeypatch.setattr(atomic_module.os, "replace", lambda *a: (_ for _ in
    ()).throw(OSError("no")))
    with pytest.raises(OSError):
        write_baseline(path, build_baseline(_records(0.9), {"jwst": "3.0.1"}))
    assert path.read_bytes() == before
    assert read_baseline(path)["metrics"]["test_wiggles"]["alpha"]["wiggle_amplitude"][
        "value"] == 0.4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]  # no temp left


def test_process_killed_while_writing_leaves_the_old_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, build_baseline(_records(0.4), {}))
    before = path.read_bytes()
    code = f"""
import os
import ifuqa.util.atomic as atomic
from ifuqa.verdicts.baseline import build_baseline, write_baseline
atomic.os.replace = lambda *a: os._exit(9)  # killed after writing the temporary file
write_baseline({str(path)!r}, build_baseline({_records(0.9)!r}, {{}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert path.read_bytes() == before


def test_baseline_content_is_deterministic(tmp_path: Path) -> None:
    recs = [*_records(), dict(_records()[0], dataset="beta", seed=12, value=0.3)]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_baseline(a, build_baseline(recs, {"jwst": "3.0.0", "numpy": "2"}))
    write_baseline(b, build_baseline(recs[::-1], {"numpy": "2", "jwst": "3.0.0"}))
    assert a.read_bytes() == b.read_bytes()


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    recs = [*_records(), dict(_records()[0], nodeid="t.py::b")]
    with pytest.raises(BaselineError, match=r"two records.*t\.py::a and t\.py::b"):
        build_baseline(recs, {})


# -- files of the old form ---------------------------------------------------------------------

OLD_RESULTS = """{"format": "ifuqa-results/1",
 "versions": {"ifuqa": "0.1.0", "jwst": "3.0.0", "numpy": "2.4.6"},
 "applicability": {},
 "records": [
  {"issue": "NS-IFU05", "check": "test_wiggles", "dataset": "alpha", "metric": "wiggle_amplitude",
   "value": 0.4, "unit": "%", "threshold": 1.0, "verdict": "pass", "message": "0.4 % wiggle",
   "sense": "max", "seed": 11, "nodeid": "test_checks.py::test_wiggles[alpha]",
   "versions": {"ifuqa": "0.1.0", "jwst": "3.0.0", "numpy": "2.4.6"}},
  {"issue": "NS-IFU05", "check": "test_wiggles", "dataset": "beta", "metric": "wiggle_amplitude",
   "value": 0.3, "unit": "%", "threshold": 1.0, "verdict": "pass", "message": "0.3 % wiggle",
   "sense": "max", "seed": 12, "nodeid": "test_checks.py::test_wiggles[beta]",
   "gate": {"status": "lost", "lost": ["centroid_drift"]},
   "versions": {"ifuqa": "0.1.0", "jwst": "3.0.0", "numpy": "2.4.6"}},
  {"issue": "NS-IFU06", "check": "test_drift", "dataset": "alpha", "metric": "drift",
   "value": null, "unit": "", "threshold": null, "verdict": "skip",
   "message": "source too faint", "nodeid": "test_checks.py::test_drift[alpha]",
   "versions": {"ifuqa": "0.1.0", "jwst": "3.0.0", "numpy": "2.4.6"}}]}
"""
"""A results file as ifuqa wrote it before records had a type: no ``uncertainty``,
``evidence``; ``gate`` only in gated runs; no ``sense`` or ``seed`` in older records."""

OLD_BASELINE = """{
 "datasets": {
  "alpha": {
   "seed": 11
  },
  "beta": {
   "seed": 12
  }
 },
 "format": "ifuqa-baseline/1",
 "metrics": {
  "test_wiggles": {
   "alpha": {
    "wiggle_amplitude": {
     "issue": "NS-IFU05",
     "sense": "max",
     "threshold": 1.0,
     "unit": "%",
     "value": 0.4,
     "verdict": "pass"
    }
   },
   "beta": {
    "wiggle_amplitude": {
     "issue": "NS-IFU05",
     "sense": "max",
     "threshold": 1.0,
     "unit": "%",
     "value": 0.3,
     "verdict": "pass"
    }
   }
  }
 },
 "versions": {
  "jwst": "3.0.0",
  "numpy": "2.4.6"
 }
}
"""
"""A baseline as ``--ifuqa-generate-baseline`` wrote it before records had a type."""


def test_files_of_the_old_form_still_load(tmp_path: Path) -> None:
    results, base = tmp_path / "results.json", tmp_path / "baseline.json"
    results.write_text(OLD_RESULTS)
    base.write_text(OLD_BASELINE)
    records = read_records(results)
    assert [r.key for r in records] == [("test_wiggles", "alpha", "wiggle_amplitude"),
                                        ("test_wiggles", "beta", "wiggle_amplitude"),
                                        ("test_drift", "alpha", "drift")]
    assert (records[0].value, records[0].seed, records[0].sense) == (0.4, 11, "max")
    assert records[1].gate == {"status": "lost", "lost": ["centroid_drift"]}
    assert (records[2].value, records[2].verdict, records[2].sense) == (None, "skip", None)
    from_results, from_baseline = read_baseline(results), read_baseline(base)
    assert from_results["metrics"]["test_wiggles"] == from_baseline["metrics"]["test_wiggles"]
    assert from_results["datasets"] == from_baseline["datasets"]
    # written again, the old baseline gives the same bytes
    write_baseline(tmp_path / "again.json", from_baseline)
    assert (tmp_path / "again.json").read_text() == OLD_BASELINE


def test_an_old_baseline_gates_the_run(fake: pytest.Pytester) -> None:
    path = fake.path / "old.json"
    path.write_text(OLD_BASELINE)
    result = run(fake, f"--ifuqa-baseline={path}", "-k", "wiggles")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["compared 2 metrics: 0 regressed, 0 improved, 2 within "
                                 "tolerance; 0 lost,*"])


def test_a_results_file_with_a_broken_record_is_not_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    data = json.loads(OLD_RESULTS)
    del data["records"][0]["check"]
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match="a record has no 'check'"):
        read_baseline(path)
    data = json.loads(OLD_RESULTS)
    data["records"][0]["verdict"] = "great"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match=r"test_wiggles/alpha/wiggle_amplitude.*verdict"):
        read_baseline(path)


# -- xdist -------------------------------------------------------------------------------------


def test_xdist_gives_the_same_baseline_and_outcomes(fake: pytest.Pytester) -> None:
    serial = generate(fake, "serial.json")
    parallel = generate(fake, "parallel.json", "-n", "2")
    assert serial.read_bytes() == parallel.read_bytes()

    set_values(fake, alpha__wiggle=0.60, beta__recall=90.0, beta__drift=1.0,
               alpha__loss=float("nan"))
    outcomes = []
    for extra in ([], ["-n", "2"]):
        results = fake.path / f"results{len(extra)}.json"
        result = run(fake, f"--ifuqa-baseline={serial}", f"--ifuqa-results={results}",
                     "--ifuqa-tolerance=ns_ifu04.extraction_flux_loss=abs:0.1", *extra)
        records = json.loads(results.read_text())["records"]
        gate = sorted((r["check"], r["dataset"], r["metric"], r["gate"]["status"])
                      for r in records)
        outcomes.append((result.ret, result.parseoutcomes(), failed_ids(result), gate))
    assert outcomes[0] == outcomes[1]
    ret, counts, failed, gate = outcomes[0]
    assert ret == 1
    assert counts == {"passed": 5, "failed": 3}
    assert failed == ["test_checks.py::test_centring[alpha]",  # NaN now: lost (and an error)
                      "test_checks.py::test_recall[beta]", "test_checks.py::test_wiggles[alpha]"]
    assert ("test_drift", "beta", "centroid_drift", "improved") in gate
    assert ("test_centring", "alpha", "extraction_flux_loss", "lost") in gate


# -- tolerances --------------------------------------------------------------------------------


def _parts(tol: Tolerance) -> tuple[float, float]:
    return tol.absolute, tol.relative


def test_tolerance_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ifuqa.tolerances]\n"
        "'ns_ifu05.wiggle_amplitude' = {abs = 0.2, rel = 0.3}\n"
        "'ns_ifu06.centroid_drift' = 4\n"
        "'ns_ifu04.extraction_offset' = 'rel:5%'\n")
    tol = Tolerances(rootdir=tmp_path, ini=["ns_ifu06.centroid_drift = abs:3"],
                     cli=["ns_ifu04.extraction_offset=abs:1.5,rel:0.01"])
    assert _parts(tol["ns_ifu05.wiggle_amplitude"]) == (0.2, 0.3)  # pyproject beats default
    assert tol.sources["ns_ifu05.wiggle_amplitude"] == "pyproject.toml [tool.ifuqa.tolerances]"
    assert _parts(tol["ns_ifu06.centroid_drift"]) == (3.0, 0.0)  # ini beats pyproject
    assert tol.sources["ns_ifu06.centroid_drift"] == "ini ifuqa_tolerances"
    assert _parts(tol["ns_ifu04.extraction_offset"]) == (1.5, 0.01)  # command line beats pyproject
    assert tol["ns_ifu02.flux_ratio_deviation"] == DEFAULTS["ns_ifu02.flux_ratio_deviation"]
    assert _parts(Tolerances(rootdir=tmp_path)["ns_ifu04.extraction_offset"]) == (0.0, 0.05)
    assert tol.for_metric("NS-IFU05", "wiggle_amplitude")[0] == "ns_ifu05.wiggle_amplitude"
    assert tol.for_metric("NS-IFU09", "my_metric") == ("default", DEFAULTS["default"])


def test_tolerance_allowed_change() -> None:
    tol = Tolerance(0.05, 0.1, "%")
    assert tol.allowed(0.2) == 0.05  # the absolute floor
    assert math.isclose(tol.allowed(2.0), 0.2)  # relative to the baseline
    assert compare_values(2.0, 2.19, "max", tol).status == "same"
    assert compare_values(2.0, 2.21, "max", tol).status == "regressed"
    assert compare_values(2.0, 1.79, "max", tol).status == "improved"
    assert compare_values(1.0, 1.05, "max", Tolerance(0.05)).status == "same"  # boundary
    assert compare_values(None, 1.0, "max", tol).status == "gained"
    assert compare_values(1.0, None, "max", tol).status == "lost"


@pytest.mark.parametrize(("spec", "match"), [
    ("abs:-1", "must be a finite number >= 0"),
    ("rel:nan", "must be a finite number >= 0"),
    ("abs:inf", "must be a finite number >= 0"),
    ("lots", "abs must be a number"),
    ("abs:1,foo:2", "parts must be 'abs' and/or 'rel'"),
    ("abs:1,rel", "expected 'abs:A', 'rel:R'"),
])
def test_bad_tolerance_values_name_the_setting(spec: str, match: str) -> None:
    with pytest.raises(ToleranceError, match=match) as info:
        Tolerances(cli=[f"ns_ifu05.wiggle_amplitude={spec}"])
    assert "--ifuqa-tolerance" in str(info.value)


def test_bad_tolerance_names_and_lines() -> None:
    with pytest.raises(ToleranceError, match=r"unknown tolerance 'ns_ifu05\.wiggles'"):
        Tolerances(ini=["ns_ifu05.wiggles = abs:1"])
    with pytest.raises(ToleranceError, match="expected 'name = spec'"):
        Tolerances(ini=["ns_ifu05.wiggle_amplitude"])
    with pytest.raises(ToleranceError, match="must be a finite"):
        parse_tolerance("ns_ifu05.wiggle_amplitude", {"abs": True}, "pyproject")


def test_tolerances_in_the_run(fake: pytest.Pytester) -> None:
    path = generate(fake)
    set_values(fake, alpha__wiggle=0.60)
    fake.makeini("[pytest]\nifuqa_tolerances =\n    ns_ifu05.wiggle_amplitude = abs:0.3\n")
    assert run(fake, f"--ifuqa-baseline={path}").ret == 0  # ini tolerance absorbs +0.2 %
    tighter = run(fake, f"--ifuqa-baseline={path}",
                  "--ifuqa-tolerance=ns_ifu05.wiggle_amplitude=abs:0.1")
    assert failed_ids(tighter) == ["test_checks.py::test_wiggles[alpha]"]  # cli beats ini
    tighter.stdout.fnmatch_lines(["*beyond the tolerance ns_ifu05.wiggle_amplitude: ±0.1 %*"])
    bad = run(fake, f"--ifuqa-baseline={path}", "--ifuqa-tolerance=ns_ifu05.wiggle_amplitude=-2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--ifuqa-tolerance: tolerance 'ns_ifu05.wiggle_amplitude'*"])


def test_default_tolerances_cover_every_recorded_metric() -> None:
    """Every metric name the evaluations record has its own default tolerance."""
    root = Path(__file__).resolve().parents[1] / "ifuqa"
    names = set()
    for path in [*root.glob("metrics/**/*.py"), *root.glob("evaluate/*.py")]:
        text = path.read_text()
        names |= set(re.findall(r'MetricResult\(\s*"NS-IFU0\d",\s*"(\w+)"', text))
        names |= set(re.findall(r'metric\s*=\s*"(\w+)"', text))
    assert {"wiggle_amplitude", "centroid_drift", "extraction_offset"} <= names
    covered = {name.split(".", 1)[1] for name in DEFAULTS if "." in name}
    assert names <= covered, f"no default tolerance for {sorted(names - covered)}"
    for name, tol in DEFAULTS.items():
        assert tol.absolute >= 0 and tol.relative >= 0 and (tol.absolute or tol.relative), name


# -- ifuqa compare -----------------------------------------------------------------------------


def _results_file(path: Path, changes: dict[tuple[str, str], float | None] | None = None,
                  drop: tuple[str, str] | None = None) -> Path:
    records = []
    for dataset, values in VALUES.items():
        for metric, issue, unit, value, sense in [
                ("wiggle_amplitude", "NS-IFU05", "%", values["wiggle"], "max"),
                ("warm_pixel_recall", "NS-IFU01", "%", values["recall"], "min"),
                ("centroid_drift", "NS-IFU06", "mas", values["drift"], "max")]:
            if (dataset, metric) == drop:
                continue
            value = (changes or {}).get((dataset, metric), value)
            records.append({"issue": issue, "check": f"test_{metric}", "dataset": dataset,
                            "metric": metric, "value": value, "unit": unit, "threshold": 1.0,
                            "sense": sense, "verdict": "pass", "message": "", "nodeid": "x"})
    write_results(path, records)
    return path


def test_compare_table_html_and_exit_codes(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    a = _results_file(tmp_path / "a.json")
    b = _results_file(tmp_path / "b.json", {("alpha", "wiggle_amplitude"): 0.9,
                                            ("beta", "warm_pixel_recall"): 99.0})
    html = tmp_path / "out" / "compare.html"
    assert cli_main(["compare", str(a), str(b), f"--html={html}"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "versions that differ (A → B): none"  # same software, said first
    assert lines[1].startswith(f"A: {a} (jwst ")
    header = next(line for line in lines if line.startswith("status"))
    assert header.split() == ["status", "issue", "dataset", "check", "metric", "A", "B",
                              "change", "tolerance"]
    row = next(line for line in lines if "wiggle_amplitude" in line and "alpha" in line)
    assert row.split()[:1] == ["REGRESSED"]
    assert "0.4 %" in row and "0.9 %" in row and "+0.5 (+125.0 %)" in row and "±0.05 %" in row
    assert re.search(r"^IMPROVED .*beta .*warm_pixel_recall", out, flags=re.M)
    assert "1 regressed, 0 lost, 1 improved, 4 same" in out
    assert "REGRESSION: 1 metrics of B are worse" in out
    page = html.read_text()
    assert "<table>" in page and "<tr class='regressed'>" in page
    assert "<tr class='improved'>" in page
    assert page.count("<tr class=") == 6

    assert cli_main(["compare", str(a), str(a)]) == 0
    assert "0 regressed, 0 lost, 0 improved, 6 same" in capsys.readouterr().out
    loose = ["compare", str(a), str(b), "--tolerance=ns_ifu05.wiggle_amplitude=abs:1"]
    assert cli_main(loose) == 0


def test_compare_accepts_a_baseline_and_a_results_file(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    a = _results_file(tmp_path / "a.json")
    base = tmp_path / "base.json"
    write_baseline(base, read_baseline(a))
    b = _results_file(tmp_path / "b.json", {("alpha", "centroid_drift"): 20.0})
    assert cli_main(["compare", str(base), str(b)]) == 1
    assert re.search(r"^REGRESSED .*alpha .*centroid_drift", capsys.readouterr().out, re.M)


def test_compare_lost_new_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _results_file(tmp_path / "a.json")
    lost = _results_file(tmp_path / "lost.json", {("beta", "centroid_drift"): None})
    assert cli_main(["compare", str(a), str(lost)]) == 1
    assert re.search(r"^LOST .*beta .*centroid_drift", capsys.readouterr().out, re.M)
    fewer = _results_file(tmp_path / "fewer.json", drop=("beta", "centroid_drift"))
    assert cli_main(["compare", str(fewer), str(a)]) == 0  # a new metric in B: reported
    assert re.search(r"^NEW .*beta .*centroid_drift", capsys.readouterr().out, re.M)
    assert cli_main(["compare", str(fewer), str(a), "--strict"]) == 1


def test_compare_with_nothing_in_common_fails(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    a = _results_file(tmp_path / "a.json")
    other = tmp_path / "other.json"
    write_results(other, [{"issue": "NS-IFU02", "check": "c", "dataset": "gamma",
                           "metric": "flux_ratio_deviation", "value": 1.0, "unit": "%",
                           "threshold": 2.0, "verdict": "pass", "message": ""}])
    assert cli_main(["compare", str(a), str(other)]) == 1
    assert "no metric was compared" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "{", '{"format": "nope"}'])
def test_compare_unreadable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          content: str | None) -> None:
    a = _results_file(tmp_path / "a.json")
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert cli_main(["compare", str(a), str(bad)]) == 2
    assert f"ifuqa compare: error: {bad}" in capsys.readouterr().err
    assert cli_main(["compare", str(a), str(a), "--tolerance=nonsense=1"]) == 2


def test_compare_console_script(tmp_path: Path) -> None:
    a = _results_file(tmp_path / "a.json")
    b = _results_file(tmp_path / "b.json", {("alpha", "wiggle_amplitude"): 0.9})
    proc = subprocess.run([sys.executable, "-m", "ifuqa.cli", "compare", str(a), str(b)],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert proc.returncode == 1, proc.stderr
    assert "REGRESSED" in proc.stdout
