"""HTML fragments for the pytest-html report, rendered from the templates in
``ifuqa/report/templates``: the known issue × dataset matrix (:func:`summary_matrix_html`), the
applicability table (:func:`applicability_html`), the power matrix (:func:`power_matrix_html`,
with its check × defect dataset grid :func:`crosstalk_matrix_html`) and the whole block they
make at the top of the report (:func:`report_summary_html`).

Records may be mappings (the results JSON) or :class:`ifuqa.verdicts.record.Record` objects.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ifuqa.report.access import get_field
from ifuqa.report.palette import (
    APPLICABILITY_COLOURS,
    DEFAULT_COLOUR,
    POWER_COLOURS,
    POWER_TEXT,
    VERDICT_COLOURS,
)
from ifuqa.report.templating import markup, render

__all__ = ["applicability_html", "crosstalk_matrix_html", "environment_rows", "power_matrix_html",
           "report_summary_html", "summary_matrix_html"]

_SEVERITY = {"error": 4, "fail": 3, "undecided": 2, "pass": 1, "skip": 0}
"""Which verdict a summary cell shows: the worst of its records."""


def _record_line(rec: Any) -> str:
    """``metric: value unit (limit threshold) verdict``, or ``metric: verdict`` unmeasured."""
    metric, verdict, value = (get_field(rec, k) for k in ("metric", "verdict", "value"))
    if value is None:
        return f"{metric}: {verdict}"
    threshold = get_field(rec, "threshold")
    limit = "–" if threshold is None else f"{threshold:.3g}"
    return f"{metric}: {value:.3g} {get_field(rec, 'unit', '')} (limit {limit}) {verdict}"


def summary_matrix_html(records: Sequence[Any]) -> str:
    """The known issue × dataset matrix (``id="ifuqa-summary-matrix"``).

    Parameters
    ----------
    records : sequence of mapping or Record
        The run's records.

    Returns
    -------
    str
        A table with a row per known issue and a column per dataset; each cell shows the
        worst verdict of its records (class ``ifuqa-<verdict>``) and each metric's value and
        limit.
    """
    issues = sorted({get_field(r, "issue") for r in records})
    datasets = sorted({get_field(r, "dataset") for r in records})
    rows = []
    for issue in issues:
        cells = []
        for ds in datasets:
            recs = [r for r in records
                    if get_field(r, "issue") == issue and get_field(r, "dataset") == ds]
            if not recs:
                cells.append(None)
                continue
            worst = max((get_field(r, "verdict") for r in recs),
                        key=lambda v: _SEVERITY.get(v, 0))
            cells.append({"verdict": worst, "colour": VERDICT_COLOURS.get(worst, DEFAULT_COLOUR),
                          "lines": [_record_line(r) for r in recs]})
        rows.append({"issue": issue, "cells": cells})
    return render("summary_matrix.html.j2", datasets=datasets, rows=rows)


def applicability_html(applicability: Mapping[str, Mapping[str, Mapping[str, str]]]) -> str:
    """The dataset × known issue table of what the product headers say
    (``id="ifuqa-applicability"``).

    Parameters
    ----------
    applicability : mapping
        Dataset -> known issue -> ``{"status": ..., "reason": ...}`` (status ``affected``,
        ``at risk`` or ``not applicable``).

    Returns
    -------
    str
        A table; cells carry ``ifuqa-app-<status>`` classes, the reason on hover and (its first
        160 characters) in the cell.
    """
    datasets = sorted(applicability)
    issues = sorted({i for entry in applicability.values() for i in entry})
    rows = []
    for ds in datasets:
        cells = []
        for issue in issues:
            entry = applicability[ds].get(issue)
            if entry is None:
                cells.append(None)
                continue
            status, reason = entry["status"], entry["reason"]
            cells.append({"status": status, "klass": status.replace(" ", "-"),
                          "colour": APPLICABILITY_COLOURS.get(status, DEFAULT_COLOUR),
                          "reason": reason, "short": reason[:160]})
        rows.append({"dataset": ds, "cells": cells})
    return render("applicability.html.j2", issues=issues, rows=rows)


def _cell(cell: Any) -> dict[str, str] | None:
    """A power-matrix cell of a :class:`ifuqa.verdicts.power.PowerCell` (None: not run)."""
    if cell is None:
        return None
    verdict = cell.verdict
    return {"klass": verdict.replace(" ", "-"), "title": f"{cell.dataset}: {cell.message}",
            "colour": VERDICT_COLOURS.get(verdict, "#9e9e9e"), "text": cell.text()}


def _limit(line: Any) -> str:
    """``≤ 30 mas`` (``≥`` for a lower limit), or ``–`` without a threshold."""
    if line.threshold is None:
        return "–"
    op = "≥" if line.sense == "min" else "≤"
    unit = line.fix.unit or (line.broken.unit if line.broken else "")
    return f"{op} {line.threshold:.3g} {unit}".strip()


def power_matrix_html(lines: Sequence[Any], *, png: bytes | None = None) -> str:
    """The power matrix as an HTML table (``id="ifuqa-power-matrix"``).

    Parameters
    ----------
    lines : sequence of ifuqa.verdicts.power.PowerLine
        From :func:`ifuqa.verdicts.power.power_matrix`.
    png : bytes, optional
        The matrix as a PNG (:func:`ifuqa.report.figures.power_matrix_png`), embedded below
        the table as a data URI (``id="ifuqa-power-matrix-figure"``; works with
        ``--self-contained-html``).

    Returns
    -------
    str
        A sentence with the counts (``id="ifuqa-power-summary"``: targeted metrics with power,
        cross-talk cells), then one row per (defect dataset, known issue, check, metric) except
        the probes that pass with the defect (those are in the grid of
        :func:`crosstalk_matrix_html`): the limit, the value and verdict with the fix and with the
        defect (cells carry ``ifuqa-pass``/``ifuqa-fail``/… classes), and the power
        (``ifuqa-power-yes``/``-no``/``-unknown``/``-not-targeted``/``-exempt``/``-cross-talk``/
        ``-expected-cross-talk``).
    """
    targeted = [line for line in lines if getattr(line, "targeted", True)
                and line.power != "not targeted"]
    shown = [line for line in lines if line.power != "clean"]
    rows = [{"issue": line.issue, "check": line.check, "metric": line.metric,
             "limit": _limit(line), "fix": _cell(line.fix), "targeted": bool(line.broken),
             "broken": _cell(line.broken),
             "defect": (f"{line.defect} ({line.broken.dataset})" if line.broken
                        else line.defect),
             "power": line.power, "power_class": "ifuqa-power-" + line.power.replace(" ", "-"),
             "power_colour": POWER_COLOURS[line.power],
             "tip": line.note or POWER_TEXT[line.power]} for line in shown]
    return render("power_matrix.html.j2", rows=rows, targeted=len(targeted),
                  with_power=sum(line.power == "yes" for line in targeted),
                  crosstalk=sum(line.power == "cross-talk" for line in lines),
                  expected=sum(line.power == "expected cross-talk" for line in lines),
                  clean=len(lines) - len(shown),
                  png_base64=base64.b64encode(png).decode() if png else None)


def crosstalk_matrix_html(lines: Sequence[Any]) -> str:
    """The check × defect dataset grid of the power matrix (``id="ifuqa-crosstalk-matrix"``).

    Parameters
    ----------
    lines : sequence of ifuqa.verdicts.power.PowerLine
        From :func:`ifuqa.verdicts.power.power_matrix`.

    Returns
    -------
    str
        A table with a column per defect dataset and a row per (known issue, check, metric);
        each cell shows the value and verdict with that defect, coloured by its power
        (``ifuqa-power-…`` classes as in :func:`power_matrix_html`), the fixed value and the
        note on hover.
    """
    from ifuqa.verdicts.power import crosstalk_grid

    grid = crosstalk_grid(lines)
    rows = []
    for i, (issue, check, metric) in enumerate(grid.rows):
        cells = []
        for j in range(len(grid.columns)):
            line = grid.cells.get((i, j))
            if line is None:
                cells.append(None)
                continue
            cells.append({"text": line.broken.text(), "power": line.power,
                          "klass": "ifuqa-power-" + line.power.replace(" ", "-"),
                          "colour": POWER_COLOURS[line.power],
                          "title": f"{line.power}; with the fix: {line.fix.text()}"
                                   + (f"; {line.note}" if line.note else "")})
        rows.append({"issue": issue, "check": check, "metric": metric, "cells": cells})
    columns = [f"{label} (defect of {issue})" for issue, label in grid.columns]
    return render("crosstalk_matrix.html.j2", columns=columns, rows=rows)


def report_summary_html(records: Sequence[Any],
                        applicability: Mapping[str, Mapping[str, Mapping[str, str]]], *,
                        power_lines: Sequence[Any] | None = None, power_has_rows: bool = False,
                        power_option: str | None = None) -> str:
    """The block at the top of the pytest-html report.

    Parameters
    ----------
    records : sequence of mapping or Record
        Records of the summary matrix (the run's, without the power matrix's defect datasets).
    applicability : mapping
        As for :func:`applicability_html` (without the defect datasets).
    power_lines : sequence of PowerLine, optional
        The power matrix when it was measured (None: it was not).
    power_has_rows : bool
        Whether the run had defect rows (a measured matrix without any is said so).
    power_option : str, optional
        When the power matrix was not measured, the option that measures it, to suggest in a
        paragraph ``id="ifuqa-power-off"`` (None: say nothing).

    Returns
    -------
    str
        The summary matrix, then the power matrix section (``<h2 id="ifuqa-power">``, its
        table and figure) or the suggestion, then the applicability table, each with its
        heading when there is something to show.
    """
    power = None
    if power_lines is not None:
        table = None
        if power_has_rows and power_lines:
            from ifuqa.report.figures import power_matrix_png

            own = [line for line in power_lines if getattr(line, "kind", "target") != "probe"]
            table = markup(power_matrix_html(power_lines, png=power_matrix_png(own))
                           + crosstalk_matrix_html(power_lines))
        power = {"has_rows": power_has_rows, "html": table}
    return render("report_summary.html.j2",
                  summary=markup(summary_matrix_html(records)) if records else None,
                  power=power, power_option=power_option,
                  applicability=markup(applicability_html(applicability)) if applicability
                  else None)


def environment_rows() -> list[tuple[str, str]]:
    """(name, version) rows for the report's environment table."""
    from ifuqa.verdicts.results import run_versions

    return sorted(run_versions().items())
