"""One status engine: the regression gate and ``ifuqa compare`` give every metric the same
status.

One table of cases (a baseline's metrics of a check on a dataset, and what a run records for
it) is fed to both paths: the gate's (:class:`ifuqa.verdicts.gate.Gate` record by record, then
its end-of-test and end-of-run checks and summary; and once end to end through pytest with the
plugin) and compare's (:func:`ifuqa.verdicts.compare.compare_runs` and its exit status).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from ifuqa.verdicts.baseline import build_baseline, read_baseline, write_baseline
from ifuqa.verdicts.compare import compare_runs
from ifuqa.verdicts.compare import run as compare_main
from ifuqa.verdicts.gate import Gate
from ifuqa.verdicts.gate_summary import summarise
from ifuqa.verdicts.record import Record
from ifuqa.verdicts.status import FAILING, STATUSES, classify
from ifuqa.verdicts.tolerances import Tolerance, Tolerances

CHECK = "test_case"
ISSUE = {"wiggle_amplitude": "NS-IFU05", "spaxel_wiggle_amplitude": "NS-IFU05",
         "warm_pixel_recall": "NS-IFU01", "centroid_drift": "NS-IFU06", "drift": "NS-IFU06"}
SENSE = {"warm_pixel_recall": "min"}
EVALUATIONS = {"drift"}
"""Names recorded as an evaluation's skip (no value), not as a metric."""

# case: (the baseline's metrics of the pair or None, the run's or None, expected statuses)
CASES: dict[str, tuple[dict | None, dict | None, dict[str, str]]] = {
    "same": ({"wiggle_amplitude": 0.40}, {"wiggle_amplitude": 0.42},
             {"wiggle_amplitude": "same"}),
    "regressed": ({"wiggle_amplitude": 0.40}, {"wiggle_amplitude": 0.60},
                  {"wiggle_amplitude": "regressed"}),
    "improved": ({"wiggle_amplitude": 0.40}, {"wiggle_amplitude": 0.20},
                 {"wiggle_amplitude": "improved"}),
    "recall_falls": ({"warm_pixel_recall": 95.0}, {"warm_pixel_recall": 90.0},
                     {"warm_pixel_recall": "regressed"}),
    "recall_rises": ({"warm_pixel_recall": 95.0}, {"warm_pixel_recall": 99.0},
                     {"warm_pixel_recall": "improved"}),
    "gained": ({"wiggle_amplitude": None}, {"wiggle_amplitude": 0.4},
               {"wiggle_amplitude": "gained"}),
    "nan_now": ({"wiggle_amplitude": 0.4}, {"wiggle_amplitude": None},
                {"wiggle_amplitude": "lost"}),
    "no_longer_recorded": ({"wiggle_amplitude": 0.4, "spaxel_wiggle_amplitude": 1.0},
                           {"spaxel_wiggle_amplitude": 1.0},
                           {"wiggle_amplitude": "lost", "spaxel_wiggle_amplitude": "same"}),
    "skips_now": ({"centroid_drift": 10.0}, {"drift": None},
                  {"centroid_drift": "lost", "drift": "skipped"}),
    "skipped_in_both": ({"drift": None}, {"drift": None}, {"drift": "skipped"}),
    "measures_now": ({"drift": None}, {"centroid_drift": 10.0},
                     {"drift": "missing", "centroid_drift": "new"}),
    "new_metric": ({"wiggle_amplitude": 0.4},
                   {"wiggle_amplitude": 0.4, "spaxel_wiggle_amplitude": 1.0},
                   {"wiggle_amplitude": "same", "spaxel_wiggle_amplitude": "new"}),
    "new_dataset": (None, {"wiggle_amplitude": 0.4}, {"wiggle_amplitude": "new"}),
    "new_dataset_skips": (None, {"drift": None}, {"drift": "new"}),
    "not_run": ({"wiggle_amplitude": 0.4}, None, {"wiggle_amplitude": "missing"}),
}


def _record(case: str, metric: str, value: float | None) -> Record:
    if metric in EVALUATIONS:
        return Record.unmeasured(ISSUE[metric], metric, "skip", "too faint", check=CHECK,
                                 dataset=case)
    return Record(ISSUE[metric], CHECK, case, metric, value, "%", threshold=100.0,
                  verdict="pass" if value is not None else "error",
                  sense=SENSE.get(metric, "max"))


def _side(index: int, cases: dict = CASES) -> list[Record]:
    return [_record(case, metric, value) for case, sides in cases.items()
            for metric, value in (sides[index] or {}).items()]


def _expected(cases: dict = CASES) -> dict[tuple[str, str, str], str]:
    return {(CHECK, case, metric): status for case, (*_, want) in cases.items()
            for metric, status in want.items()}


def _gate_path(baseline: dict, run: list[Record]) -> tuple[dict, set, list[str]]:
    """What the gate says: status per key, the failing (check, dataset) pairs, summary."""
    gate = Gate(baseline, Path("baseline.json"), Tolerances())
    statuses, failing = {}, set()
    for pair in sorted({r.key[:2] for r in run}):  # one test per (check, dataset)
        test = [r for r in run if r.key[:2] == pair]
        for rec in test:  # where the check records it
            comparison, failure = gate.compare(rec)
            rec.gate = comparison.as_dict()
            statuses[rec.key] = comparison.status
            if failure:
                failing.add(pair)
        if gate.lost_messages(test):  # at the end of the test
            failing.add(pair)
    for key, comparison in gate.unrecorded(run):  # at the end of the run
        statuses[key] = comparison.status
    lines, _ = summarise(run, gate)
    return statuses, failing, lines


def _counts(lines: list[str]) -> dict[str, int]:
    last = lines[-1]
    pattern = (r"compared (\d+) metrics: (\d+) regressed, (\d+) improved, (\d+) within "
               r"tolerance; (\d+) lost, (\d+) not in the baseline, (\d+) gained, (\d+) skipped "
               r"in both; (\d+) baseline metrics not run")
    numbers = [int(n) for n in re.match(pattern, last).groups()]
    return dict(zip(("compared", "regressed", "improved", "same", "lost", "new", "gained",
                     "skipped", "missing"), numbers, strict=True))


def _summary_counts(statuses: dict) -> dict[str, int]:
    counts = Counter(statuses.values())
    return {"compared": counts["regressed"] + counts["improved"] + counts["same"],
            **{s: counts[s] for s in STATUSES}}


def test_the_table_covers_every_status() -> None:
    assert {s for *_, want in CASES.values() for s in want.values()} == set(STATUSES)


def test_gate_and_compare_agree_on_every_case() -> None:
    baseline = build_baseline(_side(0), {})
    run = _side(1)
    gate_statuses, failing, lines = _gate_path(baseline, run)
    rows = compare_runs(baseline, build_baseline(run, {}), Tolerances())
    compare_statuses = {(r.check, r.dataset, r.metric): r.status for r in rows}
    assert gate_statuses == compare_statuses == _expected()
    # the gate fails the tests of the pairs with a failing status, and only those
    assert failing == {k[:2] for k, s in gate_statuses.items() if s in FAILING}
    # its summary counts the same statuses
    assert _counts(lines) == _summary_counts(gate_statuses)
    for key, status in gate_statuses.items():
        if status == "lost" and key not in {r.key for r in run}:
            assert any(line.startswith("LOST") and f" {key[2]} on {key[1]} " in line
                       for line in lines), key


@pytest.mark.parametrize("case", sorted(CASES))
def test_compare_exit_status_follows_the_statuses(case: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Each case alone: exit 1 on regressed or lost, or when nothing was compared; with
    --strict also on new and missing."""
    one = {case: CASES[case]}
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_baseline(a, build_baseline(_side(0, one), {}))
    write_baseline(b, build_baseline(_side(1, one), {}))
    statuses = set(_expected(one).values())
    compared = bool(statuses & {"same", "improved", "regressed"})
    bad = bool(statuses & {"regressed", "lost"})
    assert compare_main(a, b) == (1 if bad or not compared else 0)
    strict = bad or bool(statuses & {"new", "missing"}) or not compared
    assert compare_main(a, b, strict=True) == (1 if strict else 0)
    capsys.readouterr()


def test_classify_needs_one_side() -> None:
    with pytest.raises(ValueError, match="needs a baseline entry"):
        classify(None, None, Tolerance(1.0))


# -- the same table through pytest: the plugin's gate against compare ---------------------------

CONFTEST = '''
import json
import pathlib
import types

import pytest

from ifuqa._pytest.recorder import CheckRecorder

RUN = json.loads(pathlib.Path(__file__).with_name("run.json").read_text())


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", sorted(RUN))


@pytest.fixture
def recorder(request, case):
    return CheckRecorder(request.node, types.SimpleNamespace(name=case, truth=None))
'''

CHECKS = '''
import pytest

from ifuqa.metrics.result import MetricResult

from conftest import RUN


def test_case(case, recorder):
    skipped = False
    for issue, metric, value, sense, evaluation in RUN[case]:
        if evaluation:
            recorder.record_unmeasured(issue, metric, "skip", "too faint")
            skipped = True
        else:
            recorder.record(MetricResult(issue, metric, float("nan") if value is None else value,
                                         "%", 100.0, sense=sense))
    if skipped:
        pytest.skip("too faint")
'''


def test_the_plugins_gate_agrees_with_compare(pytester: pytest.Pytester) -> None:
    run = {case: [(ISSUE[m], m, v, SENSE.get(m, "max"), m in EVALUATIONS)
                  for m, v in sides[1].items()]
           for case, sides in CASES.items() if sides[1] is not None}
    (pytester.path / "run.json").write_text(json.dumps(run))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_checks=CHECKS)
    baseline = pytester.path / "baseline.json"
    write_baseline(baseline, build_baseline(_side(0), {}))
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           f"--ifuqa-baseline={baseline}",
                                           f"--ifuqa-results={results}")
    out = result.stdout.str()
    rows = compare_runs(read_baseline(baseline), read_baseline(results), Tolerances())
    compare_statuses = {(r.check, r.dataset, r.metric): r.status for r in rows}
    assert compare_statuses == _expected()
    records = json.loads(results.read_text())["records"]
    recorded = {(r["check"], r["dataset"], r["metric"]): r["gate"]["status"] for r in records}
    assert recorded == {k: s for k, s in compare_statuses.items() if k in recorded}
    failed = set(re.findall(r"^FAILED test_checks.py::test_case\[(\w+)\]", out, flags=re.M))
    assert failed == {k[1] for k, s in compare_statuses.items() if s in FAILING}
    summary = out[out.index("ifuqa regression gate ="):].splitlines()
    counts = _counts([line for line in summary if line.startswith("compared ")])
    assert counts == _summary_counts(compare_statuses)
    for key, status in compare_statuses.items():
        if status == "lost" and key not in recorded:
            assert any(line.startswith("LOST") and f" {key[2]} on {key[1]} " in line
                       for line in summary), key
