"""The HTML report, rendered by a real browser (headless Chromium).

pytest-html builds its results table with JavaScript, so the test checks the DOM Chromium
renders, not the file's text. Skips (with the reason) where Chromium is not installed; `.ci/run`
installs Debian's ``chromium`` package.
"""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests._builds import cache_root

REPORTS = Path(__file__).resolve().parents[1] / "reports"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--virtual-time-budget=15000"]


@pytest.fixture(scope="module")
def report(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of three known issues' checks on one scenario with the power matrix (its
    NS-IFU02 row: the defect dataset shares the cache with tests/test_power_matrix.py), made
    under xdist (-n 2)."""
    out = tmp_path_factory.mktemp("report") / "ifuqa-report.html"
    cache = cache_root(pytestconfig)
    proc = subprocess.run(
        ["python3" if shutil.which("python3") else "python", "-m", "pytest", "--ifuqa",
         "--ifuqa-scenario=bright_point_g395h", f"--ifuqa-cache={cache}", "-n", "2",
         "--ifuqa-power-matrix", "-m", "ns_ifu02 or ns_ifu04 or ns_ifu06", f"--html={out}",
         "--self-contained-html",
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


def _dom(report: Path) -> str:
    return subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", report.as_uri()],
                          capture_output=True, text=True, check=True, timeout=120).stdout


def _png_size(data_uri: str) -> tuple[int, int]:
    png = base64.b64decode(data_uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                              "(Debian packages chromium, chromium-driver)")
def test_report_renders_power_matrix_and_per_scale_figure_in_chromium(report: Path) -> None:
    dom = _dom(report)
    section = re.search(r'<h2 id="ifuqa-power">.*?</table>', dom, re.S)
    assert section, "no power-matrix section in the rendered page"
    table = section.group(0)
    assert "bright_point_g395h[NS-IFU02]" in table
    cells = re.findall(r'<td class="(ifuqa-[a-z-]+)"[^>]*>([^<]*)</td>', table)
    assert ("ifuqa-power-yes", "yes") in cells  # measured: fails with the defect
    assert any(k == "ifuqa-fail" and v.endswith("% fail") for k, v in cells)
    assert any(k == "ifuqa-pass" and v.endswith("% pass") for k, v in cells)
    figure = re.search(r'<img id="ifuqa-power-matrix-figure"[^>]*src="(data:image/png[^"]+)"',
                       dom)
    assert figure and _png_size(figure.group(1))[0] == 640
    # pytest-html's media viewer shows each test's figures with their names: the spaxel-scale
    # figure is the two-panel per-scale one (608 px wide), not the one-panel fallback
    media = re.findall(r'<img src="(data:image/png;base64,[^"]+)">.*?'
                       r'<div class="media__name">([^<]*)</div>', dom, re.S)
    scale = [uri for uri, name in media if name == "flux_vs_spaxel_scale"]
    assert len(scale) == 2, [name for _, name in media]  # with the fix and with the defect
    assert all(_png_size(uri)[0] == 608 for uri in scale)
    # the defect dataset is in the power matrix only, not in the summary matrix
    summary = re.search(r'id="ifuqa-summary-matrix".*?</table>', dom, re.S).group(0)
    assert "bright_point_g395h" in summary and "[NS-IFU02]" not in summary
