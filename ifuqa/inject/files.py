"""Writing the injected copies: the original is read, never written; the copy says what was
injected and into what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.inject.cube_defects import inject_drift, inject_hole, inject_spaxel_wiggle
from ifuqa.inject.defects import Injection
from ifuqa.inject.spectrum_defects import flux_level, inject_negative_offset, inject_undulation
from ifuqa.products.probe import ProductError
from ifuqa.products.read import read_cube

__all__ = ["InjectionError", "inject_product", "reference_x1d"]


class InjectionError(ValueError):
    """An injection cannot be made (the message names the file and the reason)."""


def _refuse_overwrite(source: Path, out: Path) -> None:
    if out.exists() and out.resolve() == source.resolve():
        raise InjectionError(f"{out}: the output would overwrite the original; ifuqa never "
                             "modifies a user's file: choose another output path")
    if out.exists() and source.exists() and out.stat().st_ino == source.stat().st_ino:
        raise InjectionError(f"{out}: is the original (same file); choose another output path")


def _add_keywords(hdul: Any, keywords: dict[str, Any]) -> None:
    header = hdul[0].header
    for key, value in keywords.items():
        if key == "HISTORY":
            for line in value:
                header.add_history(line)
        else:
            header[key] = value


def _copy_hdul(path: Path) -> Any:
    """An in-memory copy of every HDU of a FITS file (the file is opened read-only)."""
    from astropy.io import fits

    with fits.open(path, mode="readonly", memmap=False) as hdul:
        return fits.HDUList([hdu.copy() for hdu in hdul])


def _inject_cube(source: Path, out: Path, injection: Injection) -> Path:
    cube = read_cube(source)
    p = injection.parameters
    if injection.kind == "hole":
        band = tuple(p["band_um"]) if p["band_um"] is not None else None
        data = inject_hole(cube.data, cube.wavelength_um, injection.size, band_um=band)
    elif injection.kind == "drift":
        data = inject_drift(cube.data, cube.wavelength_um, injection.size,
                            spaxel_arcsec=cube.spaxel_arcsec, angle_deg=float(p["angle_deg"]))
    else:
        data = inject_spaxel_wiggle(cube.data, cube.wavelength_um, injection.size,
                                    cycles_per_um=float(p["cycles_per_um"]),
                                    phase_rad=float(p["phase_rad"]))
    hdul = _copy_hdul(source)
    hdul["SCI"].data = data.astype(hdul["SCI"].data.dtype)
    _add_keywords(hdul, injection.header_keywords(source.name))
    hdul.writeto(out, overwrite=True)
    return out


def _inject_spectrum(source: Path, out: Path, injection: Injection) -> Path:
    hdul = _copy_hdul(source)
    tables = [h for h in hdul if h.name == "EXTRACT1D"]
    if not tables:
        raise InjectionError(f"{source}: no EXTRACT1D table (not an x1d product)")
    p = injection.parameters
    for table in tables:
        names = [n.upper() for n in table.columns.names]
        wave = np.asarray(table.data["WAVELENGTH"], dtype=float)
        flux = np.asarray(table.data["FLUX"], dtype=float)
        valid = np.isfinite(flux)
        if "DQ" in names:
            valid &= (np.asarray(table.data["DQ"]) & 1) == 0  # DO_NOT_USE
        try:
            level = flux_level(flux, valid)
        except ValueError as exc:
            raise InjectionError(f"{source}: {exc}") from None
        if injection.kind == "undulation":
            new = inject_undulation(wave, flux, injection.size,
                                    cycles_per_um=float(p["cycles_per_um"]),
                                    phase_rad=float(p["phase_rad"]), level=level)
        else:
            new = inject_negative_offset(flux, injection.size, level=level)
        table.data["FLUX"] = new.astype(table.data["FLUX"].dtype)
    _add_keywords(hdul, injection.header_keywords(source.name))
    hdul.writeto(out, overwrite=True)
    return out


def inject_product(source: str | Path, out: str | Path, injection: Injection) -> Path:
    """Write a copy of a product with one defect injected.

    Parameters
    ----------
    source : path
        The original: an s3d cube for ``hole``, ``drift``, ``spaxel_wiggle`` and
        ``extraction_offset`` (whose output is an x1d made from the cube), an x1d for
        ``undulation`` and ``negative_offset``. Opened read-only.
    out : path
        The copy (``.fits`` or ``.fits.gz``); must not be the original.
    injection : Injection
        What to inject.

    Returns
    -------
    path
        ``out``.

    Raises
    ------
    InjectionError
        The output is the original, or the product lacks what the defect needs.
    ProductError
        The original cannot be read (names the file and the reason).
    """
    source, out = Path(source), Path(out)
    if not source.is_file():
        raise ProductError(f"{source}: no such file")
    _refuse_overwrite(source, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if injection.kind == "extraction_offset":
        p = injection.parameters
        return reference_x1d(source, out, offset_mas=injection.size,
                             angle_deg=float(p["angle_deg"]),
                             radius_fwhm=float(p["radius_fwhm"]),
                             keywords=injection.header_keywords(source.name))
    if injection.defect.product == "s3d":
        return _inject_cube(source, out, injection)
    return _inject_spectrum(source, out, injection)


def reference_x1d(cube_path: str | Path, out: str | Path, *, offset_mas: float = 0.0,
                  angle_deg: float = 0.0, radius_fwhm: float = 2.0,
                  keywords: dict[str, Any] | None = None) -> Path:
    """An x1d extracted from a cube by ifuqa, at the source centroid or off it.

    A circular aperture of ``radius_fwhm`` × the PSF FWHM at each wavelength
    (:func:`ifuqa.instrument.psf.cube_fwhm_arcsec`), centred ``offset_mas`` from the cube's
    white-light centroid along ``angle_deg`` (counter-clockwise from the cube's +x axis), summed
    with photutils' exact overlap weights (:func:`ifuqa.process.stages.extraction.aperture_sums`)
    and corrected to total flux with the diffraction-limited encircled energy. The aperture
    centre is recorded in the spectrum's ``EXTR_X``/``EXTR_Y`` (0-based cube pixels). Real cubes
    without an x1d (the MIRI cubes in the project's real data) get their "clean" x1d this way.

    Parameters
    ----------
    cube_path : path
        An s3d cube (opened read-only).
    out : path
        The x1d to write.
    offset_mas, angle_deg : float
        Where the aperture is, relative to the centroid.
    radius_fwhm : float
        Aperture radius in FWHM.
    keywords : dict, optional
        Extra primary-header keywords (the injection's provenance).

    Returns
    -------
    path
        ``out``.
    """
    from stdatamodels.jwst import datamodels

    from ifuqa.instrument.photometry import SR_PER_ARCSEC2
    from ifuqa.instrument.psf import cube_fwhm_arcsec, obscured_airy_encircled_energy
    from ifuqa.metrics.centroids import centroid
    from ifuqa.process.stages.extraction import Extraction, aperture_sums, write_x1d
    from ifuqa.util.stats import nanmean

    cube_path, out = Path(cube_path), Path(out)
    _refuse_overwrite(cube_path, out)
    cube = read_cube(cube_path)
    wave = cube.wavelength_um
    fwhm = cube_fwhm_arcsec(wave, cube.instrument)
    fwhm_pix = fwhm / cube.spaxel_arcsec
    with np.errstate(all="ignore"):
        white = nanmean(cube.data, axis=0)
    cx, cy = centroid(white, radius_pix=2.5 * float(np.nanmedian(fwhm_pix)))
    shift_pix = offset_mas / 1000.0 / cube.spaxel_arcsec
    center = (cx + shift_pix * np.cos(np.deg2rad(angle_deg)),
              cy + shift_pix * np.sin(np.deg2rad(angle_deg)))
    radius_pix = radius_fwhm * fwhm_pix
    sums = aperture_sums(cube.data, cube.err, center, radius_pix)
    per_unit = 1.0e6 * (SR_PER_ARCSEC2 * cube.spaxel_arcsec**2 if cube.bunit == "MJy/sr"
                        else 1.0)
    encircled = obscured_airy_encircled_energy(wave, radius_fwhm * fwhm)
    covered = sums["area"] > 0
    flux = np.where(covered, sums["sum"] * per_unit / encircled, np.nan)
    err = np.where(covered, sums["err"] * per_unit / encircled, np.nan)
    dq = np.where(np.isfinite(flux), 0, 1).astype(np.uint32)
    with np.errstate(all="ignore"):
        surface = np.where(sums["area"] > 0, sums["sum"] / sums["area"], np.nan)
    extraction = Extraction(wavelength_um=wave, flux_jy=flux, flux_error_jy=err,
                            surf_bright=surface, background=np.zeros_like(flux),
                            npixels=sums["area"], dq=dq, center_xy=center,
                            radius_arcsec=radius_fwhm * fwhm, aperture_correction=1 / encircled,
                            centering="ifuqa reference extraction")
    keywords = dict(keywords or {})
    keywords.setdefault("IFQ_ORIG", cube_path.name)
    keywords["IFQ_REFX"] = (f"ifuqa aperture r={radius_fwhm:g} FWHM, {offset_mas:g} mas from "
                            "the centroid")
    with datamodels.open(cube_path) as model:
        write_x1d(out, extraction, model, keywords=keywords)
    return out
