"""pytest-html additions: the summary matrix on top, the power matrix (with
``--ifuqa-power-matrix``), a figure per metric, software versions in the environment table.
"""

from __future__ import annotations

from typing import Any

import pytest

from ifuqa._pytest.collector import ResultCollector
from ifuqa._pytest.options import OPTION_POWER, OPTION_RUN, power_on
from ifuqa._pytest.parametrize import dataset_params, datasets_key
from ifuqa._pytest.recorder import plots_key


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
            title = f"{record['issue']} {record['metric']} — {record['dataset']}"
            try:
                png = figure_png(record["metric"], title, plot)
            except Exception as exc:
                png = None
                extra.append(extras.text(f"figure failed: {exc}", name=record["metric"]))
            if png:
                extra.append(extras.png(base64.b64encode(png).decode(), name=record["metric"]))
        report.extras = extra

    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list) -> None:
        """The known issue × dataset matrix (worst verdict per cell) at the top, then, when it
        ran, the power matrix (defect vs fix; defect datasets appear only there)."""
        from ifuqa.report.html import summary_matrix_html

        layout = self._power_layout()
        defect_labels = {label for _, _, label in layout or ()}
        fixed = [r for r in self.collector.records if r["dataset"] not in defect_labels]
        if fixed:
            prefix.append("<h2>ifuqa: known issues × datasets</h2>")
            prefix.append(summary_matrix_html(fixed))
        if layout is not None:
            prefix.extend(self._power_section(layout))
        elif self.collector.config.getoption(OPTION_RUN):
            prefix.append("<p id='ifuqa-power-off'>The power matrix (does each check fail on "
                          "data with its defect and pass with the fix?) was not measured in "
                          f"this run: add <code>{OPTION_POWER}</code> (about 2 more minutes on "
                          "a fresh cache; seconds once the project's tests have built its "
                          "datasets).</p>")
        applicability = {k: v for k, v in self.collector.applicability.items()
                         if k not in defect_labels}
        if applicability:
            from ifuqa.report.html import applicability_html

            prefix.append("<h2>ifuqa: which known issues can affect each dataset "
                          "(from product headers)</h2>")
            prefix.append(applicability_html(applicability))

    def _power_layout(self) -> list[tuple[Any, str, str]] | None:
        """(row, fixed label, defect label) of the power matrix; None when it is off."""
        config = self.collector.config
        if not power_on(config):
            return None
        dataset_params(config)  # on the xdist controller nothing was collected
        return config.stash[datasets_key].get("power_layout", [])

    def _power_section(self, layout: list[tuple[Any, str, str]]) -> list[str]:
        from ifuqa.report.figures import power_matrix_png
        from ifuqa.report.html import power_matrix_html
        from ifuqa.verdicts.power import power_matrix

        out = ['<h2 id="ifuqa-power">ifuqa: power matrix (defect vs fix)</h2>']
        lines = power_matrix(self.collector.records, layout)
        if not layout:
            out.append("<p>power matrix requested, but no scenario of this run has a defect "
                       "row (see ifuqa.builds.power_rows.POWER_ROWS)</p>")
        elif not lines:
            out.append("<p>power matrix: no check of its rows ran (deselected?)</p>")
        else:
            out.append(power_matrix_html(lines, png=power_matrix_png(lines)))
        return out
