"""1-D extraction of a point source from an IFU cube: circular aperture, optional background
annulus, auto-centring, aperture correction from the known PSF, and the x1d product.

The aperture sums use photutils' exact circular-aperture overlap weights (the same geometry as
jwst's IFU extraction); the centring reproduces jwst's ``ifu_autocen`` through
:mod:`ifuqa.process.jwst_api`.

Units: a cube in surface brightness (MJy/sr) gives ``flux = Σ SB × Ω_spaxel`` converted to Jy.
A cube built from flux-density pixels (the NS-IFU02 defect, ``BUNIT = MJy``) is summed as the
pre-2023 pipeline did: ``flux = Σ value`` in MJy → Jy, which is why its result depends on the
spaxel scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.instrument.photometry import SR_PER_ARCSEC2
from ifuqa.instrument.psf import PSFModel
from ifuqa.util.fits_header import add_primary_keywords
from ifuqa.util.stats import nanmedian

__all__ = ["Extraction", "aperture_sums", "cube_wavelengths", "extract_point_source",
           "nominal_position", "write_x1d"]

JY_PER_MJY = 1.0e6


@dataclass
class Extraction:
    """An extracted spectrum and how it was made."""

    wavelength_um: np.ndarray
    flux_jy: np.ndarray
    flux_error_jy: np.ndarray
    surf_bright: np.ndarray
    background: np.ndarray
    npixels: np.ndarray
    dq: np.ndarray
    center_xy: tuple[float, float]
    radius_arcsec: np.ndarray
    aperture_correction: np.ndarray
    centering: str
    extras: dict = field(default_factory=dict)


def cube_wavelengths(cube: Any) -> np.ndarray:
    """Wavelength of each plane of a cube (µm), from its WCS keywords."""
    info = cube.meta.wcsinfo
    n = cube.data.shape[0]
    return info.crval3 + (np.arange(n) + 1 - info.crpix3) * info.cdelt3


def nominal_position(cube: Any) -> tuple[float, float]:
    """Cube pixel (x, y, 0-based) of the target coordinates in the header."""
    ra, dec = cube.meta.target.ra, cube.meta.target.dec
    if ra is None or dec is None:
        ny, nx = cube.data.shape[1:]
        return (nx - 1) / 2.0, (ny - 1) / 2.0
    wave = float(cube_wavelengths(cube)[cube.data.shape[0] // 2])
    x, y, _ = cube.meta.wcs.invert(ra, dec, wave)
    return float(x), float(y)


def _masks(shape: tuple[int, int], center: tuple[float, float], radii_pix: np.ndarray,
           annulus_pix: tuple[np.ndarray, np.ndarray] | None
           ) -> tuple[dict[float, np.ndarray], dict[float, np.ndarray]]:
    from photutils.aperture import CircularAnnulus, CircularAperture

    apertures, annuli = {}, {}
    for r in np.unique(radii_pix):
        apertures[float(r)] = CircularAperture(center, float(r)).to_mask(
            method="exact").to_image(shape)
    if annulus_pix is not None:
        for r_in, r_out in set(zip(annulus_pix[0].tolist(), annulus_pix[1].tolist(),
                                   strict=True)):
            annuli[(r_in, r_out)] = CircularAnnulus(center, r_in, r_out).to_mask(
                method="center").to_image(shape)
    return apertures, annuli


def aperture_sums(data: np.ndarray, err: np.ndarray, center: tuple[float, float],
                  radius_pix: np.ndarray, *, annulus_pix: tuple[np.ndarray, np.ndarray]
                  | None = None) -> dict[str, np.ndarray]:
    """Per-plane aperture sums of a cube, with an optional median background annulus.

    Parameters
    ----------
    data, err : numpy.ndarray
        Cube (nwave, ny, nx) and its uncertainty; NaN spaxels are excluded.
    center : (float, float)
        Aperture centre (x, y) in 0-based spaxel coordinates.
    radius_pix : numpy.ndarray
        Radius per plane (spaxels); quantised to 1/200 spaxel to share masks.
    annulus_pix : (numpy.ndarray, numpy.ndarray), optional
        Inner and outer background radius per plane (spaxels).

    Returns
    -------
    dict
        ``sum``, ``err`` (quadrature), ``area`` (spaxels with finite data, weighted),
        ``background`` (per spaxel, 0 without annulus), ``nan_in_aperture`` (bool).
    """
    nwave = data.shape[0]
    radius_q = np.round(np.broadcast_to(radius_pix, (nwave,)) * 200.0) / 200.0
    ann_q = None
    if annulus_pix is not None:
        ann_q = tuple(np.round(np.broadcast_to(a, (nwave,)) * 20.0) / 20.0 for a in annulus_pix)
    apertures, annuli = _masks(data.shape[1:], center, radius_q, ann_q)
    out = {name: np.zeros(nwave) for name in ("sum", "err", "area", "background")}
    out["nan_in_aperture"] = np.zeros(nwave, dtype=bool)
    finite = np.isfinite(data)
    for r, weights in apertures.items():
        planes = np.flatnonzero(radius_q == r)
        d = data[planes]
        ok = finite[planes]
        out["sum"][planes] = np.einsum("kij,ij->k", np.where(ok, d, 0.0), weights)
        out["err"][planes] = np.sqrt(np.einsum(
            "kij,ij->k", np.where(ok & np.isfinite(err[planes]), err[planes], 0.0) ** 2,
            weights**2))
        out["area"][planes] = np.einsum("kij,ij->k", ok.astype(float), weights)
        out["nan_in_aperture"][planes] = np.einsum(
            "kij,ij->k", (~ok).astype(float), weights) > 0
    if ann_q is not None:
        for key, ring in annuli.items():
            planes = np.flatnonzero((ann_q[0] == key[0]) & (ann_q[1] == key[1]))
            sel = ring > 0
            values = data[planes][:, sel]
            with np.errstate(all="ignore"):
                bkg = nanmedian(values, axis=1) if values.size else np.zeros(planes.size)
            out["background"][planes] = np.nan_to_num(bkg)
    return out


def extract_point_source(cube: Any, *, psf: PSFModel, radius_fwhm: float = 2.0,
                         radius_arcsec: float | None = None,
                         annulus_fwhm: tuple[float, float] | None = None,
                         center_xy: tuple[float, float] | None = None,
                         autocenter: bool = True, apply_apcorr: bool = True,
                         brightest_spaxel: bool = False) -> Extraction:
    """Extract a point source's spectrum from a cube.

    Parameters
    ----------
    cube : stdatamodels.jwst.datamodels.IFUCubeModel
        The cube (``BUNIT`` MJy/sr, or MJy for the NS-IFU02 defect).
    psf : ifuqa.instrument.psf.PSFModel
        The known PSF (sets FWHM-scaled radii and the aperture correction).
    radius_fwhm : float
        Aperture radius in units of the PSF FWHM at each wavelength.
    radius_arcsec : float, optional
        Fixed radius instead (arcsec).
    annulus_fwhm : (float, float), optional
        Background annulus (inner, outer) in FWHM units.
    center_xy : (float, float), optional
        Aperture centre (0-based cube pixels); overrides centring.
    autocenter : bool
        Centre on the source like jwst's ``ifu_autocen``; otherwise at the header's target.
    apply_apcorr : bool
        Divide by the encircled energy of the known PSF in the aperture.
    brightest_spaxel : bool
        Centre on the brightest spaxel of the white-light image (overrides auto-centring).

    Returns
    -------
    Extraction
    """
    from ifuqa.process.stages.aperture_correction import encircled_energy_in_cube

    data = np.asarray(cube.data, dtype=float)
    err = np.asarray(cube.err, dtype=float)
    wave = cube_wavelengths(cube)
    spaxel = abs(float(cube.meta.wcsinfo.cdelt1)) * 3600.0
    if center_xy is not None:
        center, how = (float(center_xy[0]), float(center_xy[1])), "center_xy"
    elif brightest_spaxel:
        from ifuqa.util.stats import nanmedian

        white = nanmedian(data, axis=0)
        iy, ix = np.unravel_index(np.nanargmax(np.where(np.isfinite(white), white, -np.inf)),
                                  white.shape)
        center, how = (float(ix), float(iy)), "brightest spaxel"
    elif autocenter:
        from ifuqa.process.jwst_api.extract_1d import ifu_autocenter

        try:
            found = ifu_autocenter(data, wave)
            center, how = (float(found[0]), float(found[1])), "ifu_autocen"
        except RuntimeError:  # jwst falls back to the target coordinates, and so do we
            center, how = nominal_position(cube), "nominal (ifu_autocen found no source)"
    else:
        center, how = nominal_position(cube), "nominal"
    fwhm = np.asarray(psf.fwhm_arcsec(wave), dtype=float)
    radius = (np.full(wave.shape, float(radius_arcsec)) if radius_arcsec is not None
              else radius_fwhm * fwhm)
    annulus = None if annulus_fwhm is None else (annulus_fwhm[0] * fwhm / spaxel,
                                                 annulus_fwhm[1] * fwhm / spaxel)
    sums = aperture_sums(data, err, center, radius / spaxel, annulus_pix=annulus)
    bunit = (cube.meta.bunit_data or "MJy/sr").strip()
    area_sr = (spaxel**2) * SR_PER_ARCSEC2
    net = sums["sum"] - sums["background"] * sums["area"]
    if bunit == "MJy/sr":
        flux = net * area_sr * JY_PER_MJY
        flux_err = sums["err"] * area_sr * JY_PER_MJY
        surf = np.divide(net, sums["area"], out=np.full_like(net, np.nan),
                         where=sums["area"] > 0)
    elif bunit == "MJy":
        flux = net * JY_PER_MJY
        flux_err = sums["err"] * JY_PER_MJY
        surf = np.divide(net, sums["area"] * area_sr, out=np.full_like(net, np.nan),
                         where=sums["area"] > 0)
    else:
        raise ValueError(f"cannot extract from a cube in {bunit!r}; expected MJy/sr or MJy")
    phase = (center[0] - round(center[0]), center[1] - round(center[1]))
    ee = (encircled_energy_in_cube(psf, wave, radius, spaxel, phase=phase) if apply_apcorr
          else np.ones_like(wave))
    dq = np.where(sums["nan_in_aperture"], 1, 0).astype(np.uint32)
    empty = sums["area"] <= 0
    flux = np.where(empty, np.nan, flux / ee)
    flux_err = np.where(empty, np.nan, flux_err / ee)
    return Extraction(wave, flux, flux_err, surf, sums["background"], sums["area"], dq,
                      center, radius, 1.0 / ee, how)


def write_x1d(path: str | Path, extraction: Extraction, cube: Any, *,
              keywords: dict | None = None) -> None:
    """Write an extraction as a MultiSpecModel ``*_x1d.fits`` (jwst's IFU x1d layout)."""
    from stdatamodels.jwst import datamodels

    dtype = datamodels.SpecModel().get_dtype("spec_table")
    table = np.zeros(extraction.wavelength_um.size, dtype=dtype)
    table["WAVELENGTH"] = extraction.wavelength_um
    table["FLUX"] = extraction.flux_jy
    table["FLUX_ERROR"] = extraction.flux_error_jy
    table["FLUX_VAR_RNOISE"] = extraction.flux_error_jy**2
    table["SURF_BRIGHT"] = extraction.surf_bright
    table["BACKGROUND"] = extraction.background
    table["DQ"] = extraction.dq
    table["NPIXELS"] = extraction.npixels
    spec = datamodels.SpecModel(spec_table=table)
    units = {"WAVELENGTH": "um", "FLUX": "Jy", "FLUX_ERROR": "Jy", "FLUX_VAR_RNOISE": "Jy^2",
             "SURF_BRIGHT": "MJy/sr", "BACKGROUND": "MJy/sr"}
    for name, unit in units.items():
        spec.spec_table.columns[name.lower()].unit = unit
    spec.source_type = getattr(cube.meta.target, "source_type", None) or "POINT"
    spec.extraction_x = extraction.center_xy[0]
    spec.extraction_y = extraction.center_xy[1]
    out = datamodels.MultiSpecModel()
    out.update(cube, only="PRIMARY")
    out.spec.append(spec)
    out.meta.filename = str(path).rsplit("/", 1)[-1]
    out.meta.cal_step.extract_1d = "COMPLETE"
    out.save(path)
    out.close()
    if keywords:
        add_primary_keywords(path, keywords)
