"""jwst's Extract1dStep itself on small synthetic cubes, with ifuqa's reference files (no CRDS)."""

from __future__ import annotations

import numpy as np
import pytest

from ifuqa.builds.analytic_products import PointCubeSpec, point_cube_data
from ifuqa.instrument.psf import DiffractionPSF
from ifuqa.process.jwst_api.extract_1d_step import (
    load_reference,
    read_apcorr_reference,
    read_extract1d_reference,
    run_extract_1d_step,
    write_apcorr_reference,
)
from ifuqa.process.stages.extraction import APCORR_RADIUS_ROWS, extract_with_step

SPAXEL = 0.1
RADIUS_ARCSEC = 0.3


@pytest.fixture(autouse=True)
def no_crds(monkeypatch):
    """Any call that would reach CRDS fails the test."""
    import crds
    from stpipe import crds_client

    def refuse(*args, **kwargs):
        raise AssertionError("CRDS was asked for something")

    for name in ("get_reference_file", "get_multiple_reference_paths", "get_context_used"):
        monkeypatch.setattr(crds_client, name, refuse)
    monkeypatch.setattr(crds, "getreferences", refuse)


def _spec(**kw) -> PointCubeSpec:
    base = {"shape": (24, 25, 25), "wave_range_um": (2.9, 5.2), "spaxel_arcsec": SPAXEL,
            "center_xy": (12.3, 11.8), "flux_jy": 1e-3, "noise_fraction": 0.0}
    base.update(kw)
    return PointCubeSpec(**base)


def _cube(spec: PointCubeSpec, *, weight: float = 1.0):
    """An in-memory IFUCubeModel of the analytic point source (gwcs, target, disperser)."""
    from stdatamodels.jwst import datamodels

    from ifuqa.builds.analytic_products import _grid

    data, err, _ = point_cube_data(spec)
    grid = _grid(spec)
    cube = datamodels.IFUCubeModel(data=data, err=err, dq=np.zeros(data.shape, np.uint32),
                                   weightmap=np.full(data.shape, weight, np.float32))
    meta = cube.meta
    meta.instrument.name, meta.instrument.detector = "NIRSPEC", "NRS1"
    meta.instrument.grating, meta.instrument.filter = "G395H", "F290LP"
    meta.exposure.type = "NRS_IFU"
    meta.target.source_type = spec.srctype
    meta.target.ra, meta.target.dec = grid.crval1, grid.crval2
    meta.bunit_data = meta.bunit_err = spec.bunit
    for key, value in grid.wcs_keywords().items():
        setattr(meta.wcsinfo, key, value)
    meta.wcs = grid.gwcs()
    meta.photometry.pixelarea_steradians = grid.spaxel_solid_angle_sr
    return cube


def _psf(spec: PointCubeSpec) -> DiffractionPSF:
    return DiffractionPSF(spec.wave_range_um[0], spec.wave_range_um[1] + 1e-6, n_wavelengths=8)


def _wave(spec: PointCubeSpec) -> np.ndarray:
    return np.linspace(*spec.wave_range_um, spec.shape[0])


def _exact_apcorr(spec: PointCubeSpec):
    """The exact aperture correction of the analytic cube for an aperture at (x, y): the inverse
    of the fraction of the PSF (integrated over each spaxel, as the cube holds it) that the
    photutils exact circular aperture collects."""
    from photutils.aperture import CircularAperture

    psf, wave = _psf(spec), _wave(spec)
    _, ny, nx = spec.shape
    sx, sy = spec.center_xy
    x0 = ((np.arange(nx) - 0.5 - sx) * SPAXEL)[None, :] * np.ones((ny, 1))
    y0 = ((np.arange(ny) - 0.5 - sy) * SPAXEL)[:, None] * np.ones((1, nx))
    planes = np.array([psf.rect_integral(np.full(x0.size, w), x0.ravel(), x0.ravel() + SPAXEL,
                                         y0.ravel(), y0.ravel() + SPAXEL).reshape(ny, nx)
                       for w in wave])

    def apcorr_for_center(center):
        rows = np.array([k * np.full(wave.shape, RADIUS_ARCSEC) for k in APCORR_RADIUS_ROWS])
        ee = np.array([[float((CircularAperture(center, r / SPAXEL).to_mask(method="exact")
                               .to_image((ny, nx)) * planes[k]).sum())
                        for k, r in enumerate(row)] for row in rows])
        return rows, 1.0 / ee

    return apcorr_for_center


def _flux(result) -> np.ndarray:
    return np.asarray(result.model.spec[0].spec_table["FLUX"], dtype=float)


def test_step_flux_of_a_known_point_source_is_its_true_flux():
    """Centred on the true position with the exact aperture correction, the Step's flux is the
    true flux to float32 precision (the reference tables are float32): |ratio - 1| < 1e-5."""
    spec = _spec()
    cube = _cube(spec)
    result = run_extract_1d_step(cube, wavelength_um=_wave(spec), radius_arcsec=RADIUS_ARCSEC,
                                 apcorr_for_center=_exact_apcorr(spec),
                                 center_xy=spec.center_xy)
    assert result.centering == "center_xy" and result.runs == 1
    assert result.center_xy == pytest.approx(spec.center_xy, abs=1e-9)
    np.testing.assert_allclose(_flux(result) / spec.flux_jy, 1.0, atol=1e-5)
    assert result.model.meta.cal_step.extract_1d == "COMPLETE"
    assert not np.any(result.model.spec[0].spec_table["DQ"])


def test_without_the_aperture_correction_the_flux_is_the_encircled_part():
    """The correction the Step applied is the APCORR file's: a table of ones gives the raw
    aperture sum, 8-13 % below the truth for r = 0.3" at 2.9-5.2 µm (measured 0.923 → 0.870)."""
    spec = _spec()
    wave = _wave(spec)
    ones = lambda c: (np.array([k * np.full(wave.shape, RADIUS_ARCSEC)  # noqa: E731
                                for k in APCORR_RADIUS_ROWS]), np.ones((2, wave.size)))
    raw = _flux(run_extract_1d_step(_cube(spec), wavelength_um=wave,
                                    radius_arcsec=RADIUS_ARCSEC, apcorr_for_center=ones,
                                    center_xy=spec.center_xy)) / spec.flux_jy
    exact = _exact_apcorr(spec)(spec.center_xy)[1][0]
    np.testing.assert_allclose(raw * exact, 1.0, atol=1e-5)
    assert 0.85 < raw.min() and raw.max() < 0.95


def test_ifu_autocen_finds_an_off_centre_source():
    """ifu_autocen (DAOStarFinder on the median image) centres the Step on a source 4 spaxels
    off the cube centre: within 0.05 spaxel of the truth (measured 0.034), the predicted centre
    is the Step's (one run), and the flux is within 0.5 % of the truth (measured +0.06 %: the
    aperture is off the true position by the centroid error). Without it the Step extracts at
    the target's spaxel, 4.9 spaxels away, and collects 1.9 % of the flux."""
    spec = _spec(center_xy=(8.4, 15.7), noise_fraction=1e-3, seed=3)
    cube = _cube(spec)
    result = run_extract_1d_step(cube, wavelength_um=_wave(spec), radius_arcsec=RADIUS_ARCSEC,
                                 apcorr_for_center=_exact_apcorr(spec))
    assert result.centering == "ifu_autocen" and result.runs == 1
    assert np.hypot(result.center_xy[0] - 8.4, result.center_xy[1] - 15.7) < 0.05
    spec_row = result.model.spec[0]
    assert (spec_row.extraction_x, spec_row.extraction_y) == result.center_xy
    np.testing.assert_allclose(np.median(_flux(result)) / spec.flux_jy, 1.0, atol=5e-3)
    at_source = _exact_apcorr(spec)(spec.center_xy)  # the correction of an aperture on source
    nominal = run_extract_1d_step(cube, wavelength_um=_wave(spec), radius_arcsec=RADIUS_ARCSEC,
                                  apcorr_for_center=lambda c: at_source, autocenter=False)
    # without ifu_autocen the Step centres on the target's spaxel (the cube's reference pixel)
    assert nominal.centering == "nominal"
    assert nominal.center_xy == (12.0, 12.0)
    assert np.median(_flux(nominal)) < 0.1 * spec.flux_jy


def test_the_override_files_are_what_ifuqa_wrote(tmp_path):
    """The Step used the two files ifuqa wrote (and only them: every other type is N/A), and
    they hold ifuqa's radii and corrections as jwst reads them."""
    from jwst.extract_1d import ifu as jifu

    spec = _spec()
    wave = _wave(spec)
    radius = 0.2 + 0.02 * (wave - wave[0])
    seen = {}

    def apcorr(center):
        rows = np.array([k * radius for k in APCORR_RADIUS_ROWS])
        seen["rows"], seen["corr"] = rows, 1.0 + 0.1 * rows
        return seen["rows"], seen["corr"]

    result = run_extract_1d_step(_cube(spec), wavelength_um=wave, radius_arcsec=radius,
                                 apcorr_for_center=apcorr, center_xy=spec.center_xy,
                                 reference_dir=tmp_path)
    ext, ap = tmp_path / "ifuqa_extract1d.asdf", tmp_path / "ifuqa_apcorr.asdf"
    assert result.references == {"extract1d": str(ext), "apcorr": str(ap), "psf": "N/A"}
    # recorded as Step.run's finalize_result would (the x1d schema has no APCORR entry)
    assert result.model.meta.ref_file.extract1d.name == "ifuqa:ifuqa_extract1d.asdf"
    written = read_extract1d_reference(ext)
    assert written["subtract_background"] is False and written["method"] == "exact"
    np.testing.assert_array_equal(written["radius"], radius.astype(np.float32))
    np.testing.assert_array_equal(written["wavelength"], wave.astype(np.float32))
    params = jifu.get_extract_parameters(load_reference(ext, "Extract1dIFUModel"), 3.0)
    np.testing.assert_array_equal(params["radius"], radius.astype(np.float32))
    assert params["subtract_background"] is False
    table = read_apcorr_reference(ap)
    assert (table["grating"], table["filter"], table["radius_units"]) == ("G395H", "F290LP",
                                                                          "arcsec")
    np.testing.assert_array_equal(table["radius"], seen["rows"].astype(np.float32))
    np.testing.assert_array_equal(table["apcorr"], seen["corr"].astype(np.float32))
    # the correction the Step applied is the table's first row (the radius itself)
    raw = run_extract_1d_step(_cube(spec), wavelength_um=wave, radius_arcsec=radius,
                              apcorr_for_center=lambda c: (seen["rows"], np.ones((2, wave.size))),
                              center_xy=spec.center_xy)
    np.testing.assert_allclose(_flux(result) / _flux(raw), seen["corr"][0], rtol=1e-6)


def test_the_apcorr_writer_refuses_a_table_jwst_cannot_interpolate(tmp_path):
    with pytest.raises(ValueError, match="nradius"):
        write_apcorr_reference(tmp_path / "a.asdf", [1.0, 2.0], [[0.1, 0.1]], [[1.2, 1.2]],
                               grating="G395H", filter_name="F290LP")


def test_the_cube_is_not_modified():
    """The Step clips the weight map to 1 in place: it gets a copy, the cube is untouched."""
    spec = _spec()
    cube = _cube(spec, weight=3.0)
    before = (np.array(cube.data), np.array(cube.weightmap), cube.meta.wcsinfo.dispersion_direction)
    run_extract_1d_step(cube, wavelength_um=_wave(spec), radius_arcsec=RADIUS_ARCSEC,
                        apcorr_for_center=_exact_apcorr(spec), center_xy=spec.center_xy)
    np.testing.assert_array_equal(cube.data, before[0])
    np.testing.assert_array_equal(cube.weightmap, before[1])
    assert cube.meta.wcsinfo.dispersion_direction == before[2] is None


def test_a_cube_in_mjy_is_summed_as_flux_density():
    """A cube of flux-density pixels (the NS-IFU02 defect, BUNIT = MJy) gives Σ value × 10⁶ Jy
    (here the truth, as the analytic cube's MJy values are exact flux densities), and its
    surface brightness stays in MJy/sr."""
    spec_sb, spec_mjy = _spec(), _spec(bunit="MJy")
    kw = {"wavelength_um": _wave(spec_sb), "radius_arcsec": RADIUS_ARCSEC,
          "apcorr_for_center": _exact_apcorr(spec_sb), "center_xy": spec_sb.center_xy}
    sb = run_extract_1d_step(_cube(spec_sb), **kw)
    mjy = run_extract_1d_step(_cube(spec_mjy), **kw)
    np.testing.assert_allclose(_flux(mjy) / spec_mjy.flux_jy, 1.0, atol=1e-5)
    np.testing.assert_allclose(mjy.model.spec[0].spec_table["SURF_BRIGHT"],
                               sb.model.spec[0].spec_table["SURF_BRIGHT"], rtol=1e-5)
    with pytest.raises(ValueError, match="Jy/arcsec2"):
        cube = _cube(spec_sb)
        cube.meta.bunit_data = "Jy/arcsec2"
        run_extract_1d_step(cube, **kw)


@pytest.mark.parametrize("method", ["center", "exact"])
def test_an_extended_source_is_summed_over_the_whole_field(tmp_path, monkeypatch, method):
    """SRCTYPE = EXTENDED: the Step sums every spaxel (no aperture correction), centred on the
    cube's centre, which is what the adapter predicts (one run). The whole-field rectangle's
    edges lie on spaxel boundaries, so photutils' "center" method the adapter writes for it
    gives the sum its "exact" method gives (at a seventh of the time)."""
    from ifuqa.process.jwst_api import extract_1d_step

    monkeypatch.setattr(extract_1d_step, "_WHOLE_FIELD_METHOD", method)
    spec = _spec(srctype="EXTENDED")
    cube = _cube(spec)
    result = run_extract_1d_step(cube, wavelength_um=_wave(spec), radius_arcsec=RADIUS_ARCSEC,
                                 apcorr_for_center=_exact_apcorr(spec), reference_dir=tmp_path)
    assert result.runs == 1 and result.centering.startswith("whole field")
    assert read_extract1d_reference(tmp_path / "ifuqa_extract1d.asdf")["method"] == method
    total = cube.data.sum(axis=(1, 2)) * cube.meta.photometry.pixelarea_steradians * 1e6
    np.testing.assert_allclose(_flux(result), total, rtol=1e-5)


def test_the_stage_extracts_with_ifuqas_psf_correction():
    """The chain's stage: r = 2 FWHM(λ) and the APCORR file from the known PSF
    (encircled_energy_in_cube, which also folds in the slice width and the along-slice pixel of
    a cube made from detector pixels). On the analytic cube (the PSF integrated over spaxels
    only) the flux is within 1 % of the truth (measured +0.28 % to +0.35 %: the detector-pixel
    footprint the correction assumes broadens the PSF, so it over-corrects slightly)."""
    spec = _spec(center_xy=(12.0, 12.3))
    psf = _psf(spec)
    result = extract_with_step(_cube(spec), psf=psf)
    assert result.centering == "ifu_autocen" and result.runs == 1
    ratio = _flux(result) / spec.flux_jy
    assert np.all(np.abs(ratio - 1.0) < 0.01), ratio
    single = extract_with_step(_cube(spec), psf=psf, radius_arcsec=0.05, brightest_spaxel=True)
    assert single.centering == "brightest spaxel" and single.center_xy == (12.0, 12.0)
    npix = np.asarray(single.model.spec[0].spec_table["NPIXELS"])
    np.testing.assert_allclose(npix, np.pi * 0.5**2, rtol=1e-6)  # one spaxel's inscribed disc
