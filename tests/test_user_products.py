"""The checks on a user's own products: applicability from headers, the truth-free checks,
real MIRI MRS cubes, and every kind of bad input (named errors, the run goes on, files never
modified)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from ifuqa.builds.analytic_products import PointCubeSpec, write_point_cube, write_point_x1d
from ifuqa.evaluate import NotApplicable, ns_ifu01, ns_ifu04, ns_ifu05, ns_ifu06
from ifuqa.products import ProductError, read_cube, read_spectrum
from ifuqa.products.applicability import (
    AFFECTED,
    AT_RISK,
    NOT_APPLICABLE,
    ProductHeader,
    assess,
    parse_version,
    read_header,
)
from ifuqa.products.dataset import Dataset
from ifuqa.products.read import fits_wavelengths_um
from ifuqa.verdicts.thresholds import Thresholds

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
TH = Thresholds.defaults()
SMALL = PointCubeSpec(shape=(240, 25, 25), center_xy=(12.0, 12.0))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _header(name: str = "x_s3d.fits", **kw: object) -> ProductHeader:
    values = dict(path=Path(name), instrument="NIRSPEC", exp_type="NRS_IFU", detector="NRS1",
                  readpatt="NRSIRS2RAPID", cal_ver="1.18.0", software="jwst", srctype="POINT",
                  bunit="MJy/sr", dither_points=4, cleaned=True, ifuqa_defects=None)
    values.update(kw)
    return ProductHeader(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------- applicability


def test_parse_version() -> None:
    assert parse_version("1.11.4") == (1, 11, 4)
    assert parse_version("1.12.5.dev3+g1") == (1, 12, 5)
    assert parse_version("unknown") is None and parse_version(None) is None


def test_old_pipeline_versions_are_affected() -> None:
    old = assess([_header(cal_ver="1.10.2"), _header("x_x1d.fits", cal_ver="1.10.2")])
    assert old["NS-IFU01"].status == AFFECTED and "1.11.3" in old["NS-IFU01"].reasons[0]
    assert old["NS-IFU02"].status == AFFECTED
    assert old["NS-IFU04"].status == AFFECTED and "ifu_autocen" in old["NS-IFU04"].reasons[0]
    new = assess([_header(), _header("x_x1d.fits")])
    assert {new[i].status for i in ("NS-IFU01", "NS-IFU02", "NS-IFU04")} == {AT_RISK}
    between = assess([_header(cal_ver="1.11.1"), _header("x_x1d.fits", cal_ver="1.11.1")])
    assert between["NS-IFU01"].status == AFFECTED  # < 1.11.3
    assert between["NS-IFU04"].status == AT_RISK  # >= 1.11.0 has ifu_autocen


def test_units_source_type_detector_and_dithers() -> None:
    mjy = assess([_header(bunit="MJy")])
    assert mjy["NS-IFU02"].status == AFFECTED and "MJy" in mjy["NS-IFU02"].reasons[0]
    ext = assess([_header(srctype="EXTENDED")])
    for issue in ("NS-IFU02", "NS-IFU05", "NS-IFU06"):
        assert ext[issue].status == NOT_APPLICABLE and "EXTENDED" in ext[issue].reasons[0]
    nrs2 = assess([_header("a_rate.fits", detector="NRS2", cleaned=None),
                   _header("a_cal.fits", detector="NRS2", cleaned=False)])
    assert nrs2["NS-IFU03"].status == AFFECTED
    assert "NRS2" in " ".join(nrs2["NS-IFU03"].reasons)
    assert "IRS2" in " ".join(nrs2["NS-IFU03"].reasons)
    two = assess([_header(dither_points=2)])
    assert two["NS-IFU05"].status == AT_RISK and "2 dither" in two["NS-IFU05"].reasons[0]
    single = assess([_header("a_cal.fits", dither_points=1)], n_exposures=1)
    assert single["NS-IFU01"].status == NOT_APPLICABLE


def test_instrument_and_mode() -> None:
    miri = assess([_header(instrument="MIRI", exp_type="MIR_MRS", detector="MIRIFULONG")])
    assert miri["NS-IFU03"].status == NOT_APPLICABLE and "MIRI" in miri["NS-IFU03"].reasons[0]
    assert miri["NS-IFU01"].status == AT_RISK and miri["NS-IFU06"].status == AT_RISK
    mos = assess([_header("m_x1d.fits", exp_type="NRS_MSASPEC", cleaned=None)])
    assert mos["NS-IFU05"].status == NOT_APPLICABLE and "NRS_MSASPEC" in mos["NS-IFU05"].reasons[0]
    assert mos["NS-IFU03"].status == AT_RISK  # 1/f affects every NIRSpec mode


def test_ifuqa_products_state_their_defects() -> None:
    ours = [_header(software="ifuqa", ifuqa_defects=("NS-IFU02",), cal_ver="0.1.0"),
            _header("x_x1d.fits", software="ifuqa", ifuqa_defects=("NS-IFU02",),
                    cal_ver="0.1.0")]
    result = assess(ours)
    assert result["NS-IFU02"].status == AFFECTED and "defect NS-IFU02" in \
        result["NS-IFU02"].reasons[0]
    assert result["NS-IFU01"].status == AT_RISK  # ifuqa's version number is not jwst's


def test_rate_versions_do_not_speak_for_later_stages() -> None:
    """A rate file's CAL_VER says nothing about outlier detection or cube building."""
    result = assess([_header("a_rate.fits", cal_ver="1.8.0", cleaned=None)])
    assert result["NS-IFU01"].status == NOT_APPLICABLE
    assert "no product that shows it" in result["NS-IFU01"].reasons[0]


def test_read_header_of_written_products(tmp_path: Path) -> None:
    cube = write_point_cube(tmp_path / "obs_s3d.fits", SMALL)
    head = read_header(cube)
    assert (head.instrument, head.exp_type, head.srctype, head.bunit, head.cal_ver) == (
        "NIRSPEC", "NRS_IFU", "POINT", "MJy/sr", "1.18.0")
    with pytest.raises(ProductError, match="file not found"):
        read_header(tmp_path / "missing_s3d.fits")


# ------------------------------------------------------------------- truth-free checks


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    """Small cubes with and without each defect, with their x1d."""
    folder = tmp_path_factory.mktemp("products")
    cases = {
        "good": (SMALL, {}),
        "hole": (PointCubeSpec(**{**SMALL.__dict__, "hole_depth": 0.8}), {}),
        "drift": (PointCubeSpec(**{**SMALL.__dict__, "drift_xy": (0.6, 0.4)}), {}),
        "offcentre": (SMALL, {"center_xy": (13.5, 12.0)}),
        "wiggle": (PointCubeSpec(**{**SMALL.__dict__, "wiggle_amplitude": 0.03}), {}),
        "undulating": (PointCubeSpec(**{**SMALL.__dict__, "x1d_undulation": 0.12,
                                        "x1d_slope": -2.0}), {}),
    }
    out = {}
    for name, (spec, kw) in cases.items():
        cube = write_point_cube(folder / f"{name}_s3d.fits", spec)
        x1d = write_point_x1d(folder / f"{name}_x1d.fits", spec, **kw)
        out[name] = Dataset(name=name, s3d=[cube], x1d=[x1d])
    return out


def test_hole_check_without_truth(products: dict[str, Dataset]) -> None:
    assert ns_ifu01.hole(products["good"], TH).verdict == "pass"
    holed = ns_ifu01.hole(products["hole"], TH)
    assert holed.verdict == "fail" and holed.value > 20, holed.describe()
    # a source drifting across a spaxel boundary is not a hole
    drifting = ns_ifu01.hole(products["drift"], TH)
    assert drifting.verdict == "pass" and drifting.value < 2, drifting.describe()


def test_drift_check_uses_the_cube_wcs(products: dict[str, Dataset]) -> None:
    still = ns_ifu06.drift(products["good"], TH)
    assert still.verdict == "pass" and still.value < 2
    moving = ns_ifu06.drift(products["drift"], TH)
    # the injected 0.6 x 0.4 spaxel (x 100 mas) drift is linear over the whole band, and the
    # drift is quoted over the band with data (first to last plane), not between bin centres
    expected = float(np.hypot(0.6, 0.4)) * 100.0
    assert moving.verdict == "fail", moving.describe()
    assert moving.value == pytest.approx(expected, abs=1.0), (moving.value, expected)


def test_curve_of_growth_check(products: dict[str, Dataset]) -> None:
    """The x1d against the cube's aperture-corrected total: a centred extraction agrees, an
    extraction 150 mas off the source falls short."""
    good = ns_ifu04.curve_of_growth_total(products["good"], TH)
    assert good.verdict == "pass" and good.value < 2.0, good.describe()
    off = ns_ifu04.curve_of_growth_total(products["offcentre"], TH)
    assert off.verdict == "fail" and off.value > 3.0, off.describe()
    assert off.details["deviation_percent"].max() < 0  # short, not over
    radii = off.plot["cog_radius_fwhm"]
    assert off.plot["cog_total_jy"].shape == (6, radii.size)


def test_centring_and_wiggle_checks(products: dict[str, Dataset]) -> None:
    offset, loss = ns_ifu04.centring(products["offcentre"], TH)
    assert offset.verdict == "fail" and 140 < offset.value < 160
    assert loss.verdict == "fail"
    assert all(r.verdict == "pass" for r in ns_ifu04.centring(products["good"], TH))
    assert ns_ifu05.aperture_wiggle(products["good"], TH).verdict == "pass"
    wiggly = ns_ifu05.aperture_wiggle(products["wiggle"], TH)
    assert wiggly.verdict == "fail" and 2.0 < wiggly.value < 4.0, wiggly.describe()


def test_x1d_that_missed_its_source_fails(products: dict[str, Dataset], tmp_path: Path) -> None:
    """An x1d whose aperture missed the source holds only noise: its summed flux is not
    significant (NS-IFU04 x1d_source_significance fails); the centred x1d passes."""
    from stdatamodels.jwst import datamodels

    good = ns_ifu04.x1d_source(products["good"], TH)
    assert good.verdict == "pass" and good.value > 100, good.describe()
    missed = tmp_path / "missed_x1d.fits"
    with datamodels.open(products["good"].x1d[0]) as model:
        table = model.spec[0].spec_table
        level = float(np.median(table["FLUX"]))
        rng = np.random.default_rng(11)
        table["FLUX_ERROR"] = 0.05 * level
        table["FLUX"] = rng.normal(0.0, 0.05 * level, table["FLUX"].size)
        model.save(missed)
    result = ns_ifu04.x1d_source(Dataset(name="missed", x1d=[missed]), TH)
    assert result.verdict == "fail" and abs(result.value) < 4.0, result.describe()


def test_undulation_without_truth(products: dict[str, Dataset]) -> None:
    """A user's x1d is judged by the additive part of its undulation: a 12 % 1/f-like additive
    undulation at 3 cycles/um on a spectrum falling as lambda^-2 (a level changing 3.2 x over
    the band) fails, recovered at 70-110 % of its size; a clean spectrum passes."""
    from ifuqa.evaluate import ns_ifu03

    clean = ns_ifu03.undulation(products["good"], TH)
    assert clean.verdict == "pass" and clean.value < 1.0, clean.describe()
    bad = ns_ifu03.undulation(products["undulating"], TH)
    assert bad.verdict == "fail" and 8.4 < bad.value < 13.2, bad.describe()
    assert "additive" in bad.message


def test_undulation_of_a_noisy_spectrum_cannot_decide(tmp_path: Path) -> None:
    """A spectrum too noisy to decide is measured and reported as undecided with its upper
    limit, never passed and never skipped before measuring."""
    from ifuqa.evaluate import ns_ifu03

    spec = PointCubeSpec(**{**SMALL.__dict__, "noise_fraction": 0.2, "x1d_slope": -2.0})
    x1d = write_point_x1d(tmp_path / "noisy_x1d.fits", spec)
    from stdatamodels.jwst import datamodels

    with datamodels.open(x1d) as model:  # make the x1d itself noisy
        rng = np.random.default_rng(5)
        model.spec[0].spec_table["FLUX"] *= 1 + 0.2 * rng.standard_normal(spec.shape[0])
        model.save(x1d)
    result = ns_ifu03.undulation(Dataset(name="noisy", x1d=[x1d]), TH)
    assert np.isfinite(result.value) and result.uncertainty > 0, result.describe()
    assert result.verdict == "undecided", result.describe()
    assert "could not decide" in result.describe()


# ------------------------------------------------------------------- bad input


def _bad_products(folder: Path) -> dict[str, str]:
    """Write one bad product per case; return file name -> expected words of the message."""
    from astropy.io import fits
    from stdatamodels.jwst import datamodels

    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, str] = {}
    (folder / "jw00001001001_empty_s3d.fits").write_bytes(b"")
    cases["jw00001001001_empty_s3d.fits"] = "empty file"
    good = write_point_cube(folder / "tmp_cube.fits", SMALL)
    raw = good.read_bytes()
    (folder / "jw00001001001_truncated_s3d.fits").write_bytes(raw[: len(raw) // 3])
    cases["jw00001001001_truncated_s3d.fits"] = "not a readable FITS file"
    (folder / "jw00001001001_corrupt_s3d.fits").write_bytes(b"SIMPLE  =   T" * 300)
    cases["jw00001001001_corrupt_s3d.fits"] = "not a readable FITS file"
    (folder / "jw00001001001_gzip_s3d.fits.gz").write_bytes(gzip.compress(raw)[:2000])
    cases["jw00001001001_gzip_s3d.fits.gz"] = "not a readable FITS file"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((5, 5, 5)))]).writeto(
        folder / "jw00001001001_ground_s3d.fits")
    cases["jw00001001001_ground_s3d.fits"] = "not a JWST product"
    write_point_cube(folder / "jw00001001001_nircam_s3d.fits",
                     PointCubeSpec(**{**SMALL.__dict__, "instrument": "NIRCAM",
                                      "exp_type": "NRC_IMAGE"}))
    cases["jw00001001001_nircam_s3d.fits"] = "instrument NIRCAM"
    image = datamodels.ImageModel(data=np.ones((20, 20), dtype=np.float32))
    image.meta.telescope = "JWST"
    image.meta.instrument.name = "NIRSPEC"
    image.meta.exposure.type = "NRS_IFU"
    image.save(folder / "jw00001001001_image_s3d.fits")
    cases["jw00001001001_image_s3d.fits"] = "2-D image"
    write_point_cube(folder / "jw00001001001_allnan_s3d.fits", SMALL,
                     data=np.full(SMALL.shape, np.nan, dtype=np.float32))
    cases["jw00001001001_allnan_s3d.fits"] = "all NaN"
    write_point_cube(folder / "jw00001001001_nowcs_s3d.fits", SMALL, with_wcs=False)
    cases["jw00001001001_nowcs_s3d.fits"] = "no WCS"
    write_point_cube(folder / "jw00001001001_units_s3d.fits",
                     PointCubeSpec(**{**SMALL.__dict__, "bunit": "DN/s"}))
    cases["jw00001001001_units_s3d.fits"] = "unknown flux unit"
    good.unlink()
    return cases


@pytest.mark.parametrize("case", ["empty", "truncated", "corrupt", "gzip", "ground", "image",
                                  "allnan", "nowcs", "units"])
def test_read_cube_names_file_and_reason(tmp_path: Path, case: str) -> None:
    cases = _bad_products(tmp_path)
    name = f"jw00001001001_{case}_s3d.fits" + (".gz" if case == "gzip" else "")
    path = tmp_path / name
    before = _sha(path)
    with pytest.raises(ProductError) as info:
        read_cube(path)
    assert str(path) in str(info.value) and cases[name] in str(info.value), str(info.value)
    assert _sha(path) == before


def test_bad_products_are_reported_and_the_run_goes_on(pytester: pytest.Pytester,
                                                       tmp_path: Path) -> None:
    """Every bad file gives an error record naming it and the reason; the good dataset next
    to them still runs its checks; no file changes."""
    data = tmp_path / "reduction"
    cases = _bad_products(data / "bad")
    (data / "good").mkdir()
    write_point_cube(data / "good" / "jw00002001001_ok_s3d.fits", SMALL)
    write_point_x1d(data / "good" / "jw00002001001_ok_x1d.fits", SMALL)
    (data / "missing").mkdir()
    before = {p: _sha(p) for p in data.rglob("*") if p.is_file()}
    results = tmp_path / "results.json"
    run = pytester.runpytest_subprocess(
        f"--ifuqa-data={data}", f"--ifuqa-data={data / 'absent_s3d.fits'}",
        f"--ifuqa-results={results}", "-p", "no:cacheprovider", "-m", "ns_ifu01 or ns_ifu04")
    assert run.ret == 1  # errors fail their tests, but nothing aborted the run
    payload = json.loads(results.read_text())
    records = payload["records"]
    for name, words in cases.items():
        mine = [r for r in records if r["dataset"].startswith(name.split(".")[0].rsplit("_",
                                                                                        1)[0])]
        assert mine, f"no record for {name}"
        # an unreadable or foreign file fails every check of its dataset; a readable cube
        # with unusable content fails the checks that read it (the others skip, not pass)
        unusable = ("empty", "truncated", "corrupt", "gzip", "ground", "nircam")
        allowed = {"error"} if any(f"_{u}_" in name for u in unusable) else {"error", "skip"}
        assert {r["verdict"] for r in mine} <= allowed, (name, mine)
        assert any(name in r["message"] and words in r["message"] for r in mine), (name, mine)
    missing = [r for r in records if r["dataset"] == "absent_s3d.fits"]
    assert missing and "no such file or folder" in missing[0]["message"]
    good = [r for r in records if r["dataset"] == "jw00002001001_ok"]
    # the truth-free metrics of a centred, hole-free point source pass; the rest (truth,
    # reference cube, cal files) skip
    assert {r["metric"] for r in good if r["verdict"] == "pass"} == {
        "psf_peak_hole_depth", "extraction_offset", "extraction_flux_loss",
        "x1d_vs_curve_of_growth", "x1d_source_significance"}, good
    assert {r["verdict"] for r in good} == {"pass", "skip"}, good
    assert "jw00002001001_ok" in payload["applicability"]
    assert {p: _sha(p) for p in data.rglob("*") if p.is_file()} == before
    run.stdout.fnmatch_lines(["*ifuqa applicability (from product headers)*"])


# ------------------------------------------------------------------- real MIRI MRS cubes

needs_real = pytest.mark.skipif(not REAL.is_dir(),
                                reason=f"real JWST products not present at {REAL}")


@needs_real
def test_real_miri_cubes_through_the_s3d_checks(pytester: pytest.Pytester,
                                                tmp_path: Path) -> None:
    cubes = sorted(REAL.glob("miri_mrs_*_s3d.fits.gz"))
    assert len(cubes) == 2
    before = {p: _sha(p) for p in cubes}
    results = tmp_path / "results.json"
    run = pytester.runpytest_subprocess(*[f"--ifuqa-data={p}" for p in cubes],
                                        f"--ifuqa-results={results}", "-p", "no:cacheprovider")
    assert run.ret == 0, run.stdout.str()[-3000:]
    payload = json.loads(results.read_text())
    by = {(r["dataset"], r["metric"]): r for r in payload["records"]}
    star = "miri_mrs_16cygb_ch4-short"
    galaxy = "miri_mrs_ngc7469_ch4-short"
    hole = by[(star, "psf_peak_hole_depth")]
    assert hole["verdict"] == "pass" and 0.0 <= hole["value"] < 10.0
    drift = by[(star, "centroid_drift")]
    assert drift["verdict"] == "pass" and 0.0 < drift["value"] < 30.0  # mas, a real star
    # processed with jwst 1.13.4 (the NS-IFU01 fix since 1.11.3): no hole at the nucleus either
    # (measured 7.8 %, the circumnuclear structure of an extended source)
    galaxy_hole = by[(galaxy, "psf_peak_hole_depth")]
    assert galaxy_hole["verdict"] == "pass" and galaxy_hole["value"] < 10.0, galaxy_hole
    # the star's brightest spaxel in ch4 (PSF FWHM ~2 spaxels) does not wiggle above the noise:
    # measured 0.97 % against a 1.96 % noise amplitude (Fourier ratio 1.2), limit 2.5 %
    wiggle = by[(star, "spaxel_wiggle_amplitude")]
    assert wiggle["verdict"] == "pass", wiggle
    app = payload["applicability"]
    assert app[star]["NS-IFU03"]["status"] == NOT_APPLICABLE
    assert app[galaxy]["NS-IFU06"]["status"] == NOT_APPLICABLE  # SRCTYPE=EXTENDED
    assert "1.13.4" in app[galaxy]["NS-IFU01"]["reason"]
    skipped = [r for r in payload["records"] if r["verdict"] == "skip"]
    assert all(r["message"] for r in skipped)
    assert {p: _sha(p) for p in cubes} == before


@needs_real
def test_real_cube_reads_with_its_wcs() -> None:
    cube = read_cube(REAL / "miri_mrs_16cygb_ch4-short_s3d.fits.gz")
    assert cube.instrument == "MIRI" and cube.data.shape[0] == cube.wavelength_um.size
    assert 17.5 < cube.wavelength_um[0] < cube.wavelength_um[-1] < 21.5
    assert 0.2 < cube.spaxel_arcsec < 0.4
    ra, dec = cube.pixel_to_sky(np.array([10.0]), np.array([10.0]), cube.wavelength_um[:1])
    assert np.isfinite(ra).all() and np.isfinite(dec).all()


@needs_real
@pytest.mark.parametrize("name", ["miri_mrs_16cygb_ch4-short", "miri_mrs_ngc7469_ch4-short"])
def test_real_cube_wavelengths_from_gwcs_and_fits_wcs_agree(name: str) -> None:
    """The datamodel's gwcs (what ``read_cube`` and jwst's extract_1d use) and astropy's
    reading of the SCI header's spectral WCS give the same wavelengths: to the last bit but
    one (measured 2.2e-16 relative), and the header's linear axis CRVAL3 + k CDELT3."""
    from astropy.io import fits

    path = REAL / f"{name}_s3d.fits.gz"
    cube = read_cube(path)
    header = fits.getheader(path, "SCI")
    assert header["CTYPE3"] == "WAVE" and header["CUNIT3"] == "um"
    np.testing.assert_allclose(cube.wavelength_um, fits_wavelengths_um(path), rtol=1e-15, atol=0)
    linear = header["CRVAL3"] + (np.arange(header["NAXIS3"]) + 1 - header["CRPIX3"]) * header[
        "CDELT3"]
    np.testing.assert_allclose(cube.wavelength_um, linear, rtol=1e-15, atol=0)


def _wave_tab_cube(path: Path, wave: np.ndarray, *, gwcs_wavelengths: bool = True) -> Path:
    """An s3d on a non-linear wavelength grid as jwst's cube_build writes it with
    ``linear_wave=False``: ``CTYPE3 = 'WAVE-TAB'`` (CRVAL3 = CRPIX3 = 1, no CDELT3), the table
    in ``WCS-TABLE``, the gwcs from jwst's ``create_fitswcs`` (a Tabular1D on the table).
    ``gwcs_wavelengths=False`` writes a gwcs whose wavelengths are all NaN."""
    from jwst.assign_wcs.pointing import create_fitswcs
    from stdatamodels.jwst import datamodels

    spec = PointCubeSpec(**{**SMALL.__dict__, "shape": (wave.size, 25, 25)})
    model = datamodels.open(write_point_cube(path, spec))
    n = wave.size

    def table(values: np.ndarray) -> np.ndarray:
        return np.array([(values.astype(np.float32)[None].T,)],
                        dtype=[("wavelength", "<f4", (n, 1))])

    info = model.meta.wcsinfo
    info.ctype3, info.ps3_0, info.ps3_1 = "WAVE-TAB", "WCS-TABLE", "wavelength"
    info.crval3, info.crpix3, info.cdelt3 = 1.0, 1.0, None
    model.wavedim = f"(1,{n:d})"
    model.wavetable = table(wave if gwcs_wavelengths else np.full(n, np.nan))
    model.meta.wcs = create_fitswcs(model)
    model.meta.wcs.bounding_box = ((0, 24), (0, 24), (0, n - 1))
    model.wavetable = table(wave)
    model.save(path)
    model.close()
    return path


@pytest.mark.parametrize("gwcs_wavelengths", [True, False], ids=["gwcs", "header-only"])
def test_wave_tab_cube_wavelengths(tmp_path: Path, gwcs_wavelengths: bool) -> None:
    """A tabular (WAVE-TAB) cube's wavelengths are its table's, from the gwcs or, when the gwcs
    gives none, from the header's -TAB axis read by astropy — not CRVAL3 + k CDELT3, which
    such a header does not have."""
    wave = np.geomspace(2.9, 3.3, 240).astype(np.float32)
    path = _wave_tab_cube(tmp_path / "tab_s3d.fits", wave, gwcs_wavelengths=gwcs_wavelengths)
    np.testing.assert_array_equal(fits_wavelengths_um(path), wave.astype(float))
    cube = read_cube(path)
    np.testing.assert_array_equal(cube.wavelength_um, wave.astype(float))


def _rescaled_x1d(path: Path, out: Path, scale: dict[str, tuple[str, float]]) -> Path:
    """A copy of an x1d with columns rewritten in other units (``name: (unit, factor)``)."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        table = hdul["EXTRACT1D"]
        for name, (unit, factor) in scale.items():
            table.data[name] *= factor
            table.columns[name].unit = unit
        hdul.writeto(out)
    return out


def test_x1d_columns_are_read_in_their_units(tmp_path: Path) -> None:
    """WAVELENGTH, FLUX and FLUX_ERROR are read in the units their TUNITn give (as the jwst
    datamodels hold them) and converted to um and Jy; a flux that is no flux density is an
    error naming the unit."""
    path = write_point_x1d(tmp_path / "obs_x1d.fits", SMALL)
    reference = read_spectrum(path)
    other = read_spectrum(_rescaled_x1d(path, tmp_path / "nm_mjy_x1d.fits", {
        "WAVELENGTH": ("nm", 1e3), "FLUX": ("mJy", 1e3), "FLUX_ERROR": ("mJy", 1e3)}))
    np.testing.assert_allclose(other.wavelength_um, reference.wavelength_um, rtol=1e-14)
    np.testing.assert_allclose(other.flux_jy, reference.flux_jy, rtol=1e-14)
    np.testing.assert_allclose(other.error_jy, reference.error_jy, rtol=1e-14)
    bad = _rescaled_x1d(path, tmp_path / "sb_x1d.fits", {"FLUX": ("MJy/sr", 1.0)})
    with pytest.raises(ProductError, match=r"flux unit 'MJy/sr'") as info:
        read_spectrum(bad)
    assert str(bad) in str(info.value)


@needs_real
@pytest.mark.parametrize("name", [
    "jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits",
    "nirspec_ifu_snap2_jw01128-o002_t016_nirspec_prism-clear_x1d.fits",
])
def test_real_x1d_wavelengths_are_the_datamodels(name: str) -> None:
    """A pipeline x1d's WAVELENGTH column (TUNIT 'um') is read unchanged, within the band of its
    disperser."""
    from stdatamodels.jwst import datamodels

    spec = read_spectrum(REAL / name)
    with datamodels.open(REAL / name) as model:
        table = model.spec[0].spec_table
        assert table.columns["wavelength"].unit == "um"
        np.testing.assert_array_equal(spec.wavelength_um, np.asarray(table["WAVELENGTH"], float))
    lo, hi = (2.87, 5.27) if "g395m" in name else (0.6, 5.3)
    finite = spec.wavelength_um[np.isfinite(spec.wavelength_um)]
    assert lo - 0.1 < finite.min() < finite.max() < hi + 0.1


def test_discovery_prefers_crf_and_reads_gzip(tmp_path: Path) -> None:
    from ifuqa.products.discovery import discover

    for name in ("jw01234001001_03101_00001_nrs1_cal.fits",
                 "jw01234001001_03101_00001_nrs1_crf.fits",
                 "jw01234001001_03101_00002_nrs1_cal.fits.gz",
                 "jw01234001001_03101_00001_nrs1_rate.fits"):
        (tmp_path / name).write_bytes(b"")
    (ds,) = discover([tmp_path])
    assert [p.name for p in ds.cal] == ["jw01234001001_03101_00001_nrs1_crf.fits",
                                        "jw01234001001_03101_00002_nrs1_cal.fits.gz"]
    assert len(ds.rate) == 1


def test_user_banding_uses_the_cal_gaps(tmp_path: Path) -> None:
    """Without ifuqa's layout, the unilluminated pixels are the cal file's undefined ones; a
    rate without a cleaned version skips, saying how much banding it shows."""
    from stdatamodels.jwst import datamodels

    from ifuqa.evaluate import ns_ifu03
    from ifuqa.simulate.noise import NoiseModel, one_over_f_frame

    rng = np.random.default_rng(3)
    banding = one_over_f_frame((2048, 2048), model=NoiseModel(), rng=rng) / 1000.0
    cal_data = np.full((2048, 2048), np.nan, dtype=np.float32)
    for start in range(200, 1900, 56):  # slices: 28 rows lit, 28 rows dark
        cal_data[start:start + 28] = 1.0
    stem = "jw01234001001_03101_00001_nrs2"
    for suffix, data in (("rate", banding), ("nsclean", banding * 0.05), ("cal", cal_data)):
        model = datamodels.IFUImageModel(data=np.asarray(data, dtype=np.float32))
        model.meta.telescope = "JWST"
        model.meta.instrument.name = "NIRSPEC"
        model.meta.instrument.detector = "NRS2"
        model.save(tmp_path / f"{stem}_{suffix}.fits")
    ds = Dataset(name="user", rate=[tmp_path / f"{stem}_rate.fits"],
                 cleaned=[tmp_path / f"{stem}_nsclean.fits"], cal=[tmp_path / f"{stem}_cal.fits"])
    result = ns_ifu03.banding(ds, TH)
    assert result.verdict == "pass" and result.value < 0.1, result.describe()
    dirty = Dataset(name="user", rate=ds.rate, cleaned=[tmp_path / f"{stem}_rate.fits"],
                    cal=ds.cal)
    assert ns_ifu03.banding(dirty, TH).verdict == "fail"
    alone = Dataset(name="user", rate=ds.rate, cal=ds.cal)
    with pytest.raises(NotApplicable, match="no cleaned rate"):
        ns_ifu03.banding(alone, TH)
    # each exposure is measured once per version of its images (the fixed and defect datasets
    # share them): a copy of the cleaned image elsewhere gives the same result, a cleaned image
    # that changed is measured again, never taken from the memo
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    copied = copy_dir / f"{stem}_nsclean.fits"
    copied.write_bytes((tmp_path / f"{stem}_nsclean.fits").read_bytes())
    again = ns_ifu03.banding(Dataset(name="user", rate=ds.rate, cleaned=[copied], cal=ds.cal), TH)
    assert (again.value, again.uncertainty) == (result.value, result.uncertainty)
    with datamodels.open(copied) as model:
        model.data = np.asarray(banding * 0.5, dtype=np.float32)
        model.save(copied)
    changed = ns_ifu03.banding(Dataset(name="user", rate=ds.rate, cleaned=[copied], cal=ds.cal),
                               TH)
    assert changed.value == pytest.approx(0.5, abs=0.05), changed.describe()


def test_applicability_table_html() -> None:
    from ifuqa.report.html import applicability_html

    table = applicability_html({"obs1": {
        "NS-IFU01": {"status": "affected", "reason": "x_s3d.fits: processed with jwst 1.10.0"},
        "NS-IFU03": {"status": "not applicable", "reason": "MIRI <detector>"}}})
    assert 'id="ifuqa-applicability"' in table
    assert "ifuqa-app-affected" in table and "ifuqa-app-not-applicable" in table
    assert "jwst 1.10.0" in table and "&lt;detector&gt;" in table


def test_ifuqa_check_gates_a_users_products(tmp_path: Path) -> None:
    """`ifuqa check --generate-baseline` then `--baseline`: the same products pass the gate;
    a cube whose source moved fails it (and the metric's test)."""
    from ifuqa.cli import main

    data = tmp_path / "reduction"
    data.mkdir()
    write_point_cube(data / "jw00003001001_obs_s3d.fits", SMALL)
    write_point_x1d(data / "jw00003001001_obs_x1d.fits", SMALL)
    baseline = tmp_path / "baseline.json"
    assert main(["check", str(data), "-m", "ns_ifu06", "--generate-baseline",
                 str(baseline)]) == 0
    assert json.loads(baseline.read_text())["format"].startswith("ifuqa-baseline")
    assert main(["check", str(data), "-m", "ns_ifu06", "--baseline", str(baseline)]) == 0
    moved = PointCubeSpec(**{**SMALL.__dict__, "drift_xy": (0.2, 0.0)})
    write_point_cube(data / "jw00003001001_obs_s3d.fits", moved)
    assert main(["check", str(data), "-m", "ns_ifu06", "--baseline", str(baseline)]) == 1
