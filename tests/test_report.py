"""Report figures and tables: which figure a metric's own plot data select, the HTML tables
rendered from the templates (with dict or Record records), the compare page, and the power
matrix (fast, no builds). The figures' look is compared with baselines in
tests/test_report_figures.py."""

from __future__ import annotations

import ast
import base64
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from ifuqa._pytest.parametrize import power_params
from ifuqa.builds.power_rows import POWER_ROWS, defect_spec, power_datasets
from ifuqa.evaluate.shipped_checks import checks_dir
from ifuqa.metrics.spectra import flux_scale_dependence
from ifuqa.report.compare_page import render_compare_page
from ifuqa.report.figures import figure_png, power_matrix_png
from ifuqa.report.html import (
    applicability_html,
    crosstalk_matrix_html,
    power_matrix_html,
    report_summary_html,
    summary_matrix_html,
)
from ifuqa.verdicts.compare import Row
from ifuqa.verdicts.power import PROBE_REASON, PowerRow, power_matrix
from ifuqa.verdicts.record import Record

ROWS = {row.issue: row for row in POWER_ROWS if not row.only}
"""Each issue's main row (a row with ``only`` adds power for named checks of its issue)."""


def _width(png: bytes) -> int:
    """Width in pixels of a PNG (from its header)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])[0]


def _scale_plot(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    wave = np.linspace(3.7, 4.0, 20)
    binned = {s: (wave, 1.0 + 0.002 * rng.standard_normal(wave.size) + k)
              for k, s in zip((0.0, 0.01, 0.02), (0.05, 0.1, 0.2), strict=True)}
    medians = {s: float(np.median(r)) for s, (_, r) in binned.items()}
    return flux_scale_dependence(medians, binned_by_scale=binned).plot


# ------------------------------------------------------------------ per-spaxel-scale figure


def test_scale_dependence_carries_binned_ratio_per_scale_and_keeps_its_value() -> None:
    wave = np.linspace(3.7, 4.0, 20)
    medians = {0.05: 1.0, 0.1: 1.01, 0.2: 1.02}
    binned = {0.05: (wave, np.full(20, 1.0)), 0.1: (wave[:15], np.full(15, 1.01)),
              0.2: (None, None)}
    with_bins = flux_scale_dependence(medians, binned_by_scale=binned)
    without = flux_scale_dependence(medians)
    assert with_bins.value == pytest.approx(without.value)  # the metric is unchanged
    assert with_bins.value == pytest.approx(0.02 / 1.01 * 100)
    assert "scale_bin_ratio" not in without.plot
    ratio = with_bins.plot["scale_bin_ratio"]
    assert ratio.shape == (3, 20)
    np.testing.assert_allclose(ratio[0], 1.0)
    assert np.isfinite(ratio[1, :15]).all() and np.isnan(ratio[1, 15:]).all()  # padded
    assert np.isnan(ratio[2]).all()  # a scale without bins keeps its row, empty
    np.testing.assert_allclose(with_bins.plot["scale_wavelength_um"][0], wave)


def test_per_scale_plot_data_select_the_two_panel_figure() -> None:
    plot = _scale_plot()
    png = figure_png("flux_vs_spaxel_scale", "NS-IFU02 flux_vs_spaxel_scale", plot)
    assert _width(png) == int(7.6 * 80)  # the two-panel per-scale figure, not the fallback
    legacy = {k: plot[k] for k in ("spaxel_arcsec", "ratio")}
    assert _width(figure_png("flux_vs_spaxel_scale", "t", legacy)) == int(6.4 * 80)


# ------------------------------------------------------------------ recall figure


def test_recall_carries_its_completeness_curve_and_draws_it() -> None:
    from ifuqa.metrics.flags import injected_outlier_recall

    rng = np.random.default_rng(2)
    significance = 10 ** rng.uniform(0, 4, 20_000)
    flagged = significance > 5.0  # a detector that catches everything above 5 sigma
    result = injected_outlier_recall(flagged, significance, np.ones_like(significance))
    assert result.value == 100.0
    by_bin = np.asarray(result.plot["recall_by_sigma_percent"])
    centres = np.sqrt(result.plot["sigma_edges"][:-1] * result.plot["sigma_edges"][1:])
    assert np.all(by_bin[centres < 3] == 0) and np.all(by_bin[centres > 8] == 100)
    assert int(np.sum(result.plot["pixels_by_sigma"])) == significance.size
    # the metric's plot data hold every key its registered figure needs
    png = figure_png("cosmic_ray_recall", "NS-IFU01 cosmic_ray_recall", result.plot)
    assert png is not None and _width(png) == int(6.4 * 80)


# ------------------------------------------------------------------ power matrix

def _rec(dataset: str, check: str, metric: str, value: float | None, verdict: str,
         issue: str = "NS-IFU04", unit: str = "mas", threshold: float = 30.0) -> dict:
    return {"issue": issue, "check": check, "dataset": dataset, "metric": metric,
            "value": value, "unit": unit, "threshold": threshold, "verdict": verdict,
            "message": f"{metric} on {dataset}", "sense": "max"}


FIX, BROKEN = "pointing_offset_g395h", "pointing_offset_g395h[NS-IFU04]"
LAYOUT = [(ROWS["NS-IFU04"], FIX, BROKEN)]


def _records(defect_verdict: str = "fail") -> list[dict]:
    defect_value = 150.0 if defect_verdict == "fail" else 12.0
    return [
        _rec(FIX, "test_aperture_on_source", "extraction_offset", 6.2, "pass"),
        _rec(BROKEN, "test_aperture_on_source", "extraction_offset", defect_value,
             defect_verdict),
        _rec(FIX, "test_centroid_recovers_true_position", "centroid_vs_truth", 0.1, "pass"),
        _rec("other_dataset", "test_aperture_on_source", "extraction_offset", 900.0, "fail"),
        _rec(FIX, "test_no_hole_at_psf_peak", "psf_peak_hole_depth", 0.0, "pass",
             issue="NS-IFU01", unit="%"),
    ]


def test_power_matrix_has_power_when_defect_fails_and_fix_passes() -> None:
    lines = power_matrix(_records(), LAYOUT)
    assert [(x.check, x.power, x.kind) for x in lines] == [
        ("test_aperture_on_source", "yes", "target"),
        ("test_centroid_recovers_true_position", "not targeted", "exempt"),
        ("test_no_hole_at_psf_peak", "not targeted", "probe")]  # another issue's, not run there
    offset = lines[0]
    assert (offset.fix.value, offset.fix.verdict) == (6.2, "pass")
    assert (offset.broken.value, offset.broken.verdict) == (150.0, "fail")
    assert offset.broken.text() == "150 mas fail"
    assert lines[1].broken is None and "centroid" in lines[1].note


def test_a_defect_dataset_whose_check_passes_is_reported_without_power() -> None:
    lines = power_matrix(_records(defect_verdict="pass"), LAYOUT)
    assert lines[0].power == "no"
    page = power_matrix_html(lines)
    assert "class='ifuqa-power-no'" in page
    assert "0 of 1 targeted metrics have power" in page


@pytest.mark.parametrize(("fix", "broken", "power"), [
    ("fail", "fail", "no"), ("skip", "fail", "unknown"), ("pass", "error", "unknown"),
    ("pass", None, "unknown")])
def test_power_needs_both_verdicts(fix: str, broken: str | None, power: str) -> None:
    recs = [_rec(FIX, "test_aperture_on_source", "extraction_offset", 1.0, fix)]
    if broken:
        recs.append(_rec(BROKEN, "test_aperture_on_source", "extraction_offset", 1.0, broken))
    assert power_matrix(recs, LAYOUT)[0].power == power


def test_power_matrix_html_cells_carry_verdicts_values_and_units() -> None:
    lines = power_matrix(_records(), LAYOUT)
    png = power_matrix_png(lines)
    page = power_matrix_html(lines, png=png)
    assert page.count('id="ifuqa-power-matrix"') == 1
    cells = re.findall(r"<td class='(ifuqa-[a-z-]+)'[^>]*>([^<]*)</td>", page)
    assert ("ifuqa-pass", "6.2 mas pass") in cells
    assert ("ifuqa-fail", "150 mas fail") in cells
    assert ("ifuqa-power-yes", "yes") in cells
    assert ("ifuqa-power-not-targeted", "not targeted") in cells
    assert "≤ 30 mas" in page  # the limit with its unit
    embedded = re.search(r'id="ifuqa-power-matrix-figure"[^>]*src="data:image/png;base64,'
                         r'([^"]+)"', page)
    assert embedded and base64.b64decode(embedded.group(1)) == png


def test_cross_talk_is_counted_and_shown_in_the_grid() -> None:
    """Another issue's check failing on the NS-IFU04 defect while passing with the fix is a
    cross-talk cell: counted in the summary sentence, listed in the table, coloured in the
    check × defect dataset grid; one passing there is only in the grid, as clean."""
    recs = [
        *_records(),
        _rec(FIX, "test_spectrum_free_of_undulation", "undulation_amplitude", 0.6, "pass",
             issue="NS-IFU03", unit="%", threshold=5.0),
        _rec(BROKEN, "test_spectrum_free_of_undulation", "undulation_amplitude", 7.6, "fail",
             issue="NS-IFU03", unit="%", threshold=5.0),
        _rec(BROKEN, "test_no_hole_at_psf_peak", "psf_peak_hole_depth", 0.5, "pass",
             issue="NS-IFU01", unit="%", threshold=10.0)]
    lines = power_matrix(recs, LAYOUT)
    assert {(x.check, x.power) for x in lines if x.kind == "probe"} == {
        ("test_spectrum_free_of_undulation", "cross-talk"), ("test_no_hole_at_psf_peak", "clean")}
    page = power_matrix_html(lines)
    assert "1 of 1 targeted metrics have power" in page and "1 cross-talk cells" in page
    assert page.count("class='ifuqa-power-cross-talk'") == 1
    assert "ifuqa-power-clean" not in page  # clean probes: in the grid only
    grid = crosstalk_matrix_html(lines)
    assert f"{BROKEN} (defect of NS-IFU04)" in grid
    assert grid.count("class='ifuqa-power-cross-talk'") == 1
    assert grid.count("class='ifuqa-power-clean'") == 1
    assert "7.6 % fail<br><b>cross-talk</b>" in grid


def test_power_matrix_png_is_embedded_only_when_given() -> None:
    lines = power_matrix(_records(), LAYOUT)
    assert "ifuqa-power-matrix-figure" not in power_matrix_html(lines)


# ------------------------------------------------------------------ tables from templates


def test_summary_matrix_is_the_same_from_dicts_and_records() -> None:
    dicts = _records()
    records = [Record(**d) for d in dicts]
    page = summary_matrix_html(dicts)
    assert summary_matrix_html(records) == page
    assert page.count('id="ifuqa-summary-matrix"') == 1
    cells = re.findall(r"<td class='ifuqa-([a-z]+)' title='[a-z]+'[^>]*>(.*?)</td>", page)
    # NS-IFU04 on the defect dataset: the worst verdict of its records, each metric listed
    assert ("fail", "extraction_offset: 150 mas (limit 30) fail") in cells
    assert ("pass", "extraction_offset: 6.2 mas (limit 30) pass<br>centroid_vs_truth: 0.1 mas "
                    "(limit 30) pass") in cells
    assert page.count("<td style='padding:4px'>–</td>") == 2  # NS-IFU01 on 2 datasets


def test_tables_escape_what_they_show() -> None:
    rec = _rec("<script>x</script>", "test_aperture_on_source", "extraction_offset", None,
               "skip")
    page = summary_matrix_html([rec])
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    table = applicability_html({"obs1": {"NS-IFU01": {"status": "at risk",
                                                      "reason": "it's <jwst> 'old'"}}})
    assert "ifuqa-app-at-risk" in table and "<jwst>" not in table
    assert "title='it&#39;s &lt;jwst&gt; &#39;old&#39;'" in table  # a quote cannot end title


def test_report_summary_says_what_was_and_was_not_measured() -> None:
    records = _records()
    apps = {FIX: {"NS-IFU04": {"status": "affected", "reason": "why"}}}
    off = report_summary_html(records, apps, power_option="--ifuqa-power-matrix")
    assert "id='ifuqa-power-off'" in off and "<code>--ifuqa-power-matrix</code>" in off
    assert off.index("ifuqa-summary-matrix") < off.index("ifuqa-power-off") < off.index(
        "ifuqa-applicability")
    assert "ifuqa-power" not in report_summary_html(records, {}).replace(
        "ifuqa-power-", "")  # a user's data: no power matrix, no suggestion
    lines = power_matrix(records, LAYOUT)
    on = report_summary_html(records, {}, power_lines=lines, power_has_rows=True)
    section = re.search(r'<h2 id="ifuqa-power">.*?</table>', on, re.S)
    assert section and "class='ifuqa-power-yes'" in section.group(0)
    assert 'id="ifuqa-power-matrix-figure"' in on and "ifuqa-power-off" not in on
    assert "no scenario of this run has a defect row" in report_summary_html(
        [], {}, power_lines=[], power_has_rows=False)
    assert "no check of its rows ran" in report_summary_html(
        [], {}, power_lines=[], power_has_rows=True)
    assert report_summary_html([], {}).strip() == ""


def test_templates_are_package_data() -> None:
    from importlib.resources import files

    templates = files("ifuqa.report") / "templates"
    names = {p.name for p in templates.iterdir()}
    assert {"summary_matrix.html.j2", "applicability.html.j2", "power_matrix.html.j2",
            "report_summary.html.j2", "compare_page.html.j2"} <= names


# ------------------------------------------------------------------ ifuqa compare --html


def _rows() -> list[Row]:
    return [Row("regressed", "NS-IFU05", "test_wiggles", "alpha", "wiggle_amplitude", "%", 0.4,
                0.9, 0.5, 0.05, "ns_ifu05.wiggle_amplitude: ±0.05 %"),
            Row("new", "NS-IFU06", "test_drift", "<beta>", "centroid_drift", "mas", None, 3.0,
                None, None, "ns_ifu06.centroid_drift: ±2 mas"),
            Row("same", "NS-IFU01", "test_flags", "alpha", "psf_core_flagged", "", 0.0, 0.0, 0.0,
                1.0, "default")]


def test_compare_page_shows_both_runs_and_every_row() -> None:
    a = {"versions": {"jwst": "1.18.0", "crds_context": "jwst_1322.pmap", "other": "x"}}
    page = render_compare_page(_rows(), a, {}, ("runs/a.json", "runs/b.json"))
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page  # self-contained
    assert "A (reference): runs/a.json — jwst 1.18.0, crds_context jwst_1322.pmap" in page
    assert "B: runs/b.json — unknown" in page
    assert "1 regressed, 0 lost, 0 improved, 1 same, 0 gained, 0 skipped, 1 new, 0 missing" in page
    assert page.count("<tr class=") == 3 and "<tr class='regressed'>" in page
    cells = re.findall(r"<td class='num'>([^<]*)</td>", page)
    assert cells[:4] == ["0.4 %", "0.9 %", "+0.5 (+125.0 %)", "±0.05 %"]
    assert cells[4:8] == ["-", "3 mas", "-", "-"]
    assert "&lt;beta&gt;" in page and "<beta>" not in page


def test_compare_page_reads_rows_as_objects_or_mappings() -> None:
    from dataclasses import asdict

    rows = _rows()
    names = ("a", "b")
    assert render_compare_page([asdict(r) for r in rows], {}, {}, names) == render_compare_page(
        rows, {}, {}, names)


# ------------------------------------------------------------------ which checks run where


def test_power_params_run_every_check_on_every_defect_dataset() -> None:
    rows = {BROKEN: ROWS["NS-IFU04"]}
    params = [(FIX, "fixed-handle"), (BROKEN, "broken-handle")]
    kept = power_params("test_aperture_on_source", {"NS-IFU04"}, params, rows)
    assert kept[0] == (FIX, "fixed-handle")
    label, param = kept[1]
    assert label == BROKEN and param.values == ("broken-handle",)
    (mark,) = param.marks
    assert mark.name == "xfail" and mark.kwargs["strict"] is True
    assert mark.kwargs["raises"] is pytest.fail.Exception
    # every other check runs there too, as a cross-talk probe: non-strict xfail on a failed
    # metric (its pass a plain pass, see ifuqa._pytest.power_hooks), any other exception fails
    for check, issue, why in (("test_centroid_recovers_true_position", "NS-IFU04", "exempt: "),
                              ("test_banding_removed", "NS-IFU03", "")):
        probe = power_params(check, {issue}, params, rows)
        assert probe[0] == (FIX, "fixed-handle")
        label, param = probe[1]
        assert label == BROKEN and param.values == ("broken-handle",)
        (mark,) = param.marks
        assert mark.name == "xfail" and mark.kwargs["strict"] is False
        assert mark.kwargs["raises"] is pytest.fail.Exception
        assert mark.kwargs["reason"].startswith(f"{PROBE_REASON} on {BROKEN}")
        assert (why in mark.kwargs["reason"]) if why else "exempt" not in mark.kwargs["reason"]


def _shipped_checks() -> dict[str, set[str]]:
    """Known issue -> check function names in checks/ (from the modules' markers)."""
    out: dict[str, set[str]] = {}
    for path in checks_dir().glob("test_ns_ifu0*.py"):
        issue = "NS-IFU0" + path.name[len("test_ns_ifu0")]
        tree = ast.parse(path.read_text())
        out[issue] = {n.name for n in tree.body
                      if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return out


def test_every_issue_has_a_row_with_targets_and_real_exemptions() -> None:
    shipped = _shipped_checks()
    assert set(ROWS) == set(shipped) == {f"NS-IFU0{i}" for i in range(1, 7)}
    assert {row.issue for row in POWER_ROWS} == set(ROWS)
    for issue, row in ROWS.items():
        exempt = {check for check, _ in row.exempt}
        assert exempt <= shipped[issue], f"{issue}: unknown exempt check {exempt}"
        assert shipped[issue] - exempt, f"{issue}: no check is expected to fail"
        assert all(reason for _, reason in row.exempt)
    for row in POWER_ROWS:
        assert set(row.only) <= shipped[row.issue], f"{row.issue}: unknown check {row.only}"


def test_a_check_exempt_from_its_main_row_is_targeted_elsewhere_or_says_why_not() -> None:
    """The cosmic-ray check needs a ramp-simulated scene: the main NS-IFU01 row exempts it and
    the second NS-IFU01 row targets it, and only it."""
    extra = [row for row in POWER_ROWS if row.only]
    assert [(row.issue, row.only) for row in extra] == [("NS-IFU01", ("test_cosmic_rays_caught",))]
    row = extra[0]
    assert row.targets_check("test_cosmic_rays_caught", "NS-IFU01")
    assert not row.targets_check("test_no_hole_at_psf_peak", "NS-IFU01")
    assert not ROWS["NS-IFU01"].targets_check("test_cosmic_rays_caught", "NS-IFU01")
    params = [("fixed", "f"), ("cosmic_rays_2groups", "d")]
    kept = power_params("test_no_hole_at_psf_peak", {"NS-IFU01"}, params,
                        {"cosmic_rays_2groups": row})
    assert kept[0] == ("fixed", "f")  # and a probe on the 2-group dataset, not a target:
    assert kept[1][1].marks[0].kwargs["strict"] is False
    recs = [dict(issue="NS-IFU01", check=c, dataset=d, metric=m, value=v, unit="%",
                 threshold=90.0, verdict=x, message="")
            for c, m in (("test_cosmic_rays_caught", "cosmic_ray_recall"),
                         ("test_outliers_caught", "warm_pixel_recall"))
            for d, v, x in (("fixed", 100.0, "pass"), ("broken", 1.5, "fail"))]
    lines = power_matrix(recs, [(row, "fixed", "broken")])
    # the issue's other checks are probes there: one failing with this defect is cross-talk
    assert [(line.check, line.power, line.kind) for line in lines] == [
        ("test_cosmic_rays_caught", "yes", "target"),
        ("test_outliers_caught", "cross-talk", "probe")]


def test_power_datasets_follow_the_selected_scenarios(tmp_path: Path) -> None:
    chosen = power_datasets(["pointing_offset_g395h", "drift_point_g235m"], tmp_path)
    assert [row.issue for row, _ in chosen] == ["NS-IFU04", "NS-IFU06"]
    (_, offset), (_, drift) = chosen
    assert offset.defects == ("NS-IFU04",) and offset.label == "pointing_offset_g395h[NS-IFU04]"
    assert drift.label == "drift_20mas" and drift.defects == ()
    from ifuqa.scenario import load_scenario

    scenario = load_scenario(drift.scenario)
    assert list(scenario.sources[0].drift_mas) == [12.0, 16.0]  # 20 mas over the band
    assert power_datasets(["extended_g235h"], tmp_path) == []


def test_a_row_spec_is_stable(tmp_path: Path) -> None:
    row = PowerRow("NS-IFU06", "drift_point_g235m", "drift", variant=(
        ("source_drift_mas", [24.0, 32.0]),), variant_name="v")
    first = defect_spec(row, tmp_path)
    mtime = (tmp_path / "variants" / "v.toml").stat().st_mtime_ns
    assert defect_spec(row, tmp_path) == first
    assert (tmp_path / "variants" / "v.toml").stat().st_mtime_ns == mtime  # not rewritten
