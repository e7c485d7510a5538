"""``ifuqa compare A.json B.json``: two runs side by side (e.g. the catalogue under two jwst
versions, or two processing configurations).

A and B are results files (``--ifuqa-results``) or baselines (``--ifuqa-generate-baseline``);
A is the reference. Each metric (keyed by check, dataset and metric) gets a status of
:data:`ifuqa.verdicts.baseline.STATUSES` with the tolerances of :mod:`ifuqa.verdicts.tolerances`.
Exit status:
0 when nothing regressed, 1 when a metric regressed or was lost, or no metric could be compared
(with ``--strict`` also when a metric is only in one run), 2 when an input cannot be read.
"""

from __future__ import annotations

import html
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ifuqa.verdicts.baseline import BaselineError, compare_values, entries, read_baseline
from ifuqa.verdicts.tolerances import Tolerances

__all__ = ["Row", "compare_runs", "html_report", "run", "text_table"]

VERSION_KEYS = ("jwst", "stcal", "stdatamodels", "numpy", "ifuqa", "crds_context")


@dataclass(frozen=True)
class Row:
    """One metric of the two runs."""

    status: str
    issue: str
    check: str
    dataset: str
    metric: str
    unit: str
    a: float | None
    b: float | None
    change: float | None
    allowed: float | None
    tolerance: str


def compare_runs(a: Mapping[str, Any], b: Mapping[str, Any],
                 tolerances: Tolerances) -> list[Row]:
    """Compare run B with run A, metric by metric.

    Parameters
    ----------
    a, b : mapping
        Baselines (:func:`ifuqa.verdicts.baseline.read_baseline`); A is the reference.
    tolerances : Tolerances
        Allowed changes.

    Returns
    -------
    list of Row
        Sorted by issue, dataset, check, metric.
    """
    ea, eb = entries(a), entries(b)
    pairs_a, pairs_b = {k[:2] for k in ea}, {k[:2] for k in eb}
    rows = []
    for key in set(ea) | set(eb):
        check, dataset, metric = key
        ra, rb = ea.get(key), eb.get(key)
        ref = rb or ra or {}
        issue = str(ref.get("issue") or "?")
        name, tol = tolerances.for_metric(issue, metric)
        va = ra.get("value") if ra else None
        vb = rb.get("value") if rb else None
        change = allowed = None
        if ra and rb:
            res = compare_values(va, vb, rb.get("sense") or ra.get("sense"), tol, name)
            status, change, allowed = res.status, res.change, res.allowed
        elif ra:
            status = "lost" if key[:2] in pairs_b and va is not None else "missing"
        else:
            status = "skipped" if vb is None and key[:2] in pairs_a else "new"
        rows.append(Row(status, issue, check, dataset, metric, str(ref.get("unit") or ""),
                        va, vb, change, allowed, f"{name}: {tol.describe(ref.get('unit'))}"))
    return sorted(rows, key=lambda r: (r.issue, r.dataset, r.check, r.metric))


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _change(row: Row) -> str:
    if row.change is None:
        return "-"
    text = _fmt(row.change, signed=True)
    if row.a:
        text += f" ({100.0 * row.change / abs(row.a):+.1f} %)"
    return text


def _cells(row: Row) -> tuple[str, ...]:
    unit = f" {row.unit}" if row.unit else ""
    return (row.status.upper(), row.issue, row.dataset, row.check, row.metric,
            _fmt(row.a) + (unit if row.a is not None else ""),
            _fmt(row.b) + (unit if row.b is not None else ""), _change(row),
            ("±" + _fmt(row.allowed) + unit) if row.allowed is not None else "-")


HEADER = ("status", "issue", "dataset", "check", "metric", "A", "B", "change", "tolerance")


def _versions(run: Mapping[str, Any]) -> str:
    versions = run.get("versions", {})
    return ", ".join(f"{k} {versions[k]}" for k in VERSION_KEYS if k in versions) or "unknown"


def _counts(rows: Sequence[Row]) -> str:
    counts = Counter(r.status for r in rows)
    return ", ".join(f"{counts[s]} {s}" for s in ("regressed", "lost", "improved", "same",
                                                     "gained", "skipped", "new", "missing"))


def text_table(rows: Sequence[Row], a: Mapping[str, Any], b: Mapping[str, Any],
               names: tuple[str, str]) -> list[str]:
    """The side-by-side table as text lines (with the two runs' versions and the counts).

    Parameters
    ----------
    rows : sequence of Row
        From :func:`compare_runs`.
    a, b : mapping
        The two runs.
    names : (str, str)
        How to call them (their paths).
    """
    lines = [f"A: {names[0]} ({_versions(a)})", f"B: {names[1]} ({_versions(b)})"]
    table = [HEADER, *(_cells(r) for r in rows)]
    widths = [min(max(len(row[i]) for row in table), 40) for i in range(len(HEADER))]
    lines += ["  ".join(c[:40].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in table]
    lines.append(_counts(rows))
    return lines


_CSS = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #bbb;padding:2px 6px;text-align:left}td.num{text-align:right}
tr.regressed,tr.lost{background:#f8d0d0}tr.improved,tr.gained{background:#d4f0d4}
tr.new,tr.missing{background:#fbeec0}tr.skipped{color:#777}"""


def html_report(rows: Sequence[Row], a: Mapping[str, Any], b: Mapping[str, Any],
                names: tuple[str, str]) -> str:
    """The side-by-side table as a self-contained HTML page.

    Parameters
    ----------
    rows : sequence of Row
        From :func:`compare_runs`.
    a, b : mapping
        The two runs.
    names : (str, str)
        How to call them (their paths).
    """
    esc = html.escape
    body = [f"<tr class='{esc(r.status)}'>" + "".join(
        f"<td class='num'>{esc(c)}</td>" if i >= 5 else f"<td>{esc(c)}</td>"
        for i, c in enumerate(_cells(r))) + f"<td>{esc(r.tolerance)}</td></tr>" for r in rows]
    head = "".join(f"<th>{esc(h)}</th>" for h in (*HEADER, "tolerance setting"))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>ifuqa compare</title>"
            f"<style>{_CSS}</style></head><body><h1>ifuqa compare</h1>"
            f"<p>A (reference): {esc(names[0])} — {esc(_versions(a))}</p>"
            f"<p>B: {esc(names[1])} — {esc(_versions(b))}</p>"
            f"<p>{esc(_counts(rows))}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            "</body></html>\n")


def run(path_a: Path, path_b: Path, *, html_path: Path | None = None,
        tolerance: Sequence[str] = (), strict: bool = False,
        rootdir: Path | None = None, out: TextIO | None = None) -> int:
    """Compare two runs, print the table, optionally write HTML.

    Parameters
    ----------
    path_a, path_b : path
        Results files or baselines; A is the reference.
    html_path : path, optional
        Also write the table as HTML here.
    tolerance : sequence of str
        ``name=spec`` tolerance settings (over ``[tool.ifuqa.tolerances]`` of
        ``rootdir/pyproject.toml`` and the defaults).
    strict : bool
        Also fail on metrics present in only one run.
    rootdir : path, optional
        Folder whose ``pyproject.toml`` is read (default: the current folder).
    out : text stream, optional
        Where to print (default: standard output).

    Returns
    -------
    int
        0: no regression; 1: regressions, lost metrics, no metric compared at all, or with
        ``strict`` metrics in one run only; 2: an input cannot be read or a tolerance setting
        is invalid.
    """
    out = out or sys.stdout
    try:
        tolerances = Tolerances(cli=tolerance, rootdir=Path.cwd() if rootdir is None
                                else rootdir)
        a, b = read_baseline(path_a), read_baseline(path_b)
    except (BaselineError, ValueError) as exc:
        print(f"ifuqa compare: error: {exc}", file=sys.stderr)
        return 2
    names = (str(path_a), str(path_b))
    rows = compare_runs(a, b, tolerances)
    for line in text_table(rows, a, b, names):
        print(line, file=out)
    if html_path is not None:
        html_path = Path(html_path)
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html_report(rows, a, b, names), encoding="utf-8")
        print(f"wrote {html_path}", file=out)
    failing = {"regressed", "lost"} | ({"new", "missing"} if strict else set())
    bad = [r for r in rows if r.status in failing]
    if bad:
        print(f"REGRESSION: {len(bad)} metrics of B are worse than A beyond tolerance or lost"
              + (" (or in one run only)" if strict else ""), file=out)
        return 1
    if not any(r.status in ("same", "improved") for r in rows):
        print("ERROR: no metric was compared (the two runs share no measured metric): "
              "nothing was checked", file=out)
        return 1
    return 0
