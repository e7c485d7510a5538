"""The regression gate on the pytest side: ``--ifuqa-baseline`` and
``--ifuqa-generate-baseline``.

``--ifuqa-generate-baseline=PATH``
    At the end of the run (on the xdist controller, or in a plain run) write the run's metrics
    as a baseline (:mod:`ifuqa.verdicts.baseline`), atomically. Not written when the run was
    interrupted or recorded no metric (the run then fails, saying so).
``--ifuqa-baseline=PATH``
    Compare every metric the checks record with the baseline, where it is recorded (so the check
    of that metric fails, on whichever xdist worker runs it):

    * worse than the baseline beyond its tolerance (:mod:`ifuqa.verdicts.tolerances`) — the
      test fails with the baseline value, the new value and the tolerance;
    * better beyond the tolerance — reported in the summary ("improved");
    * not in the baseline (dataset, check or metric) — the test fails, saying how to generate
      the baseline;
    * measured in the baseline but skipped, NaN or not recorded now — the test fails ("lost");
      an evaluation that skipped or errored is named in the message of the metrics it did not
      measure;
    * a baseline that cannot be read, is corrupt or is not a baseline stops the run at start
      (usage error), and a run that compares no metric fails at the end: the gate is never
      silently off.

    Tests marked ``xfail`` (the power matrix's defect datasets) are not gated: their failure is
    the expected outcome, so a gate failure would be taken for the check's power.
``--ifuqa-tolerance=NAME=SPEC`` / ini ``ifuqa_tolerances`` / ``[tool.ifuqa.tolerances]``
    Tolerances (see :mod:`ifuqa.verdicts.tolerances`).

The rules are :class:`ifuqa.verdicts.gate.Gate`'s, whose statuses come from the status engine
``ifuqa compare`` uses too (:mod:`ifuqa.verdicts.status`); this module wires them into pytest.
Cheap to import: pathlib and pytest only.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ifuqa.verdicts.gate import Gate
    from ifuqa.verdicts.record import Record

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
_records_key = pytest.StashKey[list]()


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


class RegressionGate:
    """Compares recorded metrics with a baseline and writes baselines.

    Parameters
    ----------
    config : pytest.Config
        The run's configuration.
    records : list of Record
        The run's records (filled by :class:`ifuqa._pytest.collector.ResultCollector`).

    Raises
    ------
    pytest.UsageError
        When the baseline cannot be used or a tolerance setting is invalid.
    """

    def __init__(self, config: pytest.Config, records: list[Record]) -> None:
        self.config = config
        self.records = records
        path = config.getoption(OPTION_BASELINE)
        generate = config.getoption(OPTION_GENERATE)
        self.baseline_path = Path(path) if path else None
        self.generate_path = Path(generate) if generate else None
        self.gate: Gate | None = None
        self.summary: list[str] = []
        self.problem: str | None = None
        if self.baseline_path is None:
            return
        from ifuqa.verdicts.baseline import BaselineError, read_baseline
        from ifuqa.verdicts.gate import Gate
        from ifuqa.verdicts.tolerances import ToleranceError, Tolerances

        try:
            tolerances = Tolerances(cli=config.getoption(OPTION_TOLERANCE),
                                    ini=config.getini(INI_TOLERANCES), rootdir=config.rootpath)
        except ToleranceError as exc:
            raise pytest.UsageError(f"ifuqa regression gate: {exc}") from None
        try:
            baseline = read_baseline(self.baseline_path)
        except BaselineError as exc:
            raise pytest.UsageError(
                f"ifuqa regression gate: cannot use the baseline: {exc}. The gate is not "
                f"silently switched off: fix the path, or {HOW_TO}.") from None
        self.gate = Gate(baseline, self.baseline_path, tolerances, how_to=HOW_TO,
                         regenerate=f"{OPTION_GENERATE}=PATH")

    @property
    def baseline(self) -> Mapping[str, Any] | None:
        """The baseline (None when the gate is off)."""
        return None if self.gate is None else self.gate.baseline

    @property
    def entries(self) -> dict[tuple[str, str, str], dict]:
        """The baseline's entries by (check, dataset, metric)."""
        return {} if self.gate is None else self.gate.entries

    # -- comparing one record (on the worker that records it) --------------------------------

    def compare(self, record: Record) -> tuple[dict, str | None]:
        """Compare one record with the baseline (:meth:`ifuqa.verdicts.gate.Gate.compare`).

        Parameters
        ----------
        record : Record
            A metric record, or the record of an evaluation that skipped or errored.

        Returns
        -------
        (dict, str or None)
            The comparison (JSON-ready, stored in the record as ``gate``) and, when the metric
            fails the gate, the failure message.
        """
        if self.gate is None:
            raise RuntimeError("the regression gate is off (no --ifuqa-baseline)")
        result, failure = self.gate.compare(record)
        return result.as_dict(), failure

    def missing_after_call(self, item: pytest.Item) -> list[str]:
        """Failure messages for the baseline metrics of the (check, dataset) pairs this test
        recorded that it did not record this time (lost).

        Parameters
        ----------
        item : pytest.Item
            The check's test item.

        Returns
        -------
        list of str
        """
        if self.gate is None:
            return []
        return self.gate.lost_messages(item.stash.get(_records_key, []))

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
            # a skip must not hide a metric the baseline has
            failures = take_failures(item) + self.missing_after_call(item)
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
        if self.gate is not None:
            from ifuqa.verdicts.gate_summary import summarise

            self.summary, compared = summarise(self.records, self.gate)
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


def annotate(item: pytest.Item, record: Record) -> None:
    """Compare a record with the run's baseline (if the gate is on): store the outcome in
    ``record.gate`` and keep a failure message for the test.

    Parameters
    ----------
    item : pytest.Item
        The check's test item.
    record : Record
        The record (its ``gate`` is set).
    """
    gate = item.config.stash.get(gate_key, None)
    if gate is None or gate.gate is None:
        return
    if _expected_to_fail(item):
        record.gate = {"status": "unjudged",
                       "reason": "expected to fail (xfail, e.g. the power matrix)"}
        return
    item.stash.setdefault(_records_key, []).append(record)
    info, failure = gate.compare(record)
    record.gate = info
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
