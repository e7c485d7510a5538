"""Figures of the pytest-html report (PNG bytes, embedded base64 so that
``--self-contained-html`` works).

Each metric result carries the arrays behind its figure (``MetricResult.plot``);
:func:`figure_png` turns them into a PNG; :func:`power_matrix_png` draws the power matrix.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["figure_png", "power_matrix_png"]

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
