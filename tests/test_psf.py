"""Tests of :mod:`ifuqa.instrument.psf`: FWHM calibration, exact rectangle integrals, PSF cubes
from FITS."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ifuqa.instrument.psf import (
    MEASURED_FWHM_TABLE,
    CubePSF,
    DiffractionPSF,
    PSFError,
    PSFModel,
    measured_fwhm_arcsec,
    obscured_airy_encircled_energy,
)

TABLE_WAVES = MEASURED_FWHM_TABLE[:, 0]


@pytest.fixture(scope="module")
def psf() -> DiffractionPSF:
    """The diffraction model over the full NIRSpec range (default grid, fewer nodes)."""
    return DiffractionPSF(0.6, 5.3, n_wavelengths=12)


@pytest.fixture(scope="module")
def small_psf() -> DiffractionPSF:
    """A small, coarse model for the FITS round trip."""
    return DiffractionPSF(2.9, 5.2, n_wavelengths=5, sampling_arcsec=0.01,
                          half_width_arcsec=1.0)


def _fine_fwhm(model: PSFModel, wavelength: float) -> float:
    """FWHM of ``model.image`` sampled every 0.5 mas along x and along the diagonal."""
    r = np.arange(0.0, 0.25, 0.0005)
    widths = []
    for direction in ((1.0, 0.0), (np.sqrt(0.5), np.sqrt(0.5))):
        profile = model.image(wavelength, r * direction[0], r * direction[1])
        i = np.flatnonzero(profile <= 0.5 * profile[0])[0]
        frac = (profile[i - 1] - 0.5 * profile[0]) / (profile[i - 1] - profile[i])
        widths.append(2.0 * (r[i - 1] + frac * (r[i] - r[i - 1])))
    return float(np.mean(widths))


# -- measured table ----------------------------------------------------------------------------


def test_measured_table_nodes_in_arcsec() -> None:
    assert MEASURED_FWHM_TABLE.shape == (7, 2)
    np.testing.assert_allclose(MEASURED_FWHM_TABLE[0], [0.65, 0.124])
    np.testing.assert_allclose(MEASURED_FWHM_TABLE[-1], [5.2, 0.176])
    assert np.all(np.diff(TABLE_WAVES) > 0)
    with pytest.raises(ValueError, match="read-only"):
        MEASURED_FWHM_TABLE[0, 0] = 1.0


def test_measured_fwhm_interpolation_and_extrapolation() -> None:
    np.testing.assert_allclose(measured_fwhm_arcsec(TABLE_WAVES), MEASURED_FWHM_TABLE[:, 1])
    np.testing.assert_allclose(measured_fwhm_arcsec(0.3), 0.124)
    np.testing.assert_allclose(measured_fwhm_arcsec(5.3), 0.176 * 5.3 / 5.2)
    np.testing.assert_allclose(measured_fwhm_arcsec(2.55), 0.5 * (0.130 + 0.133))
    assert measured_fwhm_arcsec(np.ones((2, 3))).shape == (2, 3)


# -- diffraction model: FWHM -------------------------------------------------------------------


def test_protocol(psf: DiffractionPSF, small_psf: DiffractionPSF) -> None:
    assert isinstance(psf, PSFModel)
    cube = CubePSF(small_psf.node_planes(), small_psf.wavelength_nodes_um, 0.01)
    assert isinstance(cube, PSFModel)
    assert psf.wavelength_range == pytest.approx((0.6, 5.3))


@pytest.mark.parametrize("wavelength", [0.65, 1.475, 2.0, 3.1, 3.94, 4.62, 5.2])
def test_fwhm_matches_measured_table(psf: DiffractionPSF, wavelength: float) -> None:
    expected = float(measured_fwhm_arcsec(wavelength))
    assert _fine_fwhm(psf, wavelength) == pytest.approx(expected, rel=0.03)
    assert float(psf.fwhm_arcsec(wavelength)) == pytest.approx(expected, rel=0.03)


def test_psf_is_undersampled(psf: DiffractionPSF) -> None:
    waves = np.linspace(1.0, 5.0, 9)
    fwhm = psf.fwhm_arcsec(waves)
    assert np.all(fwhm < 0.2)
    assert np.all(np.diff(fwhm) >= -1e-4)
    # broadened beyond pure diffraction (1.03 λ/D) except where diffraction dominates
    assert np.all(psf.sigma_arcsec[psf.wavelength_nodes_um < 4.0] > 0.02)


# -- rectangle integrals -----------------------------------------------------------------------


def test_rect_integral_additive(psf: DiffractionPSF) -> None:
    rng = np.random.default_rng(3)
    n = 5000
    lam = rng.uniform(0.6, 5.3, n)
    x0, y0 = rng.uniform(-2.5, 0.3, (2, n))
    x1, y1 = np.array([x0, y0]) + rng.uniform(0.0, 2.5, (2, n))
    xm, ym = rng.uniform(x0, x1), rng.uniform(y0, y1)
    whole = psf.rect_integral(lam, x0, x1, y0, y1)
    split_x = psf.rect_integral(lam, x0, xm, y0, y1) + psf.rect_integral(lam, xm, x1, y0, y1)
    split_y = psf.rect_integral(lam, x0, x1, y0, ym) + psf.rect_integral(lam, x0, x1, ym, y1)
    np.testing.assert_allclose(split_x, whole, rtol=0, atol=1e-10)
    np.testing.assert_allclose(split_y, whole, rtol=0, atol=1e-10)
    assert np.all(whole >= -1e-15)


def test_rect_integral_symmetric(psf: DiffractionPSF) -> None:
    rng = np.random.default_rng(4)
    n = 2000
    lam = rng.uniform(0.6, 5.3, n)
    x0, y0 = rng.uniform(-0.5, 0.3, (2, n))
    x1, y1 = x0 + 0.1, y0 + 0.105
    ref = psf.rect_integral(lam, x0, x1, y0, y1)
    np.testing.assert_allclose(psf.rect_integral(lam, -x1, -x0, y0, y1), ref, atol=1e-12)
    np.testing.assert_allclose(psf.rect_integral(lam, x0, x1, -y1, -y0), ref, atol=1e-12)
    np.testing.assert_allclose(psf.rect_integral(lam, y0, y1, x0, x1), ref, atol=1e-12)


def test_rect_integral_broadcasts_and_propagates_nan(psf: DiffractionPSF) -> None:
    out = psf.rect_integral(np.array([[1.0], [4.0]]), -0.05, 0.05, np.array([-0.05, np.nan]),
                            0.05)
    assert out.shape == (2, 2)
    assert np.all(np.isnan(out[:, 1]))
    assert np.all((out[:, 0] > 0.05) & (out[:, 0] < 0.5))


def test_infinite_rectangle_is_in_box_fraction(psf: DiffractionPSF) -> None:
    waves = np.array([0.6, 1.0, 2.0, 3.0, 4.0, 5.0, 5.3])
    total = psf.rect_integral(waves, -np.inf, np.inf, -np.inf, np.inf)
    assert np.all(total <= 1.0)
    edge = psf.box_half_width_arcsec[0]
    # far Airy wings beyond the box are missing (~1.5 % at 5 µm), as in the analytic pattern,
    # whose ring-averaged wings (∝ θ⁻³) put 2√2/π of the energy outside the disc outside the box
    outside_disc = 1.0 - obscured_airy_encircled_energy(waves, edge)
    np.testing.assert_allclose(1.0 - total, 2 * np.sqrt(2) / np.pi * outside_disc, rtol=0.1)
    assert 0.01 < 1.0 - total[-2] < 0.02
    inscribed = psf.encircled_energy(waves, edge)
    circumscribed = psf.encircled_energy(waves, edge * np.sqrt(2))
    assert np.all(inscribed < total)
    assert np.all(total < circumscribed)
    np.testing.assert_allclose(total, inscribed, atol=0.005)
    far = psf.encircled_energy(waves, 200.0)
    assert np.all(far <= 1.0)
    np.testing.assert_allclose(far, 1.0, atol=1e-3)  # 1 − EE(200") ≈ 2e-4 at 5 µm


def test_encircled_energy_monotonic_and_consistent(psf: DiffractionPSF) -> None:
    radii = np.linspace(0.0, 3.0, 61)
    ee = psf.encircled_energy(4.0, radii)
    assert ee[0] == 0.0
    assert np.all(np.diff(ee) > 0)
    # a small disc against the integral of the image
    r = np.arange(-0.15, 0.15, 0.001) + 0.0005
    xx, yy = np.meshgrid(r, r)
    dens = psf.image(4.0, xx, yy)
    brute = dens[np.hypot(xx, yy) <= 0.15].sum() * 1e-6
    assert float(psf.encircled_energy(4.0, 0.15)) == pytest.approx(brute, rel=2e-3)
    # the diffraction-limited part dominates the outer encircled energy
    assert float(psf.encircled_energy(5.0, 1.0)) == pytest.approx(
        float(obscured_airy_encircled_energy(5.0, 1.0)), abs=2e-3)


@pytest.mark.parametrize("wavelength", [1.0, 3.0, 5.0])
@pytest.mark.parametrize("offset", [(-0.05, -0.05), (0.0, 0.0), (-0.12, 0.03), (0.05, -0.1)])
def test_rect_integral_matches_integral_of_image(psf: DiffractionPSF, wavelength: float,
                                                 offset: tuple[float, float]) -> None:
    x0, y0 = offset
    n = 200
    centres = (np.arange(n) + 0.5) / n * 0.1
    xx, yy = np.meshgrid(x0 + centres, y0 + centres)
    brute = psf.image(wavelength, xx, yy).sum() * (0.1 / n) ** 2
    exact = float(psf.rect_integral(wavelength, x0, x0 + 0.1, y0, y0 + 0.1))
    assert exact == pytest.approx(brute, rel=0.005)


def test_wavelength_interpolation_continuous(psf: DiffractionPSF) -> None:
    waves = np.linspace(0.6, 5.3, 20001)
    flux = psf.rect_integral(waves, -0.05, 0.05, -0.05, 0.05)
    assert np.max(np.abs(np.diff(flux))) < 2e-3 * flux.max()
    nodes = psf.wavelength_nodes_um
    below = psf.rect_integral(nodes[1:-1] - 1e-9, -0.05, 0.05, -0.05, 0.05)
    above = psf.rect_integral(nodes[1:-1] + 1e-9, -0.05, 0.05, -0.05, 0.05)
    np.testing.assert_allclose(below, above, atol=1e-8)
    # clamped outside the range
    assert float(psf.rect_integral(7.0, -0.05, 0.05, -0.05, 0.05)) == pytest.approx(flux[-1])


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(PSFError):
        DiffractionPSF(3.0, 2.0)
    with pytest.raises(PSFError):
        DiffractionPSF(2.0, 3.0, n_wavelengths=1)


# -- PSF cubes ---------------------------------------------------------------------------------


def test_cube_psf_pixel_sums_exact() -> None:
    rng = np.random.default_rng(5)
    cube = rng.uniform(0.0, 1.0, (3, 9, 11))
    psf = CubePSF(cube, [1.0, 2.0, 3.0], 0.1)
    planes = cube / cube.sum(axis=(1, 2), keepdims=True)
    # cell (row 4, column 5) is the centre cell; its edges are ±0.05"
    got = psf.rect_integral([1.0, 2.0, 3.0], -0.05, 0.05, -0.05, 0.05)
    np.testing.assert_allclose(got, planes[:, 4, 5], rtol=1e-12)
    got = psf.rect_integral(2.0, -0.55, 0.25, -0.25, 0.45)
    assert float(got) == pytest.approx(planes[1, 2:9, :8].sum(), rel=1e-12)
    np.testing.assert_allclose(psf.total_in_box(), 1.0)
    half_mix = psf.rect_integral(1.5, -0.05, 0.05, -0.05, 0.05)
    assert float(half_mix) == pytest.approx(0.5 * (planes[0, 4, 5] + planes[1, 4, 5]))


def _write_cube(path: Path, cube: np.ndarray, waves: np.ndarray, *, table: bool = True,
                pixelscl: float | None = 0.01, cdelt1_deg: float | None = None,
                extname: str | None = None, cunit3: str = "um") -> Path:
    from astropy.io import fits

    hdu = fits.PrimaryHDU(cube) if extname is None else fits.ImageHDU(cube, name=extname)
    if pixelscl is not None:
        hdu.header["PIXELSCL"] = pixelscl
    if cdelt1_deg is not None:
        hdu.header["CDELT1"] = cdelt1_deg
    hdus = [hdu] if extname is None else [fits.PrimaryHDU(), hdu]
    if table:
        hdus.append(fits.BinTableHDU.from_columns(
            [fits.Column(name="wavelength", format="D", array=waves)], name="WAVELENGTH"))
    else:
        scale = 1e-6 if cunit3 == "m" else 1.0
        hdu.header["CRVAL3"] = waves[0] * scale
        hdu.header["CDELT3"] = (waves[1] - waves[0]) * scale
        hdu.header["CRPIX3"] = 1.0
        hdu.header["CUNIT3"] = cunit3
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.mark.parametrize("layout", ["table", "wcs_m", "sci_cdelt"])
def test_cube_psf_fits_round_trip(small_psf: DiffractionPSF, tmp_path: Path,
                                  layout: str) -> None:
    nodes = small_psf.wavelength_nodes_um
    planes = small_psf.node_planes()
    if layout == "table":
        waves = nodes
        path = _write_cube(tmp_path / "psf.fits", planes, waves)
    elif layout == "wcs_m":  # linear WCS needs evenly spaced planes: resample from the model
        waves = np.linspace(nodes[0], nodes[-1], 7)
        axis = (np.arange(planes.shape[1]) - planes.shape[1] // 2) * 0.01
        xx, yy = np.meshgrid(axis, axis)
        planes = np.array([small_psf.image(w, xx, yy) * 1e-4 for w in waves])
        path = _write_cube(tmp_path / "psf.fits", planes, waves, table=False, cunit3="m")
    else:
        waves = nodes
        path = _write_cube(tmp_path / "psf.fits", planes, waves, pixelscl=None,
                           cdelt1_deg=-0.01 / 3600, extname="SCI")
    cube = CubePSF.from_fits(path)
    np.testing.assert_allclose(cube.wavelength_nodes_um, waves, rtol=1e-12)
    assert cube.sampling_arcsec == pytest.approx(0.01)
    rng = np.random.default_rng(6)
    x0, y0 = rng.uniform(-0.3, 0.2, (2, 500))
    lam = rng.choice(waves, 500)
    source = small_psf.rect_integral(lam, x0, x0 + 0.1, y0, y0 + 0.105)
    total = np.interp(lam, nodes, small_psf.total_in_box())
    got = cube.rect_integral(lam, x0, x0 + 0.1, y0, y0 + 0.105)
    np.testing.assert_allclose(got, source / total, rtol=1e-9 if layout != "wcs_m" else 1e-6)
    np.testing.assert_allclose(cube.fwhm_arcsec(waves), small_psf.fwhm_arcsec(waves),
                               rtol=0.01)


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    from astropy.io import fits

    good = np.ones((2, 5, 5))
    waves = np.array([1.0, 2.0])
    cases: dict[str, tuple[Path, str]] = {"missing": (tmp / "absent.fits", "not found")}
    text = tmp / "text.fits"
    text.write_text("this is not a FITS file\n" * 200)
    cases["not_fits"] = (text, "not a readable FITS")
    flat = tmp / "flat.fits"
    fits.PrimaryHDU(np.ones((5, 5))).writeto(flat)
    cases["no_cube"] = (flat, "no 3-D")
    nan = good.copy()
    nan[1, 2, 2] = np.nan
    cases["non_finite"] = (_write_cube(tmp / "nan.fits", nan, waves), "non-finite")
    cases["negative"] = (_write_cube(tmp / "neg.fits", -good, waves), "non-positive sum")
    path = tmp / "nowave.fits"
    hdu = fits.PrimaryHDU(good)
    hdu.header["PIXELSCL"] = 0.01
    hdu.writeto(path)
    cases["no_wavelength"] = (path, "no wavelength")
    cases["no_sampling"] = (_write_cube(tmp / "noscale.fits", good, waves, pixelscl=None),
                            "no sampling")
    cases["decreasing"] = (_write_cube(tmp / "dec.fits", good, waves[::-1]),
                           "not strictly increasing")
    return cases


@pytest.mark.parametrize("case", ["missing", "not_fits", "no_cube", "non_finite", "negative",
                                  "no_wavelength", "no_sampling", "decreasing"])
def test_from_fits_errors_name_file_and_reason(tmp_path: Path, case: str) -> None:
    path, reason = _bad_files(tmp_path)[case]
    with pytest.raises(PSFError, match=re.escape(str(path))) as info:
        CubePSF.from_fits(path)
    assert reason in str(info.value)
    assert isinstance(info.value, ValueError)
