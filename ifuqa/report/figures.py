"""Figures of the pytest-html report (PNG bytes, embedded base64 so that
``--self-contained-html`` works), registered by metric name.

Each metric result carries the arrays behind its figure (``MetricResult.plot``). A drawing
function is registered for the metrics it draws with :func:`figure_for`; :func:`figure_png`
looks the metric up and renders its figure. The rule for a metric without a figure: when no
function is registered for its name (see :data:`FIGURELESS` for the metrics that have none on
purpose), or when its plot data lack a key the figure needs (a metric that could not be
measured), :func:`figure_png` returns None; it is not an error. :func:`power_matrix_png` draws
the power matrix.

Figures are made with matplotlib's object API (:class:`matplotlib.figure.Figure` on an Agg
canvas): pyplot is never imported and the backend of the user's process is never switched.
They are drawn under matplotlib's default style (whatever the user's ``matplotlibrc``), in
matplotlib's bundled DejaVu Sans at :data:`DPI` dots per inch, and saved without metadata, so
that the same data give the same PNG.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ifuqa.report.palette import POWER_COLOURS, VERDICT_COLOURS

INJECTION_KINDS = ("hole", "drift", "spaxel_wiggle", "extraction_offset", "undulation",
                   "negative_offset")
"""The defects injection–recovery injects (:data:`ifuqa.recovery.TARGETS`; a test keeps the
two lists equal, so that this module imports nothing heavy)."""

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DPI", "FIGURELESS", "figure_for", "figure_png", "power_matrix_png",
           "registered_figures"]

DPI = 80
"""Resolution of every figure (a 6.4-inch figure is 512 pixels wide)."""

STYLE: dict[str, Any] = {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"],
                         "svg.hashsalt": "ifuqa", "savefig.dpi": "figure"}
"""rcParams on top of matplotlib's default style while a figure is drawn."""

FIGURELESS: dict[str, str] = {
    "psf_core_flagged": "a share of detector pixels; the flags are in the cal files",
    "negative_flux_fraction": "a share of samples; the spectrum's shape is drawn by "
                              "undulation_amplitude",
    "banding_amplitude": "one level; banding_residual_ratio draws it before and after "
                         "cleaning, per file",
    "centroid_vs_truth": "one distance; the centroid's track is drawn by centroid_drift",
    "drift_recovery_error": "one vector difference; the recovered track is drawn by "
                            "centroid_drift",
    "x1d_source_significance": "one significance; the spectrum is drawn by "
                               "undulation_amplitude and wiggle_amplitude",
    **{f"cross_talk_{kind}": "a count of other issues' checks; their verdicts are in the "
                             "record's evidence" for kind in INJECTION_KINDS},
}
"""Metrics that have no figure on purpose, each with the reason."""

Drawing = Callable[[Mapping[str, Any]], "tuple[Figure, Axes]"]
"""A drawing function: plot data in, (figure, main axes) out; the main axes get the title and
the legend."""


@dataclass(frozen=True)
class _Registered:
    draw: Drawing
    needs: tuple[str, ...]


_REGISTRY: dict[str, _Registered] = {}


def figure_for(*metrics: str, needs: Sequence[str] = ()) -> Callable[[Drawing], Drawing]:
    """Register the decorated drawing function as the figure of ``metrics``.

    Parameters
    ----------
    *metrics : str
        Metric names (``MetricResult.metric``) the function draws.
    needs : sequence of str
        Keys of the plot data the figure cannot be drawn without; a metric whose plot data
        lack one of them gets no figure.

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.

    Raises
    ------
    ValueError
        When a metric already has a figure, or is listed in :data:`FIGURELESS`.
    """
    def register(draw: Drawing) -> Drawing:
        for metric in metrics:
            if metric in _REGISTRY or metric in FIGURELESS:
                raise ValueError(f"metric {metric!r} already has a figure or is figure-less")
            _REGISTRY[metric] = _Registered(draw, tuple(needs))
        return draw

    return register


def registered_figures() -> dict[str, str]:
    """Metric name -> name of the function that draws its figure."""
    return {metric: reg.draw.__name__ for metric, reg in sorted(_REGISTRY.items())}


def figure_png(metric: str, title: str, plot: Mapping[str, Any]) -> bytes | None:
    """The PNG figure of a metric's plot data.

    Parameters
    ----------
    metric : str
        Metric name; selects the registered figure.
    title : str
        Title of the figure.
    plot : mapping
        The metric's plot data (``MetricResult.plot``); lists and tuples are read as arrays.

    Returns
    -------
    bytes or None
        The PNG; None when the metric has no registered figure or its plot data lack a key
        the figure needs.
    """
    registered = _REGISTRY.get(metric)
    if registered is None or any(key not in plot for key in registered.needs):
        return None
    p = {k: (np.asarray(v) if isinstance(v, list | tuple | np.ndarray) else v)
         for k, v in plot.items()}
    with _style():
        fig, ax = registered.draw(p)
        ax.set_title(title, fontsize=9)
        if ax.get_legend_handles_labels()[0]:  # figures without labelled curves get no legend
            ax.legend(fontsize=7)
        return _png(fig)


# ------------------------------------------------------------------ drawing helpers


@contextmanager
def _style() -> Iterator[None]:
    """The default matplotlib style with :data:`STYLE` (rcParams restored afterwards; the
    backend is not part of a style and is left alone)."""
    import matplotlib.style

    with matplotlib.style.context(["default", STYLE]):
        yield


def _figure(ncols: int = 1, size: tuple[float, float] = (6.4, 3.2)) -> tuple[Figure, Any]:
    """A figure on an Agg canvas with one row of ``ncols`` axes (one Axes, or an array)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


# ------------------------------------------------------------------ the figures


@figure_for("x1d_vs_curve_of_growth",
            needs=("cog_radius_fwhm", "cog_total_jy", "cog_wavelength_um", "x1d_jy",
                   "judge_fwhm"))
def curve_of_growth(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Aperture-corrected cube flux / x1d against aperture radius, one curve per wavelength
    bin, with the radius the metric judges at."""
    fig, ax = _figure()
    totals = np.asarray(p["cog_total_jy"], dtype=float)
    waves = np.asarray(p["cog_wavelength_um"], dtype=float)
    for k in range(totals.shape[0]):
        ax.plot(p["cog_radius_fwhm"], totals[k] / p["x1d_jy"][k], "o-", ms=3,
                color=f"C{k % 10}", label=f"{waves[k]:.2f} µm")
    ax.axhline(1.0, color="k", lw=0.6)
    ax.axvline(p["judge_fwhm"], color="0.5", lw=0.6, ls="--")
    ax.set_xlabel("aperture radius (PSF FWHM)")
    ax.set_ylabel("aperture-corrected cube flux / x1d")
    return fig, ax


@figure_for("wiggle_amplitude", "spaxel_wiggle_amplitude", "undulation_amplitude",
            "off_source_undulation",
            needs=("wavelength_um", "residual"))
def spectral_residual(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Fractional residual of a spectrum and its band-passed part (the wiggle or the
    undulation) against wavelength."""
    fig, ax = _figure()
    ax.plot(p["wavelength_um"], 100 * p["residual"], lw=0.6, color="0.6", label="residual")
    band = p.get("wiggle", p.get("undulation"))
    if band is not None:
        ax.plot(p["wavelength_um"], 100 * np.asarray(band), lw=1.0, color="C3",
                label="band-passed")
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("fractional residual (%)")
    return fig, ax


@figure_for("flux_ratio_deviation",
            needs=("wavelength_um", "ratio", "bin_wavelength_um", "bin_ratio"))
def flux_ratio(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Extracted / true flux per plane and in the metric's wavelength bins."""
    fig, ax = _figure()
    ax.plot(p["wavelength_um"], p["ratio"], lw=0.5, color="0.6", label="per plane")
    ax.plot(p["bin_wavelength_um"], p["bin_ratio"], "o-", color="C0", label="binned")
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("extracted / true flux")
    return fig, ax


@figure_for("flux_vs_spaxel_scale", needs=("spaxel_arcsec", "ratio"))
def spaxel_scale(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Extracted / true flux against spaxel scale; with the binned ratios per scale
    (``scale_bin_ratio``), the two-panel figure of :func:`_spaxel_scale_panels`."""
    if "scale_bin_ratio" in p:
        return _spaxel_scale_panels(p)
    fig, ax = _figure()
    ax.plot(p["spaxel_arcsec"], p["ratio"], "o-")
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_xlabel('spaxel scale (")')
    ax.set_ylabel("extracted / true flux")
    return fig, ax


def _spaxel_scale_panels(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Extracted/true flux vs wavelength, one curve per spaxel scale, with the truth (1) and,
    on the right, the band median per scale (the metric's inputs)."""
    fig, (ax, side) = _figure(2, size=(7.6, 3.2))
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


@figure_for("centroid_drift", needs=("wavelength_um", "east_mas", "north_mas"))
def centroid_track(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """East and north centroid offsets against wavelength."""
    fig, ax = _figure()
    ax.plot(p["wavelength_um"], p["east_mas"], "o-", label="east")
    ax.plot(p["wavelength_um"], p["north_mas"], "s-", label="north")
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("centroid offset (mas)")
    return fig, ax


@figure_for("extraction_offset", "extraction_flux_loss",
            needs=("image", "extraction_xy", "aperture_radius_pix", "centroid_xy"))
def aperture_on_image(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """The white-light image with the extraction aperture and the source centroid."""
    from matplotlib.patches import Circle

    fig, ax = _figure(size=(7.0, 3.2))
    ax.imshow(np.asarray(p["image"], dtype=float), origin="lower", cmap="magma")
    ex, ey = p["extraction_xy"]
    ax.add_patch(Circle((ex, ey), float(p["aperture_radius_pix"]), fill=False, color="cyan",
                        label="aperture"))
    ax.plot(*p["centroid_xy"], "+", color="lime", ms=12, label="centroid")
    ax.set_xlabel("x (spaxel)")
    ax.set_ylabel("y (spaxel)")
    return fig, ax


@figure_for("psf_peak_hole_depth", needs=("image", "center_xy"))
def peak_profile(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """The worst bin's image with its centroid and, with ``profile``, its radial profile."""
    with_profile = "profile" in p
    fig, axes = _figure(2 if with_profile else 1, size=(7.0, 3.2))
    ax = axes[0] if with_profile else axes
    ax.imshow(np.asarray(p["image"], dtype=float), origin="lower", cmap="magma")
    ax.plot(*p["center_xy"], "+", color="lime", ms=12, label="centroid")
    ax.set_xlabel("x (spaxel)")
    ax.set_ylabel("y (spaxel)")
    if with_profile:
        axes[1].plot(p["radius_pix"], p["profile"], "o-")
        axes[1].set_xlabel("radius (spaxel)")
        axes[1].set_ylabel("mean surface brightness")
    return fig, ax


@figure_for("psf_peak_depth", needs=("test", "reference"))
def peak_against_reference(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """The reference and the tested image side by side. The figure's title goes over the
    right-hand (tested) image, as it always has."""
    fig, axes = _figure(2, size=(7.0, 3.2))
    for ax, key in zip(axes, ("reference", "test"), strict=True):
        ax.imshow(np.asarray(p[key], dtype=float), origin="lower", cmap="magma")
        ax.set_title(key)
    return fig, axes[1]


@figure_for("warm_pixel_recall", "cosmic_ray_recall", "residual_cosmic_ray_recall",
            "outlier_recall",
            needs=("sigma_edges", "recall_by_sigma_percent", "pixels_by_sigma", "min_sigma",
                   "threshold_percent"))
def flag_recall(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Share of injected pixels flagged against their significance (the completeness curve),
    with the pixel counts per bin behind it, the significance judged above and the limit."""
    fig, ax = _figure()
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
    twin.bar(centres[ok], counts[ok], width=np.diff(edges)[ok] * 0.8, color="0.85", zorder=0)
    twin.set_yscale("log")
    twin.set_ylabel("injected pixels", color="0.5")
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    return fig, ax


@figure_for("banding_residual_ratio", needs=("per_file",))
def banding_per_file(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Banding before and after cleaning, one pair of bars per rate file (labelled by the
    exposure and detector parts of its name)."""
    fig, ax = _figure()
    names = list(p["per_file"])
    before = [p["per_file"][n][0] for n in names]
    after = [p["per_file"][n][1] for n in names]
    x = np.arange(len(names))
    ax.bar(x - 0.2, before, 0.4, label="before cleaning")
    ax.bar(x + 0.2, after, 0.4, label="after cleaning")
    ax.set_xticks(x, [n.split("_")[2] + " " + n.split("_")[3] for n in names], fontsize=7)
    ax.set_ylabel("banding (DN/s rms)")
    return fig, ax


@figure_for(*(f"completeness95_{kind}" for kind in INJECTION_KINDS),
            needs=("sizes", "fraction", "threshold", "unit"))
def completeness_curve(p: Mapping[str, Any]) -> tuple[Figure, Axes]:
    """Share of injections the check caught against the injected size, with the check's
    threshold, the size the power matrix injects (2.5 × threshold) and the 95 % line."""
    fig, ax = _figure()
    sizes = np.asarray(p["sizes"], dtype=float)
    ax.plot(sizes, 100 * np.asarray(p["fraction"], dtype=float), "o-", label="caught")
    threshold = float(p["threshold"])
    ax.axvline(threshold, color="k", lw=0.6, ls="--", label="threshold")
    ax.axvline(2.5 * threshold, color="C3", lw=0.6, ls=":", label="power-matrix size")
    ax.axhline(95.0, color="0.5", lw=0.6)
    size95 = float(p.get("size95", np.nan))
    if np.isfinite(size95):
        ax.plot([size95], [95.0], "v", color="C3", label=f"95 % from {size95:.3g}")
    ax.set_ylim(-3, 103)
    ax.set_xlabel(f"injected {p.get('injection', 'defect')} ({p['unit']})")
    ax.set_ylabel("injections caught (%)")
    return fig, ax


# ------------------------------------------------------------------ the power matrix


def power_matrix_png(lines: Sequence[Any]) -> bytes:
    """The power matrix as a figure.

    Parameters
    ----------
    lines : sequence of ifuqa.verdicts.power.PowerLine
        From :func:`ifuqa.verdicts.power.power_matrix`.

    Returns
    -------
    bytes
        A PNG with a row per (issue, metric); columns "with the fix", "with the defect" and
        "power", coloured by verdict, each cell with its value and unit.
    """
    from matplotlib.patches import Rectangle

    n = max(len(lines), 1)
    columns = ("with the fix", "with the defect", "power")
    with _style():
        fig, ax = _figure(size=(8.0, 0.34 * n + 0.9))
        for j, name in enumerate(columns):
            ax.text(j + 0.5, -0.35, name, ha="center", va="center", fontsize=8, weight="bold")
        for i, line in enumerate(lines):
            cells = [(line.fix.text(), VERDICT_COLOURS.get(line.fix.verdict, "#9e9e9e")),
                     ((line.broken.text(), VERDICT_COLOURS.get(line.broken.verdict, "#9e9e9e"))
                      if line.broken else ("not targeted", POWER_COLOURS["not targeted"])),
                     (line.power, POWER_COLOURS[line.power])]
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
                     f"{len(targeted)} targeted metrics fail with the defect and pass with the "
                     "fix", fontsize=9)
        return _png(fig)
