"""Collecting the metric records of every test report (also from xdist workers, as
:class:`~ifuqa.verdicts.record.Record` JSON in ``user_properties``), writing the results JSON and
the terminal summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifuqa._pytest.options import OPTION_RESULTS
from ifuqa._pytest.recorder import APPLICABILITY_KEY, RECORD_KEY
from ifuqa.verdicts.record import Record

results_key = pytest.StashKey[list]()
"""The run's records (a list of :class:`~ifuqa.verdicts.record.Record`), shared by the
collector, the gate and the HTML report."""


class ResultCollector:
    """Collects metric records from test reports (also from xdist workers, whose reports carry
    the records in ``user_properties``), writes the results JSON and the terminal summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: list[Record] = config.stash[results_key]
        self.applicability: dict[str, dict] = {}
        self._seen: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the records of a test report (once per test), and the applicability of its
        dataset."""
        for key, value in report.user_properties:
            if key == APPLICABILITY_KEY:
                entry = json.loads(value)
                self.applicability[entry["dataset"]] = entry["issues"]
                continue
            if key != RECORD_KEY:
                continue
            tag = report.nodeid + value
            if tag in self._seen:
                continue
            self._seen.add(tag)
            rec = Record.from_json(json.loads(value))
            rec.nodeid = report.nodeid
            self.records.append(rec)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write the results JSON (on the xdist controller, or in a plain run)."""
        if hasattr(self.config, "workerinput"):
            return
        path = self.config.getoption(OPTION_RESULTS)
        if path:
            from ifuqa.verdicts.results import write_results

            write_results(Path(path), self.records, applicability=self.applicability)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """A table of every metric: issue, dataset, metric, value, threshold, verdict."""
        if not self.records or hasattr(self.config, "workerinput"):
            return
        from ifuqa.verdicts.results import summary_lines

        terminalreporter.section("ifuqa known-issue summary")
        for line in summary_lines(self.records):
            terminalreporter.write_line(line)
        if self.applicability:
            from ifuqa.verdicts.results import applicability_lines

            terminalreporter.section("ifuqa applicability (from product headers)")
            for line in applicability_lines(self.applicability):
                terminalreporter.write_line(line)
