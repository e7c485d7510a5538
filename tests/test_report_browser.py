"""The HTML report, rendered by a real browser (headless Chromium).

pytest-html builds its results table with JavaScript, so the test checks the DOM Chromium
renders, not the file's text. Skips (with the reason) where Chromium is not installed; `.ci/run`
installs Debian's ``chromium`` package.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests._builds import cache_root

REPORTS = Path(__file__).resolve().parents[1] / "reports"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--virtual-time-budget=15000"]


@pytest.fixture(scope="module")
def report(pytestconfig, tmp_path_factory) -> Path:
    """A report of two checks on one scenario, made under xdist (-n 2)."""
    out = tmp_path_factory.mktemp("report") / "ifuqa-report.html"
    cache = cache_root(pytestconfig)
    proc = subprocess.run(
        ["python3" if shutil.which("python3") else "python", "-m", "pytest", "--ifuqa",
         "--ifuqa-scenario=bright_point_g395h", f"--ifuqa-cache={cache}", "-n", "2",
         "-m", "ns_ifu04 or ns_ifu06", f"--html={out}", "--self-contained-html",
         "-p", "no:cacheprovider", "-q"],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_report_is_small_and_self_contained(report: Path) -> None:
    assert report.stat().st_size < 20 * 1024**2
    text = report.read_text()
    assert "ifuqa-summary-matrix" in text
    assert "data:image/png;base64" in text or "image/png" in text


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                              "(Debian packages chromium, chromium-driver)")
def test_report_renders_matrix_and_plots_in_chromium(report: Path) -> None:
    dom = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", report.as_uri()],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert 'id="ifuqa-summary-matrix"' in dom
    assert "NS-IFU04" in dom and "NS-IFU06" in dom
    assert "bright_point_g395h" in dom
    # pytest-html's JavaScript has filled the results table with the embedded figures
    assert dom.count("<img") >= 2, dom[:2000]
    assert "jwst" in dom and "stdatamodels" in dom  # environment table
    REPORTS.mkdir(exist_ok=True)
    shot = REPORTS / "ifuqa-report-screenshot.png"
    subprocess.run([CHROMIUM, *FLAGS, "--window-size=1400,1800", f"--screenshot={shot}",
                    report.as_uri()], capture_output=True, check=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000
