"""pytest-html additions: the summary matrix on top, the power matrix (with
``--ifuqa-power-matrix``), a figure per metric, software versions in the environment table.

What is shown is rendered by :mod:`ifuqa.report` (figures registered by metric name, HTML from
its templates); records may be dicts or :class:`ifuqa.verdicts.record.Record` objects.
"""

from __future__ import annotations

from typing import Any

import pytest

from ifuqa._pytest.collector import ResultCollector
from ifuqa._pytest.options import OPTION_POWER, OPTION_RUN, power_on
from ifuqa._pytest.parametrize import dataset_params, datasets_key
from ifuqa._pytest.recorder import plots_key
from ifuqa.report.access import get_field


class HtmlReport:
    """pytest-html additions: the summary matrix on top, the power matrix (with
    ``--ifuqa-power-matrix``), a figure per metric, versions."""

    def __init__(self, collector: ResultCollector) -> None:
        self.collector = collector

    def pytest_configure(self, config: pytest.Config) -> None:
        """Add the software versions (jwst, stdatamodels, CRDS context, ...) to the
        environment table."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pragma: no cover - pytest-html always brings pytest-metadata
            return
        from ifuqa.report.html import environment_rows

        for name, value in environment_rows():
            config.stash[metadata_key][name] = value

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        """Embed the figures of the metrics this test recorded (base64 PNG)."""
        outcome = yield
        report = outcome.get_result()
        if report.when != "call":
            return
        plots = item.stash.get(plots_key, [])
        if not plots:
            return
        import base64

        from pytest_html import extras

        from ifuqa.report.figures import figure_png

        extra = getattr(report, "extras", [])
        for record, plot in plots:
            issue, metric, dataset = (get_field(record, k) for k in ("issue", "metric",
                                                                     "dataset"))
            try:
                png = figure_png(metric, f"{issue} {metric} — {dataset}", plot)
            except Exception as exc:  # a figure must not fail the test it illustrates
                png = None
                extra.append(extras.text(f"figure failed: {exc}", name=metric))
            if png:
                extra.append(extras.png(base64.b64encode(png).decode(), name=metric))
        report.extras = extra

    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list) -> None:
        """The known issue × dataset matrix (worst verdict per cell) at the top, then, when it
        ran, the power matrix (defect vs fix; defect datasets appear only there), or a note
        that it was not measured, then the applicability table."""
        from ifuqa.report.html import report_summary_html

        layout = self._power_layout()
        defect_labels = {label for _, _, label in layout or ()}
        records = self.collector.records
        fixed = [r for r in records if get_field(r, "dataset") not in defect_labels]
        applicability = {k: v for k, v in self.collector.applicability.items()
                         if k not in defect_labels}
        lines = None
        if layout is not None:
            from ifuqa.verdicts.power import power_matrix

            lines = power_matrix(records, layout)
        hint = (OPTION_POWER if layout is None and self.collector.config.getoption(OPTION_RUN)
                else None)
        block = report_summary_html(fixed, applicability, power_lines=lines,
                                    power_has_rows=bool(layout), power_option=hint)
        if block.strip():
            prefix.append(block)

    def _power_layout(self) -> list[tuple[Any, str, str]] | None:
        """(row, fixed label, defect label) of the power matrix; None when it is off."""
        config = self.collector.config
        if not power_on(config):
            return None
        dataset_params(config)  # on the xdist controller nothing was collected
        return config.stash[datasets_key].get("power_layout", [])
