"""Report figures against baseline images, and the figure registry.

Every figure kind is drawn from a small synthetic plot dict and compared with its baseline PNG
in ``tests/baseline_images/`` (:func:`matplotlib.testing.compare.compare_images`, RMS
tolerance :data:`TOLERANCE`). To regenerate the baselines after an intended change of a
figure (or a matplotlib upgrade that changes text rendering), run::

    IFUQA_GENERATE_BASELINES=1 python3 -m pytest tests/test_report_figures.py

which writes the PNGs and skips the comparisons; look at them, then commit them. A failing
comparison leaves the figure and its difference image in the test's ``tmp_path`` (paths in
the message).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ifuqa.report.figures import (
    FIGURELESS,
    figure_for,
    figure_png,
    power_matrix_png,
    registered_figures,
)
from ifuqa.verdicts.power import PowerCell, PowerLine

BASELINES = Path(__file__).resolve().parent / "baseline_images"
GENERATE = os.environ.get("IFUQA_GENERATE_BASELINES", "") not in ("", "0")
TOLERANCE = float(os.environ.get("IFUQA_FIGURE_TOLERANCE", "1.0"))
"""RMS (0-255 grey levels) a figure may differ from its baseline. The same matplotlib release
draws the same figure bit for bit (RMS 0); changing one character of a title gives 1.5."""

PACKAGE = Path(__file__).resolve().parents[1] / "ifuqa"


def assert_matches_baseline(png: bytes | None, name: str, tmp_path: Path) -> None:
    """Compare a PNG with ``baseline_images/<name>.png`` (or write it, when generating)."""
    from matplotlib.testing.compare import compare_images
    from matplotlib.testing.exceptions import ImageComparisonFailure

    assert png, f"{name}: no figure was drawn"
    expected = BASELINES / f"{name}.png"
    if GENERATE:
        BASELINES.mkdir(exist_ok=True)
        expected.write_bytes(png)
        pytest.skip(f"wrote baseline {expected}")
    assert expected.is_file(), (f"no baseline {expected}: generate it with "
                                "IFUQA_GENERATE_BASELINES=1 python3 -m pytest "
                                "tests/test_report_figures.py")
    actual = tmp_path / f"{name}.png"
    actual.write_bytes(png)
    try:
        problem = compare_images(str(expected), str(actual), tol=TOLERANCE)
    except ImageComparisonFailure as exc:  # e.g. the sizes differ
        problem = str(exc)
    assert problem is None, f"{name} differs from its baseline: {problem}"


# ------------------------------------------------------------------ synthetic plot data


def _gauss(n: int = 15, x0: float = 7.3, y0: float = 6.8, sigma: float = 1.6,
           hole: float = 0.0) -> np.ndarray:
    yy, xx = np.mgrid[:n, :n]
    img = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma**2))
    img[round(y0), round(x0)] *= 1 - hole
    return img


WAVE = np.linspace(2.9, 5.2, 400)
WIGGLE = 0.002 * np.cos(2 * np.pi * 11 * WAVE)
RESIDUAL = 0.004 * np.sin(2 * np.pi * 0.7 * WAVE) + WIGGLE
BINS = np.linspace(3.0, 5.1, 20)
SCALES = np.array([0.05, 0.1, 0.2])
SCALE_RATIO = np.array([1.0 + 0.003 * np.sin(BINS * (k + 1)) + 0.01 * k for k in range(3)])
SCALE_RATIO[2, 15:] = np.nan  # a scale with fewer bins (NaN-padded, as the metric makes it)
TRACK = np.linspace(1.7, 3.1, 12)
EDGES = np.logspace(0.0, 4.0, 17)
COUNTS = np.array([0, 0, 5, 40, 120, 300, 500, 600, 400, 300, 200, 90, 30, 8, 2, 0])
RADII = np.arange(0.25, 6, 0.5)
COG_RADII = np.array([0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0])

PLOTS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "curve_of_growth": ("x1d_vs_curve_of_growth", lambda: {
        "cog_radius_fwhm": COG_RADII, "cog_wavelength_um": np.linspace(3.0, 5.0, 6),
        "cog_total_jy": np.array([[1 - 0.3 * np.exp(-r) + 0.01 * k for r in COG_RADII]
                                  for k in range(6)]),
        "x1d_jy": np.full(6, 0.98), "judge_fwhm": 2.0}),
    "spectral_residual": ("wiggle_amplitude", lambda: {
        "wavelength_um": WAVE, "residual": RESIDUAL, "wiggle": WIGGLE}),
    "spectral_residual_undulation": ("undulation_amplitude", lambda: {
        "wavelength_um": WAVE, "residual": RESIDUAL, "undulation": RESIDUAL - WIGGLE}),
    "flux_ratio": ("flux_ratio_deviation", lambda: {
        "wavelength_um": WAVE, "ratio": 1 + RESIDUAL, "bin_wavelength_um": BINS,
        "bin_ratio": 1 + 0.004 * np.sin(2 * np.pi * 0.7 * BINS)}),
    "spaxel_scale": ("flux_vs_spaxel_scale", lambda: {
        "spaxel_arcsec": SCALES, "ratio": np.nanmedian(SCALE_RATIO, axis=1),
        "scale_wavelength_um": np.tile(BINS, (3, 1)), "scale_bin_ratio": SCALE_RATIO}),
    "spaxel_scale_summary": ("flux_vs_spaxel_scale", lambda: {
        "spaxel_arcsec": SCALES, "ratio": np.nanmedian(SCALE_RATIO, axis=1)}),
    "centroid_track": ("centroid_drift", lambda: {
        "wavelength_um": TRACK, "x": TRACK, "y": TRACK, "east_mas": 12 * (TRACK - TRACK.mean()),
        "north_mas": -5 * (TRACK - TRACK.mean()) + np.sin(5 * TRACK)}),
    "aperture_on_image": ("extraction_offset", lambda: {
        "image": _gauss(), "centroid_xy": (7.3, 6.8), "extraction_xy": (9.0, 7.5),
        "aperture_radius_pix": 3.2}),
    "peak_profile": ("psf_peak_hole_depth", lambda: {
        "wavelength_um": TRACK, "depth_percent": np.linspace(0, 20, 12), "radius_pix": RADII,
        "profile": np.exp(-RADII**2 / 5) * (1 - 0.2 * (RADII < 0.5)),
        "image": _gauss(hole=0.2), "center_xy": (7.3, 6.8)}),
    "peak_against_reference": ("psf_peak_depth", lambda: {
        "test": _gauss(hole=0.3), "reference": _gauss(), "peak_xy": (7, 7)}),
    "flag_recall": ("cosmic_ray_recall", lambda: {
        "sigma_edges": EDGES, "pixels_by_sigma": COUNTS, "min_sigma": 10.0,
        "recall_by_sigma_percent": np.where(
            COUNTS > 0, 100 / (1 + (8 / np.sqrt(EDGES[:-1] * EDGES[1:])) ** 4), np.nan),
        "threshold_percent": 90.0}),
    "completeness_curve": ("completeness95_hole", lambda: {
        "sizes": np.array([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]) * 15.0,
        "fraction": np.array([0.0, 0.0, 0.25, 0.5, 1.0, 1.0, 1.0]), "threshold": 15.0,
        "size95": 21.75, "injection": "hole", "unit": "%"}),
    "banding_per_file": ("banding_residual_ratio", lambda: {"per_file": {
        "jw01234001001_01101_00001_nrs1_rate.fits": (0.031, 0.004),
        "jw01234001001_01101_00001_nrs2_rate.fits": (0.027, 0.005),
        "jw01234001001_01101_00002_nrs1_rate.fits": (0.029, 0.003)}}),
}
"""Baseline name -> (metric, its plot data): every figure kind, and the variants of two."""


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_figure_matches_its_baseline(name: str, tmp_path: Path) -> None:
    metric, plot = PLOTS[name]
    assert_matches_baseline(figure_png(metric, f"NS-IFU0x {metric} — dataset", plot()), name,
                            tmp_path)


def _lines(n_extra: int = 0) -> list[PowerLine]:
    lines = [
        PowerLine("NS-IFU04", "test_aperture_on_source", "extraction_offset", 30.0,
                  "extraction at the target", PowerCell("fix", 6.2, "mas", "pass"),
                  PowerCell("broken", 150.0, "mas", "fail"), "yes"),
        PowerLine("NS-IFU04", "test_aperture_on_source", "extraction_flux_loss", 2.0,
                  "extraction at the target", PowerCell("fix", 0.1, "%", "pass"),
                  PowerCell("broken", 0.5, "%", "pass"), "no"),
        PowerLine("NS-IFU04", "test_centroid_recovers_true_position", "centroid_vs_truth", 10.0,
                  "extraction at the target", PowerCell("fix", 1.2, "mas", "pass"), None,
                  "not targeted"),
        PowerLine("NS-IFU01", "test_cosmic_rays_caught", "cosmic_ray_recall", 90.0, "no jump",
                  PowerCell("fix", None, "", "skip"), PowerCell("broken"), "unknown",
                  sense="min")]
    return lines + [PowerLine("NS-IFU02", "test_x", f"metric_{i}", 1.0, "d",
                              PowerCell("fix", 0.5, "%", "pass"), None, "not targeted")
                    for i in range(n_extra)]


def test_power_matrix_figure_matches_its_baseline(tmp_path: Path) -> None:
    assert_matches_baseline(power_matrix_png(_lines()), "power_matrix", tmp_path)


def test_power_matrix_figure_grows_a_row_per_line() -> None:
    import struct

    def height(png: bytes) -> int:
        return struct.unpack(">II", png[16:24])[1]

    grown = height(power_matrix_png(_lines(6))) - height(power_matrix_png(_lines()))
    assert abs(grown - 6 * 0.34 * 80) <= 1  # 0.34 inch per line at 80 dpi


def test_the_comparison_fails_when_a_figure_changes(tmp_path: Path) -> None:
    """Without its band-passed curve, or with another title, the wiggle figure no longer
    matches its baseline (the tolerance is tighter than a one-character change)."""
    if GENERATE:
        pytest.skip("generating baselines")
    metric, plot = PLOTS["spectral_residual"]
    no_band = {k: v for k, v in plot().items() if k != "wiggle"}
    for png in (figure_png(metric, f"NS-IFU0x {metric} — dataset", no_band),
                figure_png(metric, f"NS-IFU0x {metric} — datasef", plot()),
                figure_png("flux_vs_spaxel_scale", "t", PLOTS["spaxel_scale_summary"][1]())):
        with pytest.raises(AssertionError, match="differs from its baseline"):
            assert_matches_baseline(png, "spectral_residual", tmp_path)


def test_figures_are_deterministic() -> None:
    metric, plot = PLOTS["flag_recall"]
    assert figure_png(metric, "t", plot()) == figure_png(metric, "t", plot())


# ------------------------------------------------------------------ the registry


def _produced_metric_names() -> set[str]:
    """Metric names the metrics and evaluations can produce, read from their source: the
    name argument of ``MetricResult(...)``, ``metric="..."`` arguments and defaults, and
    ``result.metric = "..."`` renames."""
    names: set[str] = set()
    from ifuqa.recovery import TARGETS

    kinds = [t.injection for t in TARGETS]
    for path in [*(PACKAGE / "metrics").rglob("*.py"), *(PACKAGE / "evaluate").glob("*.py"),
                 *(PACKAGE / "recovery").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if (called == "MetricResult" and len(node.args) > 1
                        and isinstance(node.args[1], ast.Constant)):
                    names.add(node.args[1].value)
                elif (called == "MetricResult" and len(node.args) > 1
                      and isinstance(node.args[1], ast.JoinedStr)):  # f"<prefix>_{injection}"
                    prefix = node.args[1].values[0].value
                    names |= {f"{prefix}{kind}" for kind in kinds}
                names |= {kw.value.value for kw in node.keywords if kw.arg == "metric"
                          and isinstance(kw.value, ast.Constant)}
            elif isinstance(node, ast.Assign):
                if any(isinstance(t, ast.Attribute) and t.attr == "metric"
                       for t in node.targets) and isinstance(node.value, ast.Constant):
                    names.add(node.value.value)
            elif isinstance(node, ast.FunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = ([None] * (len(node.args.args) - len(node.args.defaults))
                            + node.args.defaults + node.args.kw_defaults)
                names |= {d.value for a, d in zip(args, defaults, strict=True)
                          if a.arg == "metric" and isinstance(d, ast.Constant)}
    return names


def test_every_metric_has_a_figure_or_is_figureless_on_purpose() -> None:
    produced = _produced_metric_names()
    assert {"wiggle_amplitude", "spaxel_wiggle_amplitude", "cosmic_ray_recall",
            "centroid_vs_truth", "outlier_recall"} <= produced  # the scan finds every form
    with_figure = set(registered_figures())
    assert not with_figure & set(FIGURELESS)
    assert produced - with_figure - set(FIGURELESS) == set(), "metric without figure or reason"
    assert (with_figure | set(FIGURELESS)) - produced == set(), "no metric has this name"
    assert all(FIGURELESS.values())


def test_injection_kinds_match_the_recovery_targets() -> None:
    from ifuqa.recovery import TARGETS
    from ifuqa.report.figures import INJECTION_KINDS

    assert set(INJECTION_KINDS) == {t.injection for t in TARGETS}


def test_every_figure_kind_has_a_baseline() -> None:
    drawn = {registered_figures()[metric] for metric, _ in PLOTS.values()}
    assert drawn == set(registered_figures().values())


@pytest.mark.parametrize(("metric", "plot"), [
    ("no_such_metric", PLOTS["spectral_residual"][1]()),  # not registered
    ("centroid_vs_truth", {}),  # figure-less on purpose
    ("wiggle_amplitude", {}),  # not measured: no plot data
    ("extraction_offset", {"image": _gauss()}),  # a key the figure needs is missing
])
def test_a_metric_without_a_figure_gets_none(metric: str, plot: dict) -> None:
    assert figure_png(metric, "t", plot) is None


def test_a_metric_has_one_figure() -> None:
    with pytest.raises(ValueError, match="already has a figure"):
        figure_for("wiggle_amplitude")(lambda p: None)
    with pytest.raises(ValueError, match="figure-less"):
        figure_for("centroid_vs_truth")(lambda p: None)
    assert registered_figures()["wiggle_amplitude"] == "spectral_residual"


def test_drawing_neither_imports_pyplot_nor_switches_the_backend() -> None:
    """A user's interactive backend stays selected; pyplot is never imported."""
    code = ("import sys, matplotlib\nmatplotlib.use('svg')\n"
            "from tests.test_report_figures import PLOTS, _lines\n"
            "from ifuqa.report.figures import figure_png, power_matrix_png\n"
            "assert all(figure_png(m, 't', p()) for m, p in PLOTS.values())\n"
            "assert power_matrix_png(_lines())\n"
            "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent).stdout
    assert out.split() == ["svg", "False"]
