"""The regression gate on the pytest side: ``--ifuqa-baseline`` and
``--ifuqa-generate-baseline``.

``--ifuqa-generate-baseline=PATH``
    At the end of the run (on the xdist controller, or in a plain run) write the run's metrics
    as a baseline (:mod:`ifuqa.verdicts.baseline`), atomically. Not written when the run was
    interrupted
    or recorded no metric (the run then fails, saying so).
``--ifuqa-baseline=PATH``
    Compare every metric the checks record with the baseline, where it is recorded (so the check
    of that metric fails, on whichever xdist worker runs it):

    * worse than the baseline beyond its tolerance (:mod:`ifuqa.verdicts.tolerances`) — the test
    fails
      with the baseline value, the new value and the tolerance;
    * better beyond the tolerance — reported in the summary ("improved");
    * not in the baseline (dataset, check or metric) — the test fails, saying how to generate
      the baseline;
    * measured in the baseline but skipped, NaN or not recorded now — the test fails ("lost");
    * a baseline that cannot be read, is corrupt or is not a baseline stops the run at start
      (usage error), and a run that compares no metric fails at the end: the gate is never
      silently off.

    Tests marked ``xfail`` (the power matrix's defect datasets) are not gated: their failure is
    the expected outcome, so a gate failure would be taken for the check's power.
``--ifuqa-tolerance=NAME=SPEC`` / ini ``ifuqa_tolerances`` / ``[tool.ifuqa.tolerances]``
    Tolerances (see :mod:`ifuqa.verdicts.tolerances`).

Cheap to import: json, pathlib and pytest only.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["OPTION_BASELINE", "OPTION_GENERATE", "OPTION_TOLERANCE", "RegressionGate",
           "addoption", "annotate", "take_failures"]

OPTION_BASELINE = "--ifuqa-baseline"
OPTION_GENERATE = "--ifuqa-generate-baseline"
OPTION_TOLERANCE = "--ifuqa-tolerance"
INI_TOLERANCES = "ifuqa_tolerances"
PLUGIN_NAME = "ifuqa-gate"
HOW_TO = (f"generate it with `pytest --ifuqa -n 2 {OPTION_GENERATE}=PATH` (the same datasets "
          "and checks, on the reference jwst version)")

gate_key = pytest.StashKey["RegressionGate"]()
_failures_key = pytest.StashKey[list]()
_seen_key = pytest.StashKey[set]()


def addoption(group: Any, parser: pytest.Parser) -> None:
    """Register the gate's options and ini key.

    Parameters
    ----------
    group : pytest OptionGroup
        The ``ifuqa`` option group.
    parser : pytest.Parser
        For the ini key.
    """
    group.addoption(OPTION_BASELINE, default=None, metavar="PATH",
                    help="regression gate: compare every metric with this baseline (fails "
                         "metrics worse than their tolerance, and metrics missing from it)")
    group.addoption(OPTION_GENERATE, default=None, metavar="PATH",
                    help="write the run's metrics as a baseline to PATH (atomically)")
    group.addoption(OPTION_TOLERANCE, action="append", default=[], metavar="NAME=SPEC",
                    help="regression tolerance, e.g. ns_ifu05.wiggle_amplitude=abs:0.05,rel:0.1 "
                         "(highest precedence)")
    parser.addini(INI_TOLERANCES, type="linelist", default=[],
                  help="regression tolerances, one 'name = abs:A,rel:R' per line")


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "none"
    return f"{value:.6g}" + (f" {unit}" if unit else "")


def _where(record: dict) -> str:
    return f"{record['issue']} {record['metric']} on {record['dataset']}"


class RegressionGate:
    """Compares recorded metrics with a baseline and writes baselines.

    Parameters
    ----------
    config : pytest.Config
        The run's configuration.
    records : list of dict
        The run's metric records (filled by :class:`ifuqa._pytest.collector.ResultCollector`).

    Raises
    ------
    pytest.UsageError
        When the baseline cannot be used or a tolerance setting is invalid.
    """

    def __init__(self, config: pytest.Config, records: list[dict]) -> None:
        self.config = config
        self.records = records
        path = config.getoption(OPTION_BASELINE)
        generate = config.getoption(OPTION_GENERATE)
        self.baseline_path = Path(path) if path else None
        self.generate_path = Path(generate) if generate else None
        self.baseline: dict | None = None
        self.entries: dict[tuple[str, str, str], dict] = {}
        self.summary: list[str] = []
        self.problem: str | None = None
        if self.baseline_path is None:
            return
        from ifuqa.verdicts.baseline import BaselineError, entries, read_baseline
        from ifuqa.verdicts.tolerances import ToleranceError, Tolerances

        try:
            self.tolerances = Tolerances(cli=config.getoption(OPTION_TOLERANCE),
                                         ini=config.getini(INI_TOLERANCES),
                                         rootdir=config.rootpath)
        except ToleranceError as exc:
            raise pytest.UsageError(f"ifuqa regression gate: {exc}") from None
        try:
            self.baseline = read_baseline(self.baseline_path)
        except BaselineError as exc:
            raise pytest.UsageError(
                f"ifuqa regression gate: cannot use the baseline: {exc}. The gate is not "
                f"silently switched off: fix the path, or {HOW_TO}.") from None
        self.entries = entries(self.baseline)

    # -- comparing one record (on the worker that records it) --------------------------------

    def compare(self, record: dict) -> tuple[dict, str | None]:
        """Compare one metric record with the baseline.

        Parameters
        ----------
        record : dict
            A metric record (``issue``, ``check``, ``dataset``, ``metric``, ``value``,
            ``unit``, ``sense``, ``verdict``, ``message``).

        Returns
        -------
        (dict, str or None)
            The comparison (JSON-ready, stored in the record as ``gate``) and, when the metric
            fails the gate, the failure message.
        """
        from ifuqa.verdicts.baseline import compare_values

        key = (record["check"], record["dataset"], record["metric"])
        entry = self.entries.get(key)
        name, tolerance = self.tolerances.for_metric(record["issue"], record["metric"])
        if entry is None and record.get("value") is None:
            return self._unmeasured(record, key)
        if entry is None:
            return {"status": "new"}, self._new_message(record, key)
        result = compare_values(entry.get("value"), record.get("value"),
                                record.get("sense") or entry.get("sense"), tolerance, name)
        info = result.as_dict()
        unit = record.get("unit") or entry.get("unit") or ""
        if result.status == "regressed":
            direction = "higher" if (result.change or 0) > 0 else "lower"
            return info, (
                f"{_where(record)}: REGRESSION against the baseline {self.baseline_path}: "
                f"{_fmt(result.value, unit)} now vs {_fmt(result.baseline, unit)} in the "
                f"baseline ({_fmt(abs(result.change or 0), unit)} {direction}, worse), beyond "
                f"the tolerance {result.tolerance} = {_fmt(result.allowed, unit)}")
        if result.status == "lost":
            return info, (
                f"{_where(record)}: measured in the baseline ({_fmt(result.baseline, unit)}) "
                f"but not now ({record.get('verdict')}: {record.get('message') or 'no value'}); "
                f"the gate cannot compare it. If this is expected, regenerate the baseline "
                f"({OPTION_GENERATE}=PATH)")
        return info, None

    def _unmeasured(self, record: dict, key: tuple[str, str, str]) -> tuple[dict, str | None]:
        """A skip (or error) record whose name is not in the baseline: the evaluation's
        metrics, if the baseline measured them, are lost."""
        check, dataset, _ = key
        same_pair = {k[2]: e for k, e in self.entries.items() if k[:2] == (check, dataset)}
        if not same_pair:
            return {"status": "new"}, self._new_message(record, key)
        measured = {m: e for m, e in same_pair.items() if e.get("value") is not None}
        if not measured:
            return {"status": "skipped"}, None
        what = ", ".join(f"{m} = {_fmt(e['value'], e.get('unit') or '')}"
                         for m, e in sorted(measured.items()))
        return {"status": "lost", "lost": sorted(measured)}, (
            f"{record['issue']} {record['metric']} on {dataset}: {record.get('verdict')} now "
            f"({record.get('message')}) but the baseline {self.baseline_path} measured {what} "
            f"for {check} on this dataset: the gate cannot compare it. If this is expected, "
            f"regenerate the baseline ({OPTION_GENERATE}=PATH)")

    def _new_message(self, record: dict, key: tuple[str, str, str]) -> str:
        check, dataset, metric = key
        datasets = {k[1] for k in self.entries}
        checks = {k[0] for k in self.entries}
        if dataset not in datasets:
            why = f"dataset {dataset!r} is not in it"
        elif check not in checks:
            why = f"check {check!r} is not in it"
        else:
            why = f"it has no metric {metric!r} for {check} on {dataset}"
        return (f"{_where(record)}: not in the baseline {self.baseline_path} ({why}), so the "
                f"gate cannot compare it; a metric missing from the baseline never passes "
                f"silently: {HOW_TO}")

    def missing_after_call(self, item: pytest.Item) -> list[str]:
        """Baseline metrics of the (check, dataset) pairs this test recorded that it did not
        record this time."""
        seen: set[tuple[str, str, str]] = item.stash.get(_seen_key, set())
        pairs = {k[:2] for k in seen}
        out = []
        for key, entry in sorted(self.entries.items()):
            if key[:2] in pairs and key not in seen and entry.get("value") is not None:
                out.append(f"{entry.get('issue')} {key[2]} on {key[1]}: measured in the "
                           f"baseline ({_fmt(entry['value'], entry.get('unit') or '')}) but not "
                           f"recorded by {key[0]} now; if this is expected, regenerate the "
                           f"baseline ({OPTION_GENERATE}=PATH)")
        return out

    # -- pytest hooks ------------------------------------------------------------------------

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """Say that the gate is on (and against what), or that a baseline will be written."""
        lines = []
        if self.baseline is not None:
            versions = self.baseline.get("versions", {})
            lines.append(f"ifuqa regression gate: ON, baseline {self.baseline_path} "
                         f"({len(self.entries)} metrics; jwst {versions.get('jwst', '?')})")
        if self.generate_path is not None:
            lines.append(f"ifuqa: writing a baseline to {self.generate_path} at the end")
        return lines

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Fail a test whose gate failures were not raised by ``judge`` (a metric recorded
        without judging, an evaluation that skipped, a baseline metric not recorded)."""
        if self.baseline is None or _expected_to_fail(item):
            return (yield)
        try:
            result = yield
        except pytest.skip.Exception:
            failures = take_failures(item)  # a skip must not hide a metric the baseline has
            if not failures:
                raise
        else:
            failures = take_failures(item) + self.missing_after_call(item)
            if not failures:
                return result
        pytest.fail("\n".join(failures), pytrace=False)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """On the controller: summarise the comparison (failing a run that compared nothing)
        and write the baseline."""
        if hasattr(self.config, "workerinput"):
            return
        if self.baseline is not None:
            from ifuqa.verdicts.gate_summary import summarise

            self.summary, compared = summarise(self.records, self.baseline,
                                               self.baseline_path)
            if compared == 0:
                self.problem = (
                    f"the regression gate compared no metric with the baseline "
                    f"{self.baseline_path} — it would be silently off. Run the checks on the "
                    f"baseline's datasets (pytest --ifuqa, or --ifuqa-data=PATH), or {HOW_TO}.")
                self._fail(session)
        if self.generate_path is not None:
            self._write(session)

    def _fail(self, session: pytest.Session) -> None:
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write(self, session: pytest.Session) -> None:
        from ifuqa.verdicts.baseline import BaselineError, build_baseline, write_baseline
        from ifuqa.verdicts.results import run_versions

        path = self.generate_path
        if session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                      pytest.ExitCode.NO_TESTS_COLLECTED):
            self.summary.append(f"baseline NOT written to {path}: the run did not complete "
                                f"(exit status {int(session.exitstatus)})")
            return
        if not self.records:
            self.problem = (f"baseline NOT written to {path}: the run recorded no metric "
                            "(run the checks on datasets: pytest --ifuqa, or --ifuqa-data=PATH)")
            self._fail(session)
            return
        try:
            baseline = build_baseline(self.records, run_versions())
            write_baseline(path, baseline)
        except (BaselineError, OSError, ValueError) as exc:
            self.problem = f"baseline NOT written to {path}: {exc}"
            self._fail(session)
            return
        n_metrics = sum(len(m) for d in baseline["metrics"].values() for m in d.values())
        versions = baseline["versions"]
        self.summary.append(
            f"wrote baseline {path}: {n_metrics} metrics of {len(baseline['metrics'])} checks "
            f"on {len(baseline['datasets'])} datasets (jwst {versions.get('jwst')}, stcal "
            f"{versions.get('stcal')}, stdatamodels {versions.get('stdatamodels')}, numpy "
            f"{versions.get('numpy')})")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The gate's section: regressions, improvements, lost and new metrics, counts."""
        if hasattr(self.config, "workerinput") or not (self.summary or self.problem):
            return
        terminalreporter.section("ifuqa regression gate")
        for line in self.summary:
            terminalreporter.write_line(line)
        if self.problem:
            terminalreporter.write_line(f"ERROR: {self.problem}", red=True, bold=True)


def _expected_to_fail(item: pytest.Item) -> bool:
    """A test marked xfail (the power matrix's defect datasets) is not gated: a gate failure
    would pass for the expected failure."""
    return item.get_closest_marker("xfail") is not None


def annotate(item: pytest.Item, record: dict) -> None:
    """Compare a metric record with the run's baseline (if the gate is on): store the outcome
    in ``record["gate"]`` and keep a failure message for the test.

    Parameters
    ----------
    item : pytest.Item
        The check's test item.
    record : dict
        The metric record (modified in place).
    """
    gate = item.config.stash.get(gate_key, None)
    if gate is None or gate.baseline is None:
        return
    if _expected_to_fail(item):
        record["gate"] = {"status": "unjudged",
                          "reason": "expected to fail (xfail, e.g. the power matrix)"}
        return
    item.stash.setdefault(_seen_key, set()).add(
        (record["check"], record["dataset"], record["metric"]))
    info, failure = gate.compare(record)
    record["gate"] = info
    if failure:
        item.stash.setdefault(_failures_key, []).append(failure)


def take_failures(item: pytest.Item) -> list[str]:
    """The gate failure messages recorded for this test so far (and forget them).

    Parameters
    ----------
    item : pytest.Item
        The check's test item.

    Returns
    -------
    list of str
    """
    failures = item.stash.get(_failures_key, [])
    item.stash[_failures_key] = []
    return list(failures)
