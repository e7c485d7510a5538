"""``ifuqa compare A.json B.json``: two runs side by side (e.g. the catalogue under two jwst
versions, or two processing configurations).

A and B are results files (``--ifuqa-results``) or baselines (``--ifuqa-generate-baseline``);
A is the reference. Each metric (keyed by check, dataset and metric) gets a status of
:data:`ifuqa.verdicts.status.STATUSES` from the status engine the regression gate uses
(:func:`ifuqa.verdicts.status.classify`, with B in the place of the run), with the tolerances
of :mod:`ifuqa.verdicts.tolerances`.
Exit status:
0 when nothing regressed, 1 when a metric regressed or was lost, or no metric could be compared
(with ``--strict`` also when a metric is only in one run), 2 when an input cannot be read.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ifuqa.util.atomic import atomic_write
from ifuqa.util.formatting import format_value
from ifuqa.verdicts.baseline import BaselineError, entries, read_baseline
from ifuqa.verdicts.record import VERDICTS, Record
from ifuqa.verdicts.status import classify
from ifuqa.verdicts.tolerances import Tolerances

__all__ = ["Row", "compare_runs", "entry_record", "run", "text_table", "version_differences"]

VERSION_KEYS = ("jwst", "stcal", "stdatamodels", "photutils", "numpy", "scipy", "astropy",
                "ifuqa", "crds_context")


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


def entry_record(key: tuple[str, str, str], entry: Mapping[str, Any]) -> Record:
    """A baseline entry as the record it was made from (what the status engine compares).

    Parameters
    ----------
    key : (str, str, str)
        Check, dataset and metric.
    entry : mapping
        The entry (:func:`ifuqa.verdicts.baseline.entries`).

    Returns
    -------
    Record
    """
    value = entry.get("value")
    verdict = entry.get("verdict")
    if verdict not in VERDICTS:
        verdict = "skip" if value is None else "pass"
    threshold = entry.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        threshold = None
    return Record(issue=str(entry.get("issue") or "?"), check=key[0], dataset=key[1],
                  metric=key[2], value=value, unit=str(entry.get("unit") or ""),
                  threshold=threshold, verdict=verdict, sense=entry.get("sense"))


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
        ra = ea.get(key)
        rb = entry_record(key, eb[key]) if key in eb else None
        ref = rb or entry_record(key, ra or {})
        name, tol = tolerances.for_metric(ref.issue, key[2])
        res = classify(ra, rb, tol, tolerance_name=name, pair_in_baseline=key[:2] in pairs_a,
                       pair_in_run=key[:2] in pairs_b)
        rows.append(Row(res.status, ref.issue, *key, ref.unit, ra.get("value") if ra else None,
                        rb.value if rb else None, res.change, res.allowed, res.tolerance))
    return sorted(rows, key=lambda r: (r.issue, r.dataset, r.check, r.metric))


def _change(row: Row) -> str:
    if row.change is None:
        return "-"
    text = format_value(row.change, signed=True)
    if row.a:
        text += f" ({100.0 * row.change / abs(row.a):+.1f} %)"
    return text


def _cells(row: Row) -> tuple[str, ...]:
    return (row.status.upper(), row.issue, row.dataset, row.check, row.metric,
            format_value(row.a, row.unit), format_value(row.b, row.unit), _change(row),
            ("±" + format_value(row.allowed, row.unit)) if row.allowed is not None else "-")


HEADER = ("status", "issue", "dataset", "check", "metric", "A", "B", "change", "tolerance")


def _versions(run: Mapping[str, Any]) -> str:
    versions = run.get("versions", {})
    return ", ".join(f"{k} {versions[k]}" for k in VERSION_KEYS if k in versions) or "unknown"


def version_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """The software versions that differ between two runs, as one line.

    Parameters
    ----------
    a, b : mapping
        The two runs (their ``versions``).

    Returns
    -------
    str
        ``"versions that differ (A → B): jwst 2.0.1 → 3.0.0, ..."``, or that none differ.

    Examples
    --------
    >>> version_differences({"versions": {"jwst": "2.0.1", "numpy": "2.4"}},
    ...                     {"versions": {"jwst": "3.0.0", "numpy": "2.4"}})
    'versions that differ (A → B): jwst 2.0.1 → 3.0.0'
    """
    va, vb = a.get("versions") or {}, b.get("versions") or {}
    keys = [k for k in VERSION_KEYS if k in va or k in vb]
    keys += sorted((va.keys() | vb.keys()) - set(keys))
    changed = [f"{k} {va.get(k, 'unknown')} → {vb.get(k, 'unknown')}" for k in keys
               if va.get(k) != vb.get(k)]
    if not va and not vb:
        return "versions that differ (A → B): unknown (neither run records its versions)"
    return "versions that differ (A → B): " + (", ".join(changed) or "none")


def _counts(rows: Sequence[Row]) -> str:
    counts = Counter(r.status for r in rows)
    return ", ".join(f"{counts[s]} {s}" for s in ("regressed", "lost", "improved", "same",
                                                     "gained", "skipped", "new", "missing"))


def text_table(rows: Sequence[Row], a: Mapping[str, Any], b: Mapping[str, Any],
               names: tuple[str, str]) -> list[str]:
    """The side-by-side table as text lines: first the versions that differ between the runs
    (:func:`version_differences`), then both runs' versions, the table and the counts.

    Parameters
    ----------
    rows : sequence of Row
        From :func:`compare_runs`.
    a, b : mapping
        The two runs.
    names : (str, str)
        How to call them (their paths).
    """
    lines = [version_differences(a, b), f"A: {names[0]} ({_versions(a)})",
             f"B: {names[1]} ({_versions(b)})"]
    table = [HEADER, *(_cells(r) for r in rows)]
    widths = [min(max(len(row[i]) for row in table), 40) for i in range(len(HEADER))]
    lines += ["  ".join(c[:40].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in table]
    lines.append(_counts(rows))
    return lines


def run(path_a: Path, path_b: Path, *, html_path: Path | None = None,
        render_html: Callable[..., str] | None = None,
        tolerance: Sequence[str] = (), strict: bool = False,
        rootdir: Path | None = None, out: TextIO | None = None) -> int:
    """Compare two runs, print the table, optionally write HTML.

    Parameters
    ----------
    path_a, path_b : path
        Results files or baselines; A is the reference.
    html_path : path, optional
        Also write the table as HTML here, rendered by ``render_html``.
    render_html : callable, optional
        ``render_html(rows, a, b, names) -> str`` (the report layer's
        :func:`ifuqa.report.compare_page.render_compare_page`, handed in by the CLI: the
        verdicts layer does not import the report).
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
        if render_html is None:
            raise ValueError("html_path needs render_html (the page renderer)")
        page = render_html(rows, a, b, names)
        html_path = atomic_write(html_path, lambda fh: fh.write(page))
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
