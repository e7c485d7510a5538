"""The self-contained HTML page of an ``ifuqa explore`` finding: the minimal failing scene (its
keys, its TOML, a figure of the source in the field of view at every dither position) and each
failing metric with its figure (:func:`ifuqa.report.figures.figure_png`).

Everything arrives as plain data (dicts, records, PNG bytes); the page is rendered from
``templates/explore_page.html.j2``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ifuqa.report.access import get_field
from ifuqa.report.figures import DPI, STYLE
from ifuqa.report.templating import render

__all__ = ["render_explore_page", "scene_png"]


def scene_png(*, field_half_arcsec: tuple[float, float], positions: Sequence[tuple[float, float]],
              margin_arcsec: float, aperture_arcsec: float, title: str) -> bytes:
    """The field of view (IFU frame) with the source's position in every exposure.

    Parameters
    ----------
    field_half_arcsec : (float, float)
        Half size of the field (across, along the slices).
    positions : sequence of (float, float)
        Source position (across, along) in each exposure: offset + pointing error + dither.
    margin_arcsec : float
        Distance from the edge the drawn scenes keep (drawn dashed).
    aperture_arcsec : float
        Extraction radius (2 FWHM), drawn around each position.
    title : str
        Figure title.

    Returns
    -------
    bytes
        PNG.
    """
    import io

    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Rectangle

    hx, hy = field_half_arcsec
    with matplotlib.style.context(["default", STYLE]):
        fig = Figure(figsize=(4.2, 4.0), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.add_patch(Rectangle((-hx, -hy), 2 * hx, 2 * hy, fill=False, color="black",
                               label="field of view"))
        if margin_arcsec < min(hx, hy):
            ax.add_patch(Rectangle((-hx + margin_arcsec, -hy + margin_arcsec),
                                   2 * (hx - margin_arcsec), 2 * (hy - margin_arcsec),
                                   fill=False, ls="--", color="grey", label="edge margin"))
        for i, (x, y) in enumerate(positions, start=1):
            ax.add_patch(Circle((x, y), aperture_arcsec, fill=False, color="tab:blue",
                                alpha=0.6))
            ax.plot([x], [y], "+", color="tab:red", ms=10)
            ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlim(-hx - 0.2, hx + 0.2)
        ax.set_ylim(-hy - 0.2, hy + 0.2)
        ax.set_aspect("equal")
        ax.set_xlabel("across slices (arcsec)")
        ax.set_ylabel("along slices (arcsec)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _data_uri(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def _value(record: Any) -> str:
    value = get_field(record, "value")
    if value is None:
        return "-"
    unit = get_field(record, "unit") or ""
    threshold = get_field(record, "threshold")
    sense = get_field(record, "sense")
    limit = "" if threshold is None else f" (limit {'≤' if sense != 'min' else '≥'} " \
                                         f"{threshold:.4g} {unit})"
    return f"{value:.4g} {unit}{limit}"


def render_explore_page(*, issue: str, title: str, toml: str,
                        scene: Mapping[str, str], scene_figure: bytes | None,
                        failing: Sequence[tuple[Any, bytes | None]], records: Sequence[Any],
                        summary: Mapping[str, Any], reproduce: Sequence[str],
                        confirmation: Sequence[Any] | None = None,
                        notes: Sequence[str] = ()) -> str:
    """The page of one finding.

    Parameters
    ----------
    issue : str
        Known issue.
    title : str
        Page heading.
    toml : str
        The minimal scene's TOML.
    scene : mapping
        Key → text of the scene's main keys (shown as a table).
    scene_figure : bytes, optional
        PNG of :func:`scene_png`.
    failing : sequence of (record, PNG or None)
        Each failing record with its metric's figure.
    records : sequence of Record
        Every record of the scene (the table at the end).
    summary : mapping
        What the search explored (label → value).
    reproduce : sequence of str
        Shell commands that reproduce the finding.
    confirmation : sequence of Record, optional
        The records of the scene with the whole chain (full 1/f noise, NSClean).
    notes : sequence of str
        Extra paragraphs.

    Returns
    -------
    str
        The HTML.
    """
    def row(record: Any) -> dict[str, str]:
        return {k: str(get_field(record, k) or "") for k in ("check", "metric", "verdict",
                                                             "message")} | {
            "value": _value(record)}

    return render(
        "explore_page.html.j2", issue=issue, title=title, toml=toml,
        scene=list(scene.items()), scene_figure=_data_uri(scene_figure),
        failing=[(row(r), _data_uri(png)) for r, png in failing],
        records=[row(r) for r in records], summary=list(summary.items()),
        reproduce=list(reproduce),
        confirmation=None if confirmation is None else [row(r) for r in confirmation],
        notes=list(notes))
