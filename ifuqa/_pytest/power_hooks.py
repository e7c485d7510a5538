"""The power matrix in the pytest run (``--ifuqa-power-matrix``): cross-talk probes reported as
what they measured, and the check × defect dataset matrix in the terminal summary.

Every check runs on every defect dataset (:func:`ifuqa._pytest.parametrize.power_params`). A
probe — a check on a defect dataset its row does not target — is marked non-strict ``xfail``
so that its failure (cross-talk) neither fails the run nor is gated; :meth:`PowerHooks.
pytest_runtest_makereport` turns a probe's pass into a plain pass (not ``XPASS``) and writes
what failed into a failing probe's ``XFAIL`` reason (shown by ``-ra``). The terminal summary
then prints the full matrix (:func:`ifuqa.verdicts.power.matrix_lines`). Cheap to import.
"""

from __future__ import annotations

from typing import Any

import pytest

from ifuqa._pytest.collector import ResultCollector
from ifuqa._pytest.parametrize import dataset_params, datasets_key
from ifuqa.verdicts.power import PROBE_REASON


def _probe_reason(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xfail")
    reason = str(mark.kwargs.get("reason", "")) if mark is not None else ""
    return reason if reason.startswith(PROBE_REASON) else None


class PowerHooks:
    """Registered when the power matrix runs (also on xdist workers, where the tests run)."""

    def __init__(self, collector: ResultCollector) -> None:
        self.collector = collector

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outside pytest's own xfail handling
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo) -> Any:
        """A probe's pass is a pass; a probe's failure says what failed (cross-talk)."""
        report = yield
        reason = _probe_reason(item)
        if reason is None or report.when != "call" or not hasattr(report, "wasxfail"):
            return report
        if report.passed:  # non-strict XPASS: the check does not fail on this defect
            del report.wasxfail
        elif report.skipped and call.excinfo is not None:
            failed = str(call.excinfo.value).strip().splitlines()
            report.wasxfail = (f"{reason} — fails: {failed[0] if failed else '?'}"
                               + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""))
        return report

    @pytest.hookimpl(trylast=True)  # after the known-issue summary
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The check × defect dataset matrix and every cross-talk cell."""
        config = self.collector.config
        if hasattr(config, "workerinput") or not self.collector.records:
            return
        dataset_params(config)  # on the xdist controller nothing was collected
        layout = config.stash[datasets_key].get("power_layout", [])
        if not layout:
            return
        from ifuqa.verdicts.power import matrix_lines, power_matrix

        terminalreporter.section("ifuqa power matrix: every check on every defect dataset")
        for line in matrix_lines(power_matrix(self.collector.records, layout)):
            terminalreporter.write_line(line)
