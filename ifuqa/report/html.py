"""HTML fragments for the pytest-html report: the known issue × dataset matrix at the top
(:func:`summary_matrix_html`), the applicability table and the power matrix."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["applicability_html", "environment_rows", "power_matrix_html", "summary_matrix_html"]

_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "skip": "#9e9e9e", "error": "#6a1b9a"}
_POWER_COLOURS = {"yes": "#2e7d32", "no": "#c62828", "unknown": "#9e9e9e",
                  "not targeted": "#bdbdbd"}
_POWER_TEXT = {"yes": "yes: fails with the defect, passes with the fix",
               "no": "NO: does not tell the defect from the fix",
               "unknown": "unknown (skipped, errored or not run)",
               "not targeted": "not targeted by this defect"}


def _table_open(table_id: str, headers: list[str], *, font_size: str | None = None) -> list[str]:
    """The opening tag and header row of one of the report's matrices."""
    style = "border-collapse:collapse;margin:1em 0" + (f";font-size:{font_size}" if font_size
                                                       else "")
    return [f'<table id="{table_id}" class="ifuqa-matrix" style="{style}">',
            "<tr>" + "".join(f"<th style='padding:4px'>{html.escape(h)}</th>" for h in headers)
            + "</tr>"]


def summary_matrix_html(records: list[dict]) -> str:
    """The known issue × dataset matrix: worst verdict per cell, with each metric's value and
    threshold on hover and in the cell."""
    issues = sorted({r["issue"] for r in records})
    datasets = sorted({r["dataset"] for r in records})
    order = {"error": 3, "fail": 2, "pass": 1, "skip": 0}
    rows = _table_open("ifuqa-summary-matrix", ["known issue", *datasets])
    for issue in issues:
        cells = []
        for ds in datasets:
            recs = [r for r in records if r["issue"] == issue and r["dataset"] == ds]
            if not recs:
                cells.append("<td style='padding:4px'>–</td>")
                continue
            worst = max(recs, key=lambda r: order.get(r["verdict"], 0))["verdict"]
            lines = []
            for r in recs:
                if r["value"] is None:
                    lines.append(f"{r['metric']}: {r['verdict']}")
                else:
                    lines.append(f"{r['metric']}: {r['value']:.3g} {r['unit']} "
                                 f"(limit {r['threshold']:.3g}) {r['verdict']}")
            text = "<br>".join(html.escape(x) for x in lines)
            cells.append(f"<td class='ifuqa-{worst}' title='{html.escape(worst)}' "
                         f"style='padding:4px;font-size:11px;color:white;"
                         f"background:{_COLOURS.get(worst, '#555')}'>{text}</td>")
        rows.append(f"<tr><th style='padding:4px'>{html.escape(issue)}</th>{''.join(cells)}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


_APPLICABILITY_COLOURS = {"affected": "#c62828", "at risk": "#ef6c00",
                          "not applicable": "#9e9e9e"}


def applicability_html(applicability: dict[str, dict]) -> str:
    """Dataset × known issue table of what the product headers say (affected / at risk / not
    applicable), the reason on hover and in the cell."""
    datasets = sorted(applicability)
    issues = sorted({i for entry in applicability.values() for i in entry})
    rows = _table_open("ifuqa-applicability", ["dataset", *issues])
    for ds in datasets:
        cells = []
        for issue in issues:
            entry = applicability[ds].get(issue)
            if entry is None:
                cells.append("<td style='padding:4px'>–</td>")
                continue
            status, reason = entry["status"], entry["reason"]
            colour = _APPLICABILITY_COLOURS.get(status, "#555")
            cells.append(f"<td class='ifuqa-app-{status.replace(' ', '-')}' "
                         f"title='{html.escape(reason)}' style='padding:4px;font-size:11px;"
                         f"color:white;background:{colour}'><b>{html.escape(status)}</b><br>"
                         f"{html.escape(reason[:160])}</td>")
        rows.append(f"<tr><th style='padding:4px'>{html.escape(ds)}</th>{''.join(cells)}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _cell_html(cell: Any, unit_default: str = "") -> str:
    """A ``<td>`` for a :class:`ifuqa.verdicts.power.PowerCell` (or None: not run), coloured by
    verdict."""
    if cell is None:
        return "<td class='ifuqa-not-run' style='padding:4px;color:#555'>not run</td>"
    colour = _COLOURS.get(cell.verdict, "#9e9e9e")
    title = html.escape(f"{cell.dataset}: {cell.message}", quote=True)
    return (f"<td class='ifuqa-{html.escape(cell.verdict.replace(' ', '-'))}' title='{title}' "
            f"style='padding:4px;color:white;background:{colour}'>"
            f"{html.escape(cell.text())}</td>")


def _limit(line: Any) -> str:
    if line.threshold is None:
        return "–"
    op = "≥" if line.sense == "min" else "≤"
    unit = line.fix.unit or (line.broken.unit if line.broken else "")
    return f"{op} {line.threshold:.3g} {unit}".strip()


def power_matrix_html(lines: list[Any], *, png: bytes | None = None) -> str:
    """The power matrix as an HTML table (``id="ifuqa-power-matrix"``).

    Parameters
    ----------
    lines : list of ifuqa.verdicts.power.PowerLine
        From :func:`ifuqa.verdicts.power.power_matrix`.
    png : bytes, optional
        The matrix as a PNG (:func:`power_matrix_png`), embedded below the table as a data URI
        (works with ``--self-contained-html``).

    Returns
    -------
    str
        One row per (known issue, check, metric): the limit, the value and verdict with the fix
        and with the defect (cells carry ``ifuqa-pass``/``ifuqa-fail``/… classes), and whether
        the check has power (``ifuqa-power-yes``/``-no``/``-unknown``/``-not-targeted``).
    """
    import base64

    targeted = [line for line in lines if line.power != "not targeted"]
    with_power = sum(line.power == "yes" for line in targeted)
    head = (f"<p id='ifuqa-power-summary'>{with_power} of {len(targeted)} targeted metrics have "
            "power (fail with the defect, pass with the fix); measured in this run.</p>")
    rows = [head, *_table_open("ifuqa-power-matrix", [
        "known issue", "check", "metric", "limit", "with the fix", "with the defect", "defect",
        "power"], font_size="12px")]
    for line in lines:
        power = line.power
        klass = "ifuqa-power-" + power.replace(" ", "-")
        tip = html.escape(line.note or _POWER_TEXT[power], quote=True)
        defect = f"{line.defect} ({line.broken.dataset})" if line.broken else line.defect
        rows.append(
            "<tr>"
            f"<th style='padding:4px'>{html.escape(line.issue)}</th>"
            f"<td style='padding:4px'>{html.escape(line.check)}</td>"
            f"<td style='padding:4px'>{html.escape(line.metric)}</td>"
            f"<td style='padding:4px'>{html.escape(_limit(line))}</td>"
            f"{_cell_html(line.fix)}"
            f"{_cell_html(line.broken) if line.broken else '<td>–</td>'}"
            f"<td style='padding:4px;font-size:11px'>{html.escape(defect)}</td>"
            f"<td class='{klass}' title='{tip}' style='padding:4px;color:white;"
            f"background:{_POWER_COLOURS[power]}'>{html.escape(power)}</td></tr>")
    rows.append("</table>")
    if png:
        data = base64.b64encode(png).decode()
        rows.append(f'<img id="ifuqa-power-matrix-figure" alt="power matrix" '
                    f'src="data:image/png;base64,{data}">')
    return "\n".join(rows)


def environment_rows() -> list[tuple[str, str]]:
    """(name, version) rows for the report's environment table."""
    from ifuqa.verdicts.results import run_versions

    return sorted(run_versions().items())
