"""The IFU cube builder (jwst's drizzle and Shepard kernels) against known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from ifuqa.instrument import Pointing, get_disperser, pixel_map
from ifuqa.process.jwst_api.cube_build import (
    CUBE_KERNEL_SIGNATURES,
    NON_SCIENCE,
    CubeKernelError,
    check_cube_kernels,
)
from ifuqa.process.stages.cube_building import build_cube, grid_for
from ifuqa.process.stages.point_cloud import PointCloud, point_cloud

WINDOW = (3.8, 3.85)
INTERIOR = (3.81, 3.84)  # planes fully covered by every slice despite the slice column shifts
DITHERS = [(0.0, 0.0), (0.052, 0.053), (-0.051, 0.105), (0.104, -0.052)]
TARGET = Pointing(150.0, 2.0, 30.0)
BLOB_SIGMA = 0.2  # arcsec
BLOB_FLUX_MJY = 1.0
SB = 7.5  # MJy/sr of the uniform scene
ARCSEC2_SR = (np.pi / 180 / 3600) ** 2


@pytest.fixture(scope="module")
def disperser():
    return get_disperser("G395H", "F290LP")


@pytest.fixture(scope="module")
def pixmap(disperser):
    return pixel_map(disperser, "NRS1", wavelength_window_um=WINDOW)


@pytest.fixture(scope="module")
def blob_radec():
    return TARGET.ifu_to_sky(np.array(0.13), np.array(-0.21))


def _pointings(target: Pointing) -> list[Pointing]:
    return [target.offset_by_ifu(-dx, -dy) for dx, dy in DITHERS]


def _clouds(pixmap, values_for, target: Pointing = TARGET) -> list[PointCloud]:
    out = []
    for i, p in enumerate(_pointings(target)):
        img = np.full((2048, 2048), np.nan)
        img[pixmap.y, pixmap.x] = values_for(p)
        out.append(point_cloud(pixmap, p, img, 0.01 * np.abs(img), exposure=f"exp{i}"))
    return out


def _blob_values(pixmap, blob_radec):
    """MJy/sr per pixel: the Gaussian integrated over the footprint, over its solid angle."""
    def values(p: Pointing) -> np.ndarray:
        a0, b0 = p.sky_to_ifu(*blob_radec)
        s = BLOB_SIGMA
        fa = ndtr((pixmap.across_hi - a0) / s) - ndtr((pixmap.across_lo - a0) / s)
        fb = ndtr((pixmap.along_hi - b0) / s) - ndtr((pixmap.along_lo - b0) / s)
        omega = ((pixmap.across_hi - pixmap.across_lo) * (pixmap.along_hi - pixmap.along_lo)
                 * ARCSEC2_SR)
        return BLOB_FLUX_MJY * fa * fb / omega
    return values


@pytest.fixture(scope="module")
def blob_clouds(pixmap, blob_radec):
    return _clouds(pixmap, _blob_values(pixmap, blob_radec))


@pytest.fixture(scope="module")
def uniform_clouds(pixmap):
    return _clouds(pixmap, lambda p: np.full(pixmap.size, SB))


_CACHE: dict = {}


def _cube(clouds, disperser, spaxel=0.1, weighting="drizzle", coord_system="skyalign"):
    key = (id(clouds), spaxel, weighting, coord_system)
    if key not in _CACHE:
        grid = grid_for(clouds, spaxel_arcsec=spaxel, disperser=disperser,
                        coord_system=coord_system)
        _CACHE[key] = build_cube(clouds, grid, weighting=weighting)
    return _CACHE[key]


def _interior(model) -> np.ndarray:
    z = np.arange(model.data.shape[0])
    lam = model.meta.wcs(np.zeros_like(z), np.zeros_like(z), z)[2]
    return (lam >= INTERIOR[0]) & (lam <= INTERIOR[1])


def _spaxel_ifu(model, pointing: Pointing) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = model.data.shape[1:]
    y, x = np.mgrid[:ny, :nx]
    ra, dec, _ = model.meta.wcs(x, y, np.zeros_like(x))
    return pointing.sky_to_ifu(ra, dec)


def _centroid_radec(model) -> tuple[float, float]:
    image = np.nansum(model.data[_interior(model)], axis=0)
    ny, nx = image.shape
    y, x = np.mgrid[:ny, :nx]
    total = image.sum()
    xc, yc = (image * x).sum() / total, (image * y).sum() / total
    ra, dec, _ = model.meta.wcs(xc, yc, 0)
    return float(ra), float(dec)


# ------------------------------------------------------------------------------- kernels
def test_kernel_check_passes():
    check_cube_kernels()


def test_kernel_check_names_the_broken_symbol(monkeypatch):
    import jwst.cube_build.cube_match_sky_driz as driz

    # a jwst release whose drizzle kernel returns the wrong tuple
    monkeypatch.setattr(driz, "cube_wrapper_driz", lambda *args: (np.zeros(3),) * 4)
    with pytest.raises(CubeKernelError, match="cube_wrapper_driz"):
        check_cube_kernels()


def test_kernel_signatures_are_documented():
    assert set(CUBE_KERNEL_SIGNATURES) == {
        "jwst.cube_build.cube_match_sky_driz.cube_wrapper_driz",
        "jwst.cube_build.cube_match_sky_pointcloud.cube_wrapper",
        "jwst.cube_build.coord.radec2std",
    }


# ------------------------------------------------------------------------------- clouds
def test_point_cloud_drops_bad_pixels_and_sorts_by_wavelength(pixmap):
    img = np.ones((2048, 2048))
    img[pixmap.y[:10], pixmap.x[:10]] = np.nan
    good = np.ones((2048, 2048), dtype=bool)
    good[pixmap.y[10:30], pixmap.x[10:30]] = False
    cloud = point_cloud(pixmap, TARGET, img, img, good_mask=good)
    assert cloud.size == pixmap.size - 30
    assert np.all(np.diff(cloud.wavelength_um) >= 0)
    assert cloud.corner_ra.shape == (4, cloud.size)
    assert cloud.slice_no.min() == 1 and cloud.slice_no.max() == 30
    # corners enclose the centre
    assert np.all(cloud.corner_dec.min(axis=0) < cloud.dec)
    assert np.all(cloud.corner_dec.max(axis=0) > cloud.dec)


# ------------------------------------------------------------------------------- grid
def test_grid_covers_data_with_default_step(uniform_clouds, disperser):
    grid = grid_for(uniform_clouds, disperser=disperser)
    assert grid.wave_step_um == disperser.cube_step_um
    assert grid.nx % 2 == 1 and grid.ny % 2 == 1
    lam_min = min(c.wavelength_um[0] for c in uniform_clouds)
    assert grid.zcoord[0] == pytest.approx(lam_min + grid.wave_step_um / 2)
    assert grid.zcoord[-1] + grid.wave_step_um / 2 >= max(
        c.wavelength_um[-1] for c in uniform_clouds)
    sub = grid_for(uniform_clouds, disperser=disperser, wavelength_range_um=(3.82, 3.83))
    assert sub.zcoord[0] == pytest.approx(3.82 + sub.wave_step_um / 2)
    assert sub.nz == 16


# ------------------------------------------------------------------------------- drizzle
@pytest.mark.parametrize("spaxel", [0.05, 0.1, 0.2])
def test_drizzle_uniform_scene_is_uniform(uniform_clouds, disperser, spaxel):
    model = _cube(uniform_clouds, disperser, spaxel)
    cube = model.data[_interior(model)]
    across, along = _spaxel_ifu(model, TARGET)
    inside = (np.abs(across) < 1.3) & (np.abs(along) < 1.3)
    assert np.all(np.isfinite(cube[:, inside]))
    np.testing.assert_allclose(cube[:, inside], SB, rtol=0.01)
    finite = np.isfinite(model.data)
    np.testing.assert_allclose(model.data[finite], SB, rtol=0.01)
    assert np.all((model.dq[~finite] & NON_SCIENCE) != 0)
    assert np.all(model.dq[finite] == 0)
    assert np.all(model.weightmap[~finite] == 0)


@pytest.mark.parametrize("spaxel", [0.05, 0.1, 0.2])
def test_drizzle_conserves_flux_and_position(blob_clouds, disperser, blob_radec, spaxel):
    model = _cube(blob_clouds, disperser, spaxel)
    planes = model.data[_interior(model)]
    omega = (spaxel**2) * ARCSEC2_SR
    per_plane = np.nansum(planes, axis=(1, 2)) * omega
    np.testing.assert_allclose(per_plane, BLOB_FLUX_MJY, rtol=0.01)
    ra, dec = _centroid_radec(model)
    xi, eta = TARGET.sky_to_ifu(np.array(ra), np.array(dec))
    bx, by = TARGET.sky_to_ifu(*blob_radec)
    assert np.hypot(xi - bx, eta - by) * 1000 < 10.0


@pytest.mark.parametrize("coord_system", ["skyalign", "ifualign"])
def test_blob_at_its_sky_position_in_both_frames(blob_clouds, disperser, blob_radec,
                                                 coord_system):
    model = _cube(blob_clouds, disperser, 0.1, coord_system=coord_system)
    ra, dec = _centroid_radec(model)
    sep = np.hypot((ra - blob_radec[0]) * np.cos(np.deg2rad(dec)), dec - blob_radec[1])
    assert sep * 3.6e6 < 10.0
    pc = model.meta.wcsinfo
    if coord_system == "skyalign":
        assert pc.pc1_1 == pytest.approx(-1.0) and pc.pc2_2 == pytest.approx(1.0)
    else:
        # jwst's ifualign angle: 90° + PA of the along-slice axis; slices run along x
        assert pc.pc1_1 == pytest.approx(-np.cos(np.deg2rad(120.0)), abs=1e-6)
        ny, nx = model.data.shape[1:]
        ra0, dec0, _ = model.meta.wcs(nx // 2, ny // 2, 0)
        ra1, dec1, _ = model.meta.wcs(nx // 2 + 1, ny // 2, 0)
        p = Pointing(float(ra0), float(dec0), TARGET.pa_deg)
        d_across, d_along = p.sky_to_ifu(np.array(ra1), np.array(dec1))
        assert d_along == pytest.approx(0.1, abs=1e-4)
        assert d_across == pytest.approx(0.0, abs=1e-4)


def test_chunking_and_workers_do_not_change_the_result(blob_clouds, disperser):
    grid = grid_for(blob_clouds, disperser=disperser, wavelength_range_um=(3.82, 3.828))
    for weighting in ("drizzle", "emsm"):
        one = build_cube(blob_clouds, grid, weighting=weighting, chunk_planes=grid.nz)
        many = build_cube(blob_clouds, grid, weighting=weighting, chunk_planes=1, workers=2)
        np.testing.assert_allclose(many.data, one.data, rtol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(many.weightmap, one.weightmap)


# ------------------------------------------------------------------------------- shepard
@pytest.mark.parametrize("weighting", ["emsm", "msm"])
def test_shepard_weightings_peak_at_the_blob(blob_clouds, disperser, blob_radec, weighting):
    model = _cube(blob_clouds, disperser, 0.1, weighting=weighting)
    assert model.meta.ifu.weighting == weighting
    planes = model.data[_interior(model)]
    assert np.isfinite(planes).mean() > 0.5
    count = np.isfinite(planes).sum(axis=0)
    image = np.where(count > 0, np.nansum(planes, axis=0) / np.maximum(count, 1), np.nan)
    iy, ix = np.unravel_index(np.nanargmax(image), image.shape)
    ra, dec, _ = model.meta.wcs(ix, iy, 0)
    sep = np.hypot((ra - blob_radec[0]) * np.cos(np.deg2rad(dec)), dec - blob_radec[1])
    assert sep * 3600 < 0.1 * 1.5
    ra, dec = _centroid_radec(model)
    sep = np.hypot((ra - blob_radec[0]) * np.cos(np.deg2rad(dec)), dec - blob_radec[1])
    assert sep * 3600 < 0.03


def test_rejects_unknown_weighting(blob_clouds, disperser):
    grid = grid_for(blob_clouds, disperser=disperser)
    with pytest.raises(ValueError, match="weighting"):
        build_cube(blob_clouds, grid, weighting="area")


# ------------------------------------------------------------------------------- output
def test_s3d_round_trip(blob_clouds, disperser, tmp_path):
    from astropy.io import fits
    from astropy.wcs import WCS
    from stdatamodels.jwst import datamodels

    model = _cube(blob_clouds, disperser, 0.1, coord_system="ifualign")
    path = tmp_path / "cube_s3d.fits"
    model.save(path)
    with datamodels.open(path) as back:
        assert isinstance(back, datamodels.IFUCubeModel)
        assert back.meta.bunit_data == "MJy/sr" and back.meta.bunit_err == "MJy/sr"
        np.testing.assert_array_equal(back.data, model.data)
        np.testing.assert_array_equal(back.dq, model.dq)
        np.testing.assert_array_equal(back.weightmap, model.weightmap)
        nz, ny, nx = back.data.shape
        x = np.array([0.0, nx / 2, nx - 1.0])
        y = np.array([0.0, ny - 1.0, ny / 3])
        z = np.array([0.0, nz / 2, nz - 1.0])
        ra, dec, lam = back.meta.wcs(x, y, z)
        ra0, dec0, lam0 = model.meta.wcs(x, y, z)
        np.testing.assert_allclose(ra, ra0, rtol=0, atol=1e-10)
        np.testing.assert_allclose(dec, dec0, rtol=0, atol=1e-10)
        np.testing.assert_allclose(lam, lam0, rtol=1e-12)
        xb, yb, zb = back.meta.wcs.invert(ra, dec, lam)
        np.testing.assert_allclose([xb, yb, zb], [x, y, z], atol=1e-6)
    with fits.open(path) as hdul:
        header = hdul["SCI"].header
        assert header["CTYPE1"] == "RA---TAN" and header["CTYPE3"] == "WAVE"
        w = WCS(header)
    wra, wdec, wlam = w.wcs_pix2world(x, y, z, 0)
    to_um = {"m": 1e6, "um": 1.0}[str(w.wcs.cunit[2])]
    np.testing.assert_allclose(wra, ra0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(wdec, dec0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(wlam * to_um, lam0, rtol=1e-9)
