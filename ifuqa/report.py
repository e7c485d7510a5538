"""Figures and HTML fragments for the pytest-html report.

Each metric result carries the arrays behind its figure (``MetricResult.plot``);
:func:`figure_png` turns them into a PNG (matplotlib, Agg backend) that the plugin embeds in the
report (base64, so it works with ``--self-contained-html``). :func:`summary_matrix_html` renders
the known issue × dataset matrix shown at the top of the report.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["environment_rows", "figure_png", "summary_matrix_html"]

_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "skip": "#9e9e9e", "error": "#6a1b9a"}


def _axes(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (6.4, 3.2)):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(nrows, ncols, figsize=size, dpi=80)
    return fig, ax


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def figure_png(metric: str, title: str, plot: Mapping[str, Any]) -> bytes | None:
    """A PNG figure for a metric's plot data, or None when the metric has no figure."""
    p = {k: (np.asarray(v) if isinstance(v, list | tuple | np.ndarray) else v)
         for k, v in plot.items()}
    if "residual" in p and "wavelength_um" in p:
        fig, ax = _axes()
        ax.plot(p["wavelength_um"], 100 * p["residual"], lw=0.6, color="0.6", label="residual")
        band = p.get("wiggle", p.get("undulation"))
        if band is not None:
            ax.plot(p["wavelength_um"], 100 * np.asarray(band), lw=1.0, color="C3",
                    label="band-passed")
        ax.set_xlabel("wavelength (µm)")
        ax.set_ylabel("fractional residual (%)")
    elif "ratio" in p and "wavelength_um" in p:
        fig, ax = _axes()
        ax.plot(p["wavelength_um"], p["ratio"], lw=0.5, color="0.6", label="per plane")
        ax.plot(p["bin_wavelength_um"], p["bin_ratio"], "o-", color="C0", label="binned")
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_xlabel("wavelength (µm)")
        ax.set_ylabel("extracted / true flux")
    elif "spaxel_arcsec" in p:
        fig, ax = _axes()
        ax.plot(p["spaxel_arcsec"], p["ratio"], "o-")
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_xlabel('spaxel scale (")')
        ax.set_ylabel("extracted / true flux")
    elif "east_mas" in p:
        fig, ax = _axes()
        ax.plot(p["wavelength_um"], p["east_mas"], "o-", label="east")
        ax.plot(p["wavelength_um"], p["north_mas"], "s-", label="north")
        ax.set_xlabel("wavelength (µm)")
        ax.set_ylabel("centroid offset (mas)")
    elif "image" in p and ("extraction_xy" in p or "center_xy" in p):
        fig, axes = _axes(1, 2 if "profile" in p else 1, size=(7.0, 3.2))
        ax = axes[0] if isinstance(axes, np.ndarray) else axes
        img = np.asarray(p["image"], dtype=float)
        ax.imshow(img, origin="lower", cmap="magma")
        if "extraction_xy" in p:
            from matplotlib.patches import Circle

            ex, ey = p["extraction_xy"]
            ax.add_patch(Circle((ex, ey), float(p["aperture_radius_pix"]), fill=False,
                                color="cyan", label="aperture"))
            ax.plot(*p["centroid_xy"], "+", color="lime", ms=12, label="centroid")
        else:
            ax.plot(*p["center_xy"], "+", color="lime", ms=12, label="centroid")
        ax.set_xlabel("x (spaxel)")
        ax.set_ylabel("y (spaxel)")
        if "profile" in p:
            axes[1].plot(p["radius_pix"], p["profile"], "o-")
            axes[1].set_xlabel("radius (spaxel)")
            axes[1].set_ylabel("mean surface brightness")
    elif "test" in p and "reference" in p:
        fig, axes = _axes(1, 2, size=(7.0, 3.2))
        for ax, key in zip(axes, ("reference", "test"), strict=True):
            ax.imshow(np.asarray(p[key], dtype=float), origin="lower", cmap="magma")
            ax.set_title(key)
    elif "per_file" in p:
        fig, ax = _axes()
        names = list(p["per_file"])
        before = [p["per_file"][n][0] for n in names]
        after = [p["per_file"][n][1] for n in names]
        x = np.arange(len(names))
        ax.bar(x - 0.2, before, 0.4, label="before cleaning")
        ax.bar(x + 0.2, after, 0.4, label="after cleaning")
        ax.set_xticks(x, [n.split("_")[2] + " " + n.split("_")[3] for n in names], fontsize=7)
        ax.set_ylabel("banding (DN/s rms)")
    else:
        return None
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig)


def summary_matrix_html(records: list[dict]) -> str:
    """The known issue × dataset matrix: worst verdict per cell, with each metric's value and
    threshold on hover and in the cell."""
    issues = sorted({r["issue"] for r in records})
    datasets = sorted({r["dataset"] for r in records})
    order = {"error": 3, "fail": 2, "pass": 1, "skip": 0}
    rows = ['<table id="ifuqa-summary-matrix" class="ifuqa-matrix" '
            'style="border-collapse:collapse;margin:1em 0">',
            "<tr><th style='padding:4px'>known issue</th>"
            + "".join(f"<th style='padding:4px'>{html.escape(d)}</th>" for d in datasets)
            + "</tr>"]
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


def environment_rows() -> list[tuple[str, str]]:
    """(name, version) rows for the report's environment table."""
    from ifuqa.results import run_versions

    return sorted(run_versions().items())
