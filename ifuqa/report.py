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

__all__ = ["applicability_html", "environment_rows", "figure_png", "power_matrix_html",
           "power_matrix_png", "summary_matrix_html"]

_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "skip": "#9e9e9e", "error": "#6a1b9a"}
_POWER_COLOURS = {"yes": "#2e7d32", "no": "#c62828", "unknown": "#9e9e9e",
                  "not targeted": "#bdbdbd"}
_POWER_TEXT = {"yes": "yes: fails with the defect, passes with the fix",
               "no": "NO: does not tell the defect from the fix",
               "unknown": "unknown (skipped, errored or not run)",
               "not targeted": "not targeted by this defect"}


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
    if "cog_total_jy" in p:
        fig, ax = _axes()
        totals = np.asarray(p["cog_total_jy"], dtype=float)
        waves = np.asarray(p["cog_wavelength_um"], dtype=float)
        for k in range(totals.shape[0]):
            colour = f"C{k % 10}"
            ax.plot(p["cog_radius_fwhm"], totals[k] / p["x1d_jy"][k], "o-", ms=3, color=colour,
                    label=f"{waves[k]:.2f} µm")
        ax.axhline(1.0, color="k", lw=0.6)
        ax.axvline(p["judge_fwhm"], color="0.5", lw=0.6, ls="--")
        ax.set_xlabel("aperture radius (PSF FWHM)")
        ax.set_ylabel("aperture-corrected cube flux / x1d")
        ax.legend(fontsize=7, ncol=2)
    elif "residual" in p and "wavelength_um" in p:
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
    elif "spaxel_arcsec" in p and "scale_bin_ratio" in p:
        fig, ax = _scale_figure(p)
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
    elif "recall_by_sigma_percent" in p:
        fig, ax = _axes()
        edges = np.asarray(p["sigma_edges"], dtype=float)
        centres = np.sqrt(edges[:-1] * edges[1:])
        counts = np.asarray(p["pixels_by_sigma"])
        ok = counts > 0
        ax.plot(centres[ok], np.asarray(p["recall_by_sigma_percent"], dtype=float)[ok], "o-",
                label="flagged")
        ax.axvline(float(p["min_sigma"]), color="k", lw=0.6, ls="--", label="judged above")
        ax.axhline(float(p["threshold_percent"]), color="C3", lw=0.6, label="limit")
        ax.set_xscale("log")
        ax.set_ylim(-3, 103)
        ax.set_xlabel("injected signal / pixel noise (σ)")
        ax.set_ylabel("pixels flagged (%)")
        twin = ax.twinx()
        twin.bar(centres[ok], counts[ok], width=np.diff(edges)[ok] * 0.8, color="0.85",
                 zorder=0)
        twin.set_yscale("log")
        twin.set_ylabel("injected pixels", color="0.5")
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
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
    if ax.get_legend_handles_labels()[0]:  # figures without labelled curves get no legend
        ax.legend(fontsize=7)
    return _png(fig)


def _scale_figure(p: Mapping[str, Any]) -> tuple[Any, Any]:
    """Extracted/true flux vs wavelength, one curve per spaxel scale, with the truth (1) and,
    on the right, the band median per scale (the metric's inputs)."""
    fig, (ax, side) = _axes(1, 2, size=(7.6, 3.2))
    scales = np.atleast_1d(p["spaxel_arcsec"])
    waves = np.atleast_2d(np.asarray(p["scale_wavelength_um"], dtype=float))
    ratios = np.atleast_2d(np.asarray(p["scale_bin_ratio"], dtype=float))
    for i, scale in enumerate(scales):
        ok = np.isfinite(waves[i]) & np.isfinite(ratios[i])
        ax.plot(waves[i][ok], ratios[i][ok], "o-", ms=3, lw=1.0, color=f"C{i}",
                label=f'{float(scale):g}" spaxels')
    ax.axhline(1.0, color="k", lw=0.8, ls="--", label="truth")
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("extracted / true flux")
    side.plot(scales, p["ratio"], "o-", color="0.3")
    for i, scale in enumerate(scales):
        side.plot([scale], [np.asarray(p["ratio"])[i]], "o", color=f"C{i}")
    side.axhline(1.0, color="k", lw=0.8, ls="--")
    side.set_xlabel('spaxel scale (")')
    side.set_ylabel("band median")
    for axis in (ax, side):
        axis.ticklabel_format(axis="y", useOffset=False)
    return fig, ax


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
    """A ``<td>`` for a :class:`ifuqa.power.PowerCell` (or None: not run), coloured by
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
    lines : list of ifuqa.power.PowerLine
        From :func:`ifuqa.power.power_matrix`.
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


def power_matrix_png(lines: list[Any]) -> bytes:
    """The power matrix as a figure: a row per (issue, metric); columns "with the fix", "with
    the defect" and "power", coloured by verdict, each cell with its value and unit."""
    from matplotlib.patches import Rectangle

    n = max(len(lines), 1)
    fig, ax = _axes(size=(8.0, 0.34 * n + 0.9))
    columns = ("with the fix", "with the defect", "power")
    for j, name in enumerate(columns):
        ax.text(j + 0.5, -0.35, name, ha="center", va="center", fontsize=8, weight="bold")
    for i, line in enumerate(lines):
        cells = [(line.fix.text(), _COLOURS.get(line.fix.verdict, "#9e9e9e")),
                 ((line.broken.text(), _COLOURS.get(line.broken.verdict, "#9e9e9e"))
                  if line.broken else ("not targeted", _POWER_COLOURS["not targeted"])),
                 (line.power, _POWER_COLOURS[line.power])]
        for j, (text, colour) in enumerate(cells):
            ax.add_patch(Rectangle((j + 0.02, i + 0.05), 0.96, 0.9, color=colour))
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=7,
                    color="white")
    ax.set_xlim(0, len(columns))
    ax.set_ylim(n, -0.7)
    ax.set_yticks([i + 0.5 for i in range(len(lines))],
                  [f"{line.issue} {line.metric}" for line in lines], fontsize=7)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(left=False)
    targeted = [line for line in lines if line.power != "not targeted"]
    ax.set_title(f"power matrix: {sum(line.power == 'yes' for line in targeted)} of "
                 f"{len(targeted)} targeted metrics fail with the defect and pass with the fix",
                 fontsize=9)
    return _png(fig)


def environment_rows() -> list[tuple[str, str]]:
    """(name, version) rows for the report's environment table."""
    from ifuqa.results import run_versions

    return sorted(run_versions().items())
