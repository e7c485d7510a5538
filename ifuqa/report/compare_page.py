"""The self-contained HTML page of ``ifuqa compare --html``: two runs side by side, one row per
metric, coloured by status.

The rows come from :func:`ifuqa.verdicts.compare.compare_runs`; a row is read by field name
(``status``, ``issue``, ``check``, ``dataset``, ``metric``, ``unit``, ``a``, ``b``,
``change``, ``allowed``, ``tolerance``), as attributes of a ``Row`` or keys of a mapping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ifuqa.report.access import get_field
from ifuqa.report.templating import render

__all__ = ["HEADER", "STATUS_ORDER", "VERSION_KEYS", "render_compare_page"]

HEADER = ("status", "issue", "dataset", "check", "metric", "A", "B", "change", "tolerance",
          "tolerance setting")
"""Column headings of the page's table."""

VERSION_KEYS = ("jwst", "stcal", "stdatamodels", "numpy", "ifuqa", "crds_context")
"""Software versions shown for each run, in this order."""

STATUS_ORDER = ("regressed", "lost", "improved", "same", "gained", "skipped", "new", "missing")
"""Order of the status counts (a status not listed here is counted after them)."""

_NUMERIC = 5
"""Columns from this one on (A, B, change, tolerance) are numbers, aligned right."""


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _change(row: Any) -> str:
    """``+0.5 (+125.0 %)``: the change of B from A, relative to A when A is not 0."""
    change, a = get_field(row, "change"), get_field(row, "a")
    if change is None:
        return "-"
    text = _number(change, signed=True)
    if a:
        text += f" ({100.0 * change / abs(a):+.1f} %)"
    return text


def _cells(row: Any) -> list[str]:
    """The texts of a row's cells, as in the terminal table of ``ifuqa compare``."""
    unit = get_field(row, "unit") or ""
    suffix = f" {unit}" if unit else ""
    a, b, allowed = (get_field(row, k) for k in ("a", "b", "allowed"))
    return [str(get_field(row, "status")).upper(), *(str(get_field(row, k)) for k in
                                                    ("issue", "dataset", "check", "metric")),
            _number(a) + (suffix if a is not None else ""),
            _number(b) + (suffix if b is not None else ""),
            _change(row), ("±" + _number(allowed) + suffix) if allowed is not None else "-"]


def _versions(run: Mapping[str, Any]) -> str:
    versions = run.get("versions") or {}
    return ", ".join(f"{k} {versions[k]}" for k in VERSION_KEYS if k in versions) or "unknown"


def _counts(rows: Sequence[Any]) -> str:
    counts = Counter(str(get_field(r, "status")) for r in rows)
    order = [*STATUS_ORDER, *sorted(set(counts) - set(STATUS_ORDER))]
    return ", ".join(f"{counts[s]} {s}" for s in order)


def render_compare_page(rows: Sequence[Any], a: Mapping[str, Any], b: Mapping[str, Any],
                        names: tuple[str, str]) -> str:
    """The side-by-side comparison of two runs as a self-contained HTML page.

    Parameters
    ----------
    rows : sequence of Row or mapping
        From :func:`ifuqa.verdicts.compare.compare_runs`.
    a, b : mapping
        The two runs (results files or baselines as read by
        :func:`ifuqa.verdicts.baseline.read_baseline`); only their ``versions`` are shown.
    names : (str, str)
        What to call them (their paths); A is the reference.

    Returns
    -------
    str
        The page: both runs with their software versions, the count of each status, and a
        table with a row per metric (``<tr class='<status>'>``).

    Examples
    --------
    >>> row = dict(status="same", issue="NS-IFU05", check="test_wiggles", dataset="d",
    ...            metric="wiggle_amplitude", unit="%", a=0.4, b=0.41, change=0.01,
    ...            allowed=0.05, tolerance="wiggle_amplitude: ±0.05 %")
    >>> page = render_compare_page([row], {"versions": {"jwst": "1.18"}}, {}, ("a.json", "b"))
    >>> "<tr class='same'>" in page and "jwst 1.18" in page and "+0.01 (+2.5 %)" in page
    True
    """
    body = [{"status": str(get_field(row, "status")),
             "cells": [(text, i >= _NUMERIC) for i, text in enumerate(_cells(row))],
             "tolerance": str(get_field(row, "tolerance") or "")} for row in rows]
    return render("compare_page.html.j2", names=names, versions=(_versions(a), _versions(b)),
                  counts=_counts(rows), header=HEADER, rows=body) + "\n"
