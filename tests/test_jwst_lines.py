"""The two jwst release lines (2.0.x, 3.0.x): the installed line is chosen, its API checked, and
the per-line reproductions agree with the installed jwst's own code.

Runs on whichever line is installed (CI runs it under both: ``.ci/run``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

import ifuqa.process.jwst_api as jwst_api
from ifuqa.process.jwst_api import (
    JWST_COMPATIBLE,
    LINES,
    JwstApiError,
    check_jwst_api,
    jwst_line,
    jwst_version,
)
from ifuqa.process.jwst_api._api import verify_signatures
from ifuqa.process.jwst_api._lines import line_module, line_of
from ifuqa.process.jwst_api.adaptive_trace_model import trace_model_oversample, trace_region_peak
from ifuqa.process.jwst_api.extract_1d import ifu_autocenter

REPO = Path(__file__).resolve().parent.parent
PER_LINE = ("adaptive_trace_model", "extract_1d")
OTHER = {"2.0": "3.0", "3.0": "2.0"}

# ----------------------------------------------------------------------------- which line


def test_versions_map_to_their_line():
    assert [line_of(v) for v in ("2.0.0", "2.0.1", "3.0.0", "3.0.2", "3.0.1rc1")] == [
        "2.0", "2.0", "3.0", "3.0", "3.0"]
    assert line_of("3.1.0") is None and line_of("1.20.2") is None and line_of("2.1.0") is None


def test_installed_line_is_the_installed_version():
    assert jwst_line() == line_of(jwst_version())
    assert jwst_line() in LINES


def test_compatible_range_is_the_union_of_the_lines():
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(JWST_COMPATIBLE)
    for version in ("2.0.0", "2.0.1", "3.0.0", "3.0.9"):
        assert version in spec and line_of(version) is not None
    assert "1.20.2" not in spec and "3.1.0" not in spec


@pytest.mark.skipif(not (REPO / "pyproject.toml").is_file(), reason="not a source checkout")
def test_pyproject_pins_the_tested_range():
    """The jwst range users install is the one the adapter is tested on."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    jwst = [d for d in deps if re.match(r"jwst\b", d)]
    assert jwst == [f"jwst{JWST_COMPATIBLE}"], jwst


def test_check_jwst_api_names_the_line():
    lines = check_jwst_api()
    assert f"checked against the {jwst_line()}.x line's API" in lines[0]


def test_version_outside_every_line_is_checked_against_the_installed_api(monkeypatch):
    """A candidate outside the tested range is reported OUTSIDE; the API checked is still the
    one the installed jwst has (its line is chosen from the installed package)."""
    monkeypatch.setattr(jwst_api, "jwst_version", lambda: "2.1.0")
    lines = check_jwst_api()
    assert "OUTSIDE" in lines[0] and f"{jwst_line()}.x" in lines[0]


@pytest.mark.parametrize("stage", PER_LINE)
def test_the_other_lines_api_is_not_what_is_installed(stage):
    """The per-line split is needed: the other line's declared API does not match the installed
    jwst (on 2.0.1 the 3.0 trace model gives the six problems check_jwst_api had before)."""
    other = line_module(stage, OTHER[jwst_line()])
    mine = line_module(stage)
    _, problems = verify_signatures(mine.REQUIRED_API)
    assert problems == []
    _, problems = verify_signatures(other.REQUIRED_API)
    behaviour = other.check_behaviour()[1] if hasattr(other, "check_behaviour") else []
    if stage == "adaptive_trace_model":
        assert len(problems) >= 4, problems
        assert behaviour, "the other line's fit_and_oversample fingerprint must not match"
    else:
        import inspect

        import jwst.extract_1d.ifu as jifu

        if jwst_line() == "2.0":  # 3.0's columns are not in photutils 2.x's table (KeyError)
            colnames = _daofind_table().colnames
            assert not set(other.centroid_columns()) <= set(colnames), colnames
        else:  # 3.0 reads x_centroid unconditionally: 2.0's photutils switch is gone
            source = inspect.getsource(jifu.extract_ifu)
            assert not all(f in source for f in other.AUTOCEN_CENTROID_FINGERPRINT)


def test_trace_model_fingerprint_catches_a_change(monkeypatch):
    import inspect

    import jwst.adaptive_trace_model.trace_model as tm

    real = inspect.getsource

    def fake_getsource(obj):
        src = real(obj)
        if obj is tm.fit_and_oversample:
            src = src.replace("threshold = overall_mean + fit_threshold * overall_rms",
                              "threshold = overall_mean + 2 * fit_threshold * overall_rms")
        return src

    monkeypatch.setattr(inspect, "getsource", fake_getsource)
    with pytest.raises(JwstApiError, match="fit_and_oversample"):
        check_jwst_api()


def test_line_module_rejects_an_unknown_line():
    with pytest.raises(ValueError, match="tested lines"):
        line_module("extract_1d", "1.20")


# ----------------------------------------------------------------------------- extract_1d


def _blob(x0: float = 11.3, y0: float = 13.6) -> np.ndarray:
    yy, xx = np.mgrid[:25, :25]
    image = 100 * np.exp(-0.5 * ((xx - x0) ** 2 + (yy - y0) ** 2) / 1.3**2)
    return image + np.random.default_rng(0).normal(0, 0.05, image.shape)


def _daofind_table():
    """DAOStarFinder's table (as jwst.extract_1d.ifu imports it) for one blob."""
    from jwst.extract_1d import ifu as jifu

    return jifu.DAOStarFinder(fwhm=3.0, threshold=1.0)(_blob())


def test_centroid_columns_are_the_ones_daostarfinder_writes():
    image = _blob()
    sources = _daofind_table()
    columns = line_module("extract_1d").centroid_columns()
    assert set(columns) <= set(sources.colnames), (columns, sources.colnames)
    x, y = ifu_autocenter(np.broadcast_to(image, (3, *image.shape)), np.array([1.0, 1.1, 1.2]))
    assert abs(x - 11.3) < 0.05 and abs(y - 13.6) < 0.05


# ----------------------------------------------------------------------------- trace model


def _two_slices(ny: int = 60, nx: int = 200, sky: float = -0.5):
    """Two slices, a compact source in slice 1, a negative sky (the prototype's scene)."""
    regions = np.zeros((ny, nx), np.int32)
    bounds = [(5, 25), (35, 55)]

    def alpha_fn(xx, yy):
        out = np.full(np.shape(xx), np.nan)
        for y0, y1 in bounds:
            m = (yy >= y0 - 0.5) & (yy <= y1 - 0.5)
            out[m] = (yy[m] - (y0 + y1 - 1) / 2) * 0.1 + 0.002 * xx[m]
        return out

    for k, (y0, y1) in enumerate(bounds, start=1):
        regions[y0:y1] = k
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    alpha = np.where(regions > 0, alpha_fn(x, y), np.nan)
    rng = np.random.default_rng(5)
    source = 200 * np.exp(-(alpha**2) / (2 * 0.12**2)) * (regions == 1)
    flux = np.where(regions > 0, sky + rng.normal(0, 0.05, (ny, nx)) + source, np.nan)
    flux = flux.astype(np.float32).astype(np.float64)  # what a float32 model holds
    err = np.where(regions > 0, 0.5, np.nan)
    return flux, err, alpha, regions, alpha_fn


def _jwst_fit_and_oversample(monkeypatch, flux, err, alpha, regions, alpha_fn, factor):
    """The installed jwst's own fit_and_oversample on an IFUImageModel, its gwcs evaluations
    (which need a NIRSpec gwcs) replaced by the scene's alpha."""
    import gwcs
    import jwst.adaptive_trace_model.trace_model as tm
    from astropy.modeling.models import Identity
    from gwcs import coordinate_frames as cf
    from stdatamodels.jwst import datamodels

    model = datamodels.IFUImageModel(
        data=flux.astype(np.float32), err=err.astype(np.float32),
        dq=np.where(np.isfinite(flux), 0, 1).astype(np.uint32))
    model.regions = regions
    model.meta.instrument.name = "NIRSPEC"
    model.meta.instrument.detector = "NRS1"
    model.meta.instrument.grating = "G395H"
    model.meta.exposure.type = "NRS_IFU"
    model.meta.bunit_data = "MJy/sr"
    model.meta.wcs = gwcs.WCS([(cf.Frame2D(name="detector"), Identity(2)),
                               (cf.Frame2D(name="world"), None)])
    monkeypatch.setattr(tm, "nrs_ifu_wcs", lambda m: None)
    monkeypatch.setattr(tm, "_get_alpha_nrs_ifu", lambda w, xs, ys: alpha.copy())
    monkeypatch.setattr(tm, "_get_oversampled_coords_nrs_ifu",
                        lambda w, xo, yo: (alpha_fn(xo, yo), np.ones_like(xo)))
    monkeypatch.setattr(tm, "_update_wcs_nrs_ifu", lambda w, mp: w)
    monkeypatch.setattr(tm, "match_nans_and_flags", lambda m: None)
    with np.errstate(all="ignore"):
        out = tm.fit_and_oversample(model, oversample_factor=factor)
    return np.asarray(out.data, dtype=np.float64), np.asarray(out.err, dtype=np.float64)


def test_trace_model_oversample_reproduces_the_installed_jwst(monkeypatch):
    """The per-line reproduction equals the installed line's fit_and_oversample (NRS_IFU)."""
    import warnings

    flux, err, alpha, regions, alpha_fn = _two_slices()
    factor = 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jwst's own logging/numerical warnings, not ours
        ref_flux, ref_err = _jwst_fit_and_oversample(monkeypatch, flux, err, alpha, regions,
                                                     alpha_fn, factor)
    ny, nx = flux.shape
    y_os = np.arange(factor * ny) / factor - (factor - 1) / (2 * factor)
    alpha_os = alpha_fn(np.broadcast_to(np.arange(nx, dtype=float), (factor * ny, nx)),
                        np.broadcast_to(y_os[:, None], (factor * ny, nx)))
    mine = trace_model_oversample(flux, err, alpha, regions, oversample_factor=factor,
                                  alpha_os=alpha_os, bad=~np.isfinite(flux), grating="G395H")
    assert [k for k, v in mine.spline_models.items() if v] == [1]  # only the source slice
    finite = np.isfinite(ref_flux)
    np.testing.assert_array_equal(np.isfinite(mine.flux), finite)
    diff = np.abs(mine.flux - ref_flux)[finite]
    # float32 (jwst's model) against float64 (ifuqa) arithmetic: a few steep spline columns can
    # move by more than rounding; the rest agree to float32 precision
    assert np.mean(diff < 1e-3 * max(1.0, np.nanmax(np.abs(ref_flux)))) > 0.995, diff.max()
    assert np.median(diff) < 1e-4
    both = np.isfinite(ref_err) & np.isfinite(mine.error)
    np.testing.assert_allclose(mine.error[both], ref_err[both], rtol=1e-5)
    # the line's handling of the negative sky: slice 2 has no source
    sky = np.nanmedian(ref_flux[70:110])
    np.testing.assert_allclose(np.nanmedian(mine.flux[70:110]), sky, atol=1e-4)
    if line_module("adaptive_trace_model").RESTORES_NEGATIVE_MEAN:
        assert abs(sky + 0.5) < 0.02  # 3.0.x adds the subtracted mean back
    else:
        assert sky > -0.2  # 2.0.x leaves it subtracted


def test_trace_region_peak_is_the_lines_fit_statistic():
    flux, err, alpha, regions, _ = _two_slices(sky=0.0)
    one = np.where(regions == 1, flux, np.nan)
    peak = trace_region_peak(one, np.where(regions == 1, err, np.nan),
                             np.where(regions == 1, alpha, np.nan))
    if jwst_line() == "2.0":
        assert peak == pytest.approx(float(np.nanmedian(np.nanmax(one, axis=0))))
    else:
        assert 0.5 * np.nanmax(one) < peak <= np.nanmax(one)
    assert np.isnan(trace_region_peak(np.full((4, 4), np.nan), np.ones((4, 4)),
                                      np.zeros((4, 4))))


def test_trace_model_flux_density_scaling_follows_the_line():
    flux, err, alpha, regions, _ = _two_slices(sky=1.0)
    sb = trace_model_oversample(flux, err, alpha, regions)
    fd = trace_model_oversample(flux, err, alpha, regions, flux_density=True)
    ok = np.isfinite(sb.flux)
    ratio = np.median(fd.flux[ok] / sb.flux[ok])
    expected = 0.5 if line_module("adaptive_trace_model").SCALES_FLUX_DENSITY else 1.0
    assert ratio == pytest.approx(expected)


# ----------------------------------------------------------------------------- availability


def test_every_stage_is_available_on_the_installed_line():
    found = jwst_api.stage_availabilities(refresh=True)
    assert list(found) == list(jwst_api.STAGE_MODULES)
    for stage, entry in found.items():
        assert entry.available, (stage, entry.reason)
        assert entry.reason == "" and entry.line == jwst_line()
        assert f"available on jwst {jwst_version()} ({jwst_line()}.x line)" in entry.describe()


def _without_fit_all_regions(monkeypatch):
    import jwst.adaptive_trace_model.trace_model as tm

    monkeypatch.delattr(tm, "fit_all_regions")
    monkeypatch.setattr(jwst_api, "_AVAILABILITY", {})


def test_a_stage_whose_api_is_gone_is_unavailable_with_the_reason(monkeypatch):
    """A line without the trace model's API (here: fit_all_regions removed) has no trace-model
    stage; the reason names the symbol, the version and the line; the other stages stay."""
    _without_fit_all_regions(monkeypatch)
    entry = jwst_api.stage_availability("adaptive_trace_model")
    assert not entry.available
    assert "fit_all_regions" in entry.reason and "missing" in entry.reason
    assert f"jwst {jwst_version()}" in entry.reason and f"{jwst_line()}.x line" in entry.reason
    assert entry.describe().startswith("the adaptive trace model (jwst adaptive_trace_model): "
                                       "unavailable on this line: ")
    assert entry.to_json()["available"] is False
    assert jwst_api.stage_availability("cube_build").available
    with pytest.raises(ValueError, match="unknown stage"):
        jwst_api.stage_availability("pixel_replace")


def test_processing_never_replaces_an_unavailable_stage(monkeypatch, tmp_path):
    """Asking for the trace model on a line without it fails before anything is processed,
    naming the stage and the reason; processing without it is not affected."""
    from ifuqa.process.chain import StageUnavailableError, process, require_stages
    from ifuqa.process.config import ProcessingConfig
    from ifuqa.process.rate_inputs import ProcessingError

    _without_fit_all_regions(monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(StageUnavailableError, match=r"--trace-model.*unavailable on this line"
                       r".*fit_all_regions") as info:
        process(tmp_path / "no-rates", out, ProcessingConfig(trace_model=True))
    assert info.value.stage == "adaptive_trace_model" and "fit_all_regions" in info.value.reason
    assert isinstance(info.value, ProcessingError)  # the CLI reports it and exits 2
    assert not out.exists()
    require_stages(ProcessingConfig())  # the chain without the trace model still runs
    with pytest.raises(ProcessingError, match=r"no \*_rate\.fits"):
        process(tmp_path, out, ProcessingConfig())


# ----------------------------------------------------------------------------- release gate


def _gate_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("release_gate",
                                                  REPO / "tools" / "release_gate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_file(path: Path, values: dict, *, message: str = "") -> Path:
    from ifuqa.verdicts.record import Record
    from ifuqa.verdicts.results import write_results

    records = []
    for (check, dataset, metric), value in values.items():
        if value is None:
            records.append(Record.unmeasured("NS-IFU05", metric, "skip", message, check=check,
                                             dataset=dataset))
        else:
            records.append(Record("NS-IFU05", check, dataset, metric, value, "%", 1.0, "pass",
                                  sense="max"))
    write_results(path, records)
    return path


@pytest.mark.skipif(not (REPO / "tools" / "release_gate.py").is_file(),
                    reason="not a source checkout")
def test_gate_outcome_lists_moves_causes_and_unavailable_stages(tmp_path, monkeypatch):
    gate = _gate_tool()
    key, same = ("test_wiggles", "obs1", "wiggle_amplitude"), ("test_wiggles", "obs1", "peak")
    base = _run_file(tmp_path / "a.json", {key: 0.5, same: 2.0})
    moved = _run_file(tmp_path / "b.json", {key: 0.75, same: 2.0})
    lost = _run_file(tmp_path / "c.json", {("test_wiggles", "obs1", "adaptive_trace_model"): None},
                     message="unavailable on this line (jwst 9.9): missing: fit_all_regions")
    monkeypatch.setitem(gate.KNOWN_CAUSES, ("1.0", "2.0"),
                        [("catalogue", r"wiggle_amplitude$", "#10264 (measured)")])
    found = {"reference": {"jwst": "1.0", "numpy": "2.4"},
             "candidate": {"jwst": "2.0", "numpy": "2.4"}}
    stages_found = {"reference": {"adaptive_trace_model": {"available": True}},
                    "candidate": {"adaptive_trace_model": {
                        "available": False, "reason": "missing: fit_all_regions"}}}
    text = gate.write_outcome(tmp_path / "outcome.md",
                              [("catalogue", base, moved), ("trace model", base, lost),
                               ("other", base, tmp_path / "none.json")],
                              found, stages_found, {"trace model": "the trace model is gone"})
    assert text.startswith("jwst 1.0 → 2.0; versions that differ: jwst 1.0 → 2.0; "
                           "the same in both: ") and "numpy 2.4" in text.splitlines()[0]
    assert "candidate's line (jwst 2.0): adaptive_trace_model (missing: fit_all_regions)" in text
    assert "reference's line (jwst 1.0): none." in text
    assert "**catalogue**: 2 metrics measured in both runs, 1 moved." in text
    row = next(line for line in text.splitlines() if "wiggle_amplitude" in line
               and "0.75" in line)
    assert "+0.25 (+50.0%)" in row and row.rstrip().endswith("#10264 (measured) |")
    assert "**trace model**: 0 metrics measured in both runs, 2 moved. the trace model is gone."\
        in text
    gone = [line for line in text.splitlines() if "unavailable on this line (jwst 9.9)" in line]
    assert len(gone) == 2 and all("| lost |" in line and "no known cause" in line
                                  for line in gone)
    assert "**other**: not run" in text
    assert (tmp_path / "outcome.md").read_text() == text
