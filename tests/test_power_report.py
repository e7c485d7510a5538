"""``--ifuqa-power-matrix`` end to end: which tests run on defect datasets, and a check without
power failing the run and showing as such in the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests._builds import cache_root

OFFSET = "pointing_offset_g395h"


def test_ini_key_adds_the_defect_datasets_of_the_selected_scenarios(
        pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nifuqa_power_matrix = true\n")
    run = pytester.runpytest_subprocess("--ifuqa", f"--ifuqa-scenario={OFFSET}",
                                        "--collect-only", "-q", "-p", "no:cacheprovider")
    out = run.stdout.str()
    on_defect = re.findall(r"(test_ns_ifu0\d)\w*\.py::(test_\w+)\[pointing_offset_g395h"
                           r"\[NS-IFU04\]\]", out)
    on_fixed = re.findall(r"(test_ns_ifu0\d)\w*\.py::(test_\w+)\[pointing_offset_g395h\]", out)
    # every shipped check, of every issue, runs on the defect dataset (targets and probes)
    assert sorted(on_defect) == sorted(on_fixed)
    assert {module for module, _ in on_defect} == {f"test_ns_ifu0{i}" for i in range(1, 7)}
    assert ("test_ns_ifu04", "test_centroid_recovers_true_position") in on_defect  # exempt


def test_power_matrix_refuses_defect_runs(pytester: pytest.Pytester) -> None:
    run = pytester.runpytest_subprocess("--ifuqa", f"--ifuqa-scenario={OFFSET}",
                                        "--ifuqa-power-matrix", "--ifuqa-defect=NS-IFU04",
                                        "--collect-only", "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*--ifuqa-power-matrix*drop --ifuqa-defect*"])


def test_a_check_without_power_fails_the_run_and_is_reported(pytester: pytest.Pytester,
                                                            pytestconfig: pytest.Config,
                                                            tmp_path: Path) -> None:
    """Limits so loose that the NS-IFU04 defect passes: the defect dataset's check XPASSes
    (strict: the run fails) and the report's power matrix says "no"."""
    html, results = tmp_path / "report.html", tmp_path / "results.json"
    run = pytester.runpytest_subprocess(
        "--ifuqa", f"--ifuqa-scenario={OFFSET}", "--ifuqa-power-matrix",
        f"--ifuqa-cache={cache_root(pytestconfig)}", "-m", "ns_ifu04",
        "-k", "aperture_on_source", "--ifuqa-threshold=ns_ifu04.offset_mas=1000",
        "--ifuqa-threshold=ns_ifu04.flux_loss_percent=100", f"--html={html}",
        "--self-contained-html", f"--ifuqa-results={results}", "-p", "no:cacheprovider", "-rA")
    assert run.ret == 1
    assert (f"[XPASS(strict)] power matrix: must fail on {OFFSET}[NS-IFU04]"
            in run.stdout.str())
    outcomes = run.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed")) == (1, 1)  # fixed, defect
    records = json.loads(results.read_text())["records"]
    broken = [r for r in records if r["dataset"] == f"{OFFSET}[NS-IFU04]"]
    assert {r["verdict"] for r in broken} == {"pass"} and len(broken) == 2
    page = html.read_text()
    section = re.search(r'<h2 id="ifuqa-power".*?</table>', page, re.S)
    assert section, "no power-matrix section in the report"
    powers = re.findall(r"<td class='ifuqa-power-([a-z-]+)'", section.group(0))
    assert powers == ["no", "no"]
    assert "0 of 2 targeted metrics have power" in section.group(0)
    assert re.search(r'<img id="ifuqa-power-matrix-figure"[^>]*src="data:image/png;base64,',
                     page)
    # the defect dataset is not a column of the known issue × dataset summary
    summary = re.search(r'id="ifuqa-summary-matrix".*?</table>', page, re.S).group(0)
    assert "NS-IFU04]" not in summary


def test_report_says_when_the_power_matrix_was_not_measured(pytester: pytest.Pytester,
                                                            tmp_path: Path) -> None:
    """A synthetic run without --ifuqa-power-matrix says so in the report (no build needed:
    every check is deselected)."""
    report = tmp_path / "report.html"
    run = pytester.runpytest_subprocess("--ifuqa", "--ifuqa-scenario=prism_point",
                                        "-k", "no_such_check", f"--html={report}",
                                        "--self-contained-html", "-p", "no:cacheprovider")
    assert run.ret in (0, 5)
    text = report.read_text()
    assert "ifuqa-power-off" in text and "--ifuqa-power-matrix" in text
