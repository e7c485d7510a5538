"""The processing chain against the truth (issue: processing chain with the fixes)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from filelock import FileLock

from ifuqa.builds.synthetic import SyntheticSpec, simulation_dir
from ifuqa.metrics.spectra import convolve_to_resolution
from ifuqa.process.chain import process
from ifuqa.process.config import DEFECTS, ProcessingConfig, ProcessingConfigError
from ifuqa.process.rate_inputs import ProcessingError
from ifuqa.products import read_cube, read_spectrum
from ifuqa.simulate.truth import read_truth
from tests._builds import build, cache_root

BRIGHT = "bright_point_g395h"


@pytest.fixture(scope="module")
def noiseless_bright(pytestconfig):
    root = cache_root(pytestconfig)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / "simulations.lock")):
        return simulation_dir(SyntheticSpec(BRIGHT), root, noiseless=True)


def _ratio(x1d_path, truth):
    spec = read_spectrum(x1d_path)
    src = truth.source
    ref = convolve_to_resolution(src.wavelength_um, src.flux_jy, truth.resolving_power)
    ratio = spec.flux_jy / np.interp(spec.wavelength_um, src.wavelength_um, ref)
    edge = (spec.wavelength_um > spec.wavelength_um[0] + 0.01) & (
        spec.wavelength_um < spec.wavelength_um[-1] - 0.01)
    return ratio[edge]


@pytest.mark.parametrize("scale", [0.05, 0.1, 0.2])
def test_noiseless_flux_within_2_percent_at_each_spaxel_scale(noiseless_bright, tmp_path,
                                                              scale):
    truth = read_truth(noiseless_bright)
    config = ProcessingConfig(spaxel_arcsec=scale, clean=False, outliers=False,
                              aperture_radius_arcsec=0.6)
    result = process(noiseless_bright, tmp_path, config)
    ratio = _ratio(result.x1d_file, truth)
    assert np.all(np.abs(ratio - 1) < 0.02), (ratio.min(), ratio.max())


def test_default_aperture_flux_within_2_percent(noiseless_bright, tmp_path):
    """The default extraction (r = 2 FWHM, auto-centred, aperture-corrected) at 0.1"."""
    truth = read_truth(noiseless_bright)
    result = process(noiseless_bright, tmp_path, ProcessingConfig(clean=False, outliers=False))
    ratio = _ratio(result.x1d_file, truth)
    assert np.all(np.abs(ratio - 1) < 0.02), (ratio.min(), ratio.max())
    assert fits.getval(result.x1d_file, "IFQ_CEN") == "ifu_autocen"


def test_flux_density_defect_scales_with_spaxel_area(noiseless_bright, tmp_path):
    """Cube building takes a flux density for a surface brightness: the extracted/true flux
    comes out proportional to 1 / spaxel area, fourfold per halving of the spaxel (within 1 %),
    and above 1 at the default 0.1" (KNOWN_ISSUES: 10-15 % too high)."""
    truth = read_truth(noiseless_bright)
    medians = {}
    for scale in (0.05, 0.1, 0.2):
        config = ProcessingConfig(spaxel_arcsec=scale, clean=False, outliers=False,
                                  aperture_radius_arcsec=0.6, defects=frozenset({"NS-IFU02"}))
        result = process(noiseless_bright, tmp_path / f"s{scale}", config)
        medians[scale] = float(np.median(_ratio(result.x1d_file, truth)))
        with fits.open(result.cube_file) as hdul:
            assert hdul[0].header["IFQ_DEF"] == "NS-IFU02"
            assert hdul["SCI"].header["BUNIT"] == "MJy"
    assert medians[0.05] / medians[0.1] == pytest.approx(4.0, rel=0.01), medians
    assert medians[0.1] / medians[0.2] == pytest.approx(4.0, rel=0.01), medians
    assert 1.03 < medians[0.1] < 1.2, medians


def test_cleaning_removes_most_banding_out_of_sample(pytestconfig):
    """CleanFlickerNoiseStep (jwst defaults, ifuqa's user mask with the odd 64-row blocks held
    out) at least halves the banding over the unilluminated pixels (measured 2.5x) and, on the
    held-out rows alone, leaves less than half of it above the white-noise floor (the banding
    check: 0.37-0.43 on the catalogue); the cleaned rate records the held-out block size."""
    from astropy.io import fits
    from stdatamodels.jwst import datamodels

    from ifuqa.evaluate import ns_ifu03
    from ifuqa.instrument import get_disperser
    from ifuqa.instrument.layout import unilluminated_mask
    from ifuqa.metrics.banding import HOLD_OUT_BLOCK, banding_amplitude
    from ifuqa.verdicts.thresholds import Thresholds

    dataset = build(pytestconfig, SyntheticSpec("faint_point_g140h_nrs2", with_reference=False))
    with datamodels.open(dataset.rate[0]) as raw, datamodels.open(dataset.cleaned[0]) as clean:
        mask = unilluminated_mask(get_disperser("G140H", "F100LP"), raw.meta.instrument.detector)
        before = banding_amplitude(np.asarray(raw.data, float), mask)
        after = banding_amplitude(np.asarray(clean.data, float), mask)
        assert clean.meta.cal_step.clean_flicker_noise == "COMPLETE"
    assert after <= before / 2, (before, after)
    assert fits.getval(dataset.cleaned[0], "IFQ_HOLD") == HOLD_OUT_BLOCK
    result = ns_ifu03.banding(dataset, Thresholds.defaults())
    assert result.verdict == "pass" and 0.1 < result.value < 0.5, result.describe()
    assert "held out" in result.message, result.message


RAMPS = "cosmic_rays_g395h_ramps"


def test_cosmic_rays_caught_without_flagging_the_psf_core(pytestconfig):
    """Every hit simulated in the ramps, jwst's jump step then IFU outlier detection: >= 90 % of
    the > 10 000 cosmic-ray pixels above 10 sigma are flagged, <= 1 % of PSF-core pixels are
    flagged as outliers, and <= 1 % carry a jump flag that no cosmic ray explains. (The check's
    power, against two groups per integration where jump detection cannot run, is the
    cosmic-ray row of the table in tests/test_power_matrix.py.)"""
    from scipy import ndimage
    from stdatamodels.jwst import datamodels

    from ifuqa.evaluate import ns_ifu01
    from ifuqa.metrics.flags import core_flag_fraction
    from ifuqa.products.discovery import product_stem
    from ifuqa.verdicts.thresholds import Thresholds

    dataset = build(pytestconfig, SyntheticSpec(RAMPS, with_reference=False))
    th = Thresholds.defaults()
    caught = ns_ifu01.cosmic_ray_flags(dataset, th)
    assert caught.details["pixels"] > 10_000
    assert caught.value >= 90.0, caught.describe()
    core = ns_ifu01.core_flags(dataset, th)
    assert core.verdict == "pass" and core.value <= 1.0, core.describe()

    jump_flagged, signal, noise = [], [], []
    for rate_path in dataset.rate:
        truth = dataset.truth_dir / f"{product_stem(rate_path)}_crmask.fits"
        # the hits and their 4-neighbours
        explained = ndimage.binary_dilation(fits.getdata(truth, "CRMASK").astype(bool))
        with datamodels.open(rate_path) as rate:
            jump_flagged.append(((np.asarray(rate.dq) & 4) > 0) & ~explained)
            sig = np.asarray(rate.data, dtype=float).copy()
            sig[explained] = 0.0
            signal.append(sig)
            noise.append(np.asarray(rate.err, dtype=float))
    spurious = core_flag_fraction(np.concatenate(jump_flagged, axis=1),
                                  np.concatenate(signal, axis=1),
                                  np.concatenate(noise, axis=1), threshold_percent=1.0)
    assert spurious.details["core_pixels"] > 1000
    assert spurious.value <= 1.0, spurious.describe()


def test_source_free_scene_extracts_to_zero(pytestconfig, tmp_path):
    from tests._builds import scenario_variant

    path = scenario_variant(pytestconfig, "faint_point_g140h_nrs2", "source_free_g140h",
                            source_flux_mjy=0.0)
    dataset = build(pytestconfig, SyntheticSpec(path, with_reference=False,
                                                options=(("center_xy", (20.0, 20.0)),)))
    spec = read_spectrum(dataset.x1d[0])
    flux = spec.flux_jy[np.isfinite(spec.flux_jy)]
    # bin by 16 planes (beyond the correlation length cube building introduces)
    binned = flux[: flux.size // 16 * 16].reshape(-1, 16).mean(axis=1)
    standard_error = binned.std(ddof=1) / np.sqrt(binned.size)
    assert abs(binned.mean()) < 3 * standard_error, (binned.mean(), standard_error)
    # a ratio to a zero truth has no meaning: NS-IFU02's flux check says so instead of inf ± inf
    from ifuqa.evaluate import NotApplicable
    from ifuqa.evaluate.ns_ifu02 import flux_against_truth
    from ifuqa.verdicts.thresholds import Thresholds

    with pytest.raises(NotApplicable, match="true source flux is zero"):
        flux_against_truth(dataset, Thresholds())


def test_products_are_pipeline_products(pytestconfig):
    from stdatamodels.jwst import datamodels

    dataset = build(pytestconfig, SyntheticSpec(BRIGHT, with_scales=True))
    cube = read_cube(dataset.s3d[0])
    assert cube.bunit == "MJy/sr"
    ra, dec = cube.pixel_to_sky(np.array([10.0]), np.array([10.0]), cube.wavelength_um[:1])
    assert np.isfinite(ra).all() and np.isfinite(dec).all()
    with datamodels.open(dataset.s3d[0]) as model:
        assert isinstance(model, datamodels.IFUCubeModel)
        for ext in ("data", "err", "dq", "weightmap"):
            assert getattr(model, ext).shape == model.data.shape
    with datamodels.open(dataset.x1d[0]) as model:
        assert isinstance(model, datamodels.MultiSpecModel)
        assert model.spec[0].spec_table.columns["flux"].unit == "Jy"
    for path in dataset.cal:
        with datamodels.open(path) as model:
            assert isinstance(model, datamodels.IFUImageModel)
            assert model.meta.bunit_data == "MJy/sr"
        assert fits.getval(path, "IFQ_DEF") == "NONE"
        assert fits.getval(path, "IFQ_FIX") == "NS-IFU01,NS-IFU02,NS-IFU03,NS-IFU04,NS-IFU05"
        assert any("nsclean" in h for h in fits.getheader(path)["HISTORY"])


def test_config_rejects_bad_options():
    with pytest.raises(ProcessingConfigError, match="NS-IFU09"):
        ProcessingConfig(defects=frozenset({"NS-IFU09"}))
    with pytest.raises(ProcessingConfigError, match="weighting"):
        ProcessingConfig(weighting="nearest")
    assert set(DEFECTS) == {"NS-IFU01", "NS-IFU02", "NS-IFU03", "NS-IFU04", "NS-IFU05"}


def test_process_rejects_bad_input(tmp_path):
    with pytest.raises(ProcessingError, match=r"no \*_rate\.fits"):
        process(tmp_path, tmp_path / "out")
    bad = tmp_path / "jw01_rate.fits"
    bad.write_bytes(b"SIMPLE  = T" + b" " * 100)
    with pytest.raises(ProcessingError, match=r"jw01_rate\.fits"):
        process(tmp_path, tmp_path / "out")


def test_cli_process_records_defects(noiseless_bright, tmp_path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "ifuqa.cli", "process", str(noiseless_bright), "--out", str(out),
         "--no-clean", "--no-outliers", "--defect", "NS-IFU04", "--spaxel-scale", "0.15"],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "time per stage" in proc.stdout
    x1d = next(out.glob("*_x1d.fits"))
    assert fits.getval(x1d, "IFQ_DEF") == "NS-IFU04"
    assert fits.getval(x1d, "IFQ_CEN") == "nominal"
    assert fits.getval(x1d, "IFQ_SPAX") == pytest.approx(0.15)
    bad = subprocess.run([sys.executable, "-m", "ifuqa.cli", "process", str(noiseless_bright),
                          "--out", str(out), "--defect", "NS-IFU99"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "NS-IFU99" in bad.stderr


def test_ifuqa_check_runs_the_suite_on_processed_products(pytestconfig, tmp_path):
    dataset = build(pytestconfig, SyntheticSpec(BRIGHT, with_scales=True))
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ifuqa.cli", "check", str(dataset.s3d[0].parent),
         "--results", str(results), "-m", "ns_ifu04 or ns_ifu06 or ns_ifu01"],
        capture_output=True, text=True, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    records = json.loads(results.read_text())["records"]
    verdicts = {(r["issue"], r["metric"]): r["verdict"] for r in records}
    assert verdicts[("NS-IFU04", "extraction_offset")] == "pass"
    assert verdicts[("NS-IFU06", "centroid_drift")] == "pass"
    assert verdicts[("NS-IFU01", "psf_peak_hole_depth")] == "pass"
    # truth-only metrics skip on a user's products, and say why
    skipped = [r for r in records if r["verdict"] == "skip"]
    assert skipped and all(r["message"] for r in skipped)
