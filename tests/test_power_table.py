"""tools/power_table.py: the synthetic power matrix as Markdown, from a results file."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "power_table.py"


def _tool():
    spec = importlib.util.spec_from_file_location("power_table", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(dataset, value, verdict, check="test_no_hole_at_psf_peak",
            metric="psf_peak_hole_depth"):
    """A results-file record of an NS-IFU01 metric (other issues: override ``issue``)."""
    return {"issue": "NS-IFU01", "check": check, "dataset": dataset, "metric": metric,
            "value": value, "uncertainty": 0.3, "unit": "%", "threshold": 10.0,
            "verdict": verdict}


def _defect_label():
    from ifuqa.builds.power_rows import POWER_ROWS, defect_spec

    row = next(r for r in POWER_ROWS if r.issue == "NS-IFU01"
               and r.scenario == "bright_point_g395h")
    with tempfile.TemporaryDirectory() as tmp:
        return defect_spec(row, Path(tmp)).label


@pytest.mark.parametrize(("defect_value", "defect_verdict", "power"),
                         [(17.0, "fail", "| yes |"), (4.0, "pass", "| **no** |")])
def test_power_follows_the_verdicts(defect_value, defect_verdict, power):
    records = [_record("bright_point_g395h", 2.0, "pass"),
               _record(_defect_label(), defect_value, defect_verdict)]
    table = _tool().power_table(records)
    line, = [x for x in table.splitlines() if "psf_peak_hole_depth" in x and " → " in x]
    assert line.endswith(power)
    assert "2 ± 0.3 % pass" in line and f"{defect_value:g} ± 0.3 % {defect_verdict}" in line
    cell, = [x for x in table.splitlines() if "psf_peak_hole_depth" in x and " → " not in x]
    assert f"| {defect_value:g} ± 0.3 % {defect_verdict} · " in cell  # the cross-talk grid


def test_another_issues_check_failing_a_defect_is_cross_talk():
    """The grid shows a check that fails on another issue's defect dataset while passing with
    the fix as CROSS-TALK, and lists it with both values; one the row declares with a physical
    reason (NS-IFU02's flux on the NS-IFU01 hole) as expected cross-talk; one that passes
    there is clean."""
    defect = _defect_label()
    flux = {"check": "test_extracted_flux_matches_truth", "metric": "flux_ratio_deviation"}
    wiggle = {"check": "test_extracted_spectrum_has_no_wiggles", "metric": "wiggle_amplitude"}
    records = [_record("bright_point_g395h", 2.0, "pass"), _record(defect, 17.0, "fail"),
               {**_record("bright_point_g395h", 0.5, "pass", **flux), "issue": "NS-IFU02"},
               {**_record(defect, 25.0, "fail", **flux), "issue": "NS-IFU02"},
               {**_record("bright_point_g395h", 0.1, "pass", **wiggle), "issue": "NS-IFU05"},
               {**_record(defect, 9.0, "fail", **wiggle), "issue": "NS-IFU05"},
               {**_record("bright_point_g395h", 0.1, "pass", check="test_centroid_drift",
                          metric="centroid_drift"), "issue": "NS-IFU06"},
               {**_record(defect, 0.2, "pass", check="test_centroid_drift",
                          metric="centroid_drift"), "issue": "NS-IFU06"}]
    table = _tool().power_table(records)
    wiggle_cell, = [x for x in table.splitlines() if x.startswith("| NS-IFU05 | `test_extracted")]
    assert "| 9 ± 0.3 % fail · **CROSS-TALK** |" in wiggle_cell
    flux_cell, = [x for x in table.splitlines() if x.startswith("| NS-IFU02 | `test_extracted")]
    assert "| 25 ± 0.3 % fail · expected cross-talk |" in flux_cell
    drift_cell, = [x for x in table.splitlines() if x.startswith("| NS-IFU06 |")]
    assert "| 0.2 ± 0.3 % pass · clean |" in drift_cell
    listed = [x for x in table.splitlines() if x.startswith("- **CROSS-TALK**")]
    assert listed == [f"- **CROSS-TALK**: NS-IFU05 `test_extracted_spectrum_has_no_wiggles` · "
                      f"wiggle_amplitude on `{defect}`: 9 ± 0.3 % fail (with the fix "
                      f"0.1 ± 0.3 % pass)"]
    assert not any("NS-IFU02" in x and " → " in x for x in table.splitlines())  # not its row


def test_an_unreadable_results_file_is_named(tmp_path, capsys):
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    assert _tool().main([str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err


def test_rows_without_their_datasets_are_left_out(tmp_path, capsys):
    good = tmp_path / "results.json"
    good.write_text(json.dumps({"records": [_record("bright_point_g395h", 2.0, "pass")]}))
    assert _tool().main([str(good)]) == 0
    assert capsys.readouterr().out.count("\n") == 2  # the header only
