"""1-D extraction of a point source from an IFU cube: jwst's ``Extract1dStep`` itself, with an
aperture correction from the known PSF, and the x1d product.

:func:`extract_with_step` is what the chain runs: ``Extract1dStep`` (``ifu_autocen``, or an
explicit ``center_xy``) through :mod:`ifuqa.process.jwst_api.extract_1d_step`, with the synthetic
EXTRACT1D file (radius ``r = radius_fwhm × FWHM(λ)`` of the known PSF, or a fixed radius; a
background annulus only when the configuration asks for one) and the APCORR file
(``1 / EE(r, λ)`` of the known PSF on the cube's spaxel grid,
:func:`ifuqa.process.stages.aperture_correction.encircled_energy_in_cube`) ifuqa writes.

:func:`aperture_sums`, :class:`Extraction` and :func:`write_x1d` are ifuqa's own, kept only
where no Step can run: :mod:`ifuqa.inject` re-extracts its defective copies of users' cubes with
them (a user's cube comes with no known PSF to build an APCORR file from, and the copy must be
summed at the position the defect was injected, off any centring the Step does). The sums are
the same photutils exact circular-aperture overlaps the Step uses (on ifuqa's cubes the two
agree to 1e-6).

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

from ifuqa.instrument.psf import PSFModel
from ifuqa.util.fits_header import add_primary_keywords
from ifuqa.util.stats import nanmedian

__all__ = ["APCORR_RADIUS_ROWS", "Extraction", "aperture_sums", "brightest_spaxel_center",
           "cube_wavelengths", "extract_with_step", "write_step_x1d", "write_x1d"]

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


APCORR_RADIUS_ROWS = (1.0, 1.25)
"""Radii of the APCORR table, in units of the extraction radius at each wavelength (the Step
interpolates the correction at its radius: the first row is the radius itself)."""


def brightest_spaxel_center(data: np.ndarray) -> tuple[float, float]:
    """Centre of the brightest spaxel of a cube's median (white-light) image.

    Parameters
    ----------
    data : numpy.ndarray
        The cube (nwave, ny, nx); NaN spaxels are ignored.

    Returns
    -------
    (float, float)
        Its (x, y), 0-based.
    """
    white = nanmedian(np.asarray(data, dtype=float), axis=0)
    iy, ix = np.unravel_index(np.nanargmax(np.where(np.isfinite(white), white, -np.inf)),
                              white.shape)
    return float(ix), float(iy)


def extract_with_step(cube: Any, *, psf: PSFModel, radius_fwhm: float = 2.0,
                      radius_arcsec: float | None = None,
                      annulus_fwhm: tuple[float, float] | None = None,
                      center_xy: tuple[float, float] | None = None,
                      autocenter: bool = True, brightest_spaxel: bool = False,
                      reference_dir: str | Path | None = None) -> Any:
    """Extract a point source's spectrum with jwst's ``Extract1dStep`` and ifuqa's references.

    Parameters
    ----------
    cube : stdatamodels.jwst.datamodels.IFUCubeModel
        The cube (``BUNIT`` MJy/sr, or MJy for the NS-IFU02 defect). Not modified.
    psf : ifuqa.instrument.psf.PSFModel
        The known PSF (the FWHM-scaled radii and the APCORR file).
    radius_fwhm : float
        Aperture radius in units of the PSF FWHM at each wavelength.
    radius_arcsec : float, optional
        Fixed radius instead (arcsec).
    annulus_fwhm : (float, float), optional
        Background annulus (inner, outer) in FWHM units (the Step's sigma-clipped annulus).
    center_xy : (float, float), optional
        Aperture centre (0-based cube pixels): the Step's ``center_xy``.
    autocenter : bool
        Run the Step with ``ifu_autocen``; otherwise it centres on the target's spaxel.
    brightest_spaxel : bool
        Centre on the brightest spaxel of the white-light image (ifuqa finds it and hands it to
        the Step as ``center_xy``).
    reference_dir : path, optional
        Keep the EXTRACT1D and APCORR files written for the Step here.

    Returns
    -------
    ifuqa.process.jwst_api.extract_1d_step.StepExtraction
        The Step's x1d model (the caller closes it), its centre and centring.
    """
    from ifuqa.process.jwst_api.extract_1d_step import run_extract_1d_step
    from ifuqa.process.stages.aperture_correction import encircled_energy_in_cube

    wave = cube_wavelengths(cube)
    spaxel = abs(float(cube.meta.wcsinfo.cdelt1)) * 3600.0
    fwhm = np.asarray(psf.fwhm_arcsec(wave), dtype=float)
    radius = (np.full(wave.shape, float(radius_arcsec)) if radius_arcsec is not None
              else radius_fwhm * fwhm)
    annulus = (None if annulus_fwhm is None
               else (annulus_fwhm[0] * fwhm, annulus_fwhm[1] * fwhm))
    how = None
    if center_xy is None and brightest_spaxel:
        center_xy, how = brightest_spaxel_center(cube.data), "brightest spaxel"

    def apcorr_for_center(center: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        phase = (center[0] - round(center[0]), center[1] - round(center[1]))
        rows = np.array([k * radius for k in APCORR_RADIUS_ROWS])
        ee = np.array([encircled_energy_in_cube(psf, wave, r, spaxel, phase=phase)
                       for r in rows])
        return rows, 1.0 / ee

    out = run_extract_1d_step(cube, wavelength_um=wave, radius_arcsec=radius,
                              apcorr_for_center=apcorr_for_center, annulus_arcsec=annulus,
                              center_xy=center_xy, autocenter=autocenter,
                              reference_dir=reference_dir)
    if how is not None:
        out.centering = how
    return out


def write_step_x1d(path: str | Path, extraction: Any, *, keywords: dict | None = None) -> None:
    """Save the Step's x1d model (a :func:`extract_with_step` result) with ifuqa's keywords.

    Parameters
    ----------
    path : path
        The ``*_x1d.fits`` to write.
    extraction : ifuqa.process.jwst_api.extract_1d_step.StepExtraction
        The Step's result; its model is closed after saving.
    keywords : dict, optional
        Primary-header keywords to add (the processing keywords, ``IFQ_CEN``/``IFQ_CX``/``IFQ_CY``).
    """
    model = extraction.model
    model.meta.filename = str(path).rsplit("/", 1)[-1]
    model.save(path)
    model.close()
    if keywords:
        add_primary_keywords(path, keywords)
