"""Reading JWST products for the checks, with clear errors that name the file and the reason.

Products are opened read-only through stdatamodels; nothing here writes to a user's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Cube", "ProductError", "Spectrum", "probe_fits", "read_cube", "read_spectrum"]


class ProductError(ValueError):
    """A product cannot be used: the message names the file and the reason."""


def probe_fits(path: Path) -> None:
    """Open a file with astropy (closing it again) to reject non-FITS, truncated or corrupt
    files with a named error before stdatamodels reads it (which can leave the file open on
    failure).

    Raises
    ------
    ProductError
        The file is not a readable FITS file.
    """
    import warnings

    from astropy.io import fits

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                hdul.verify("silentfix")
                for hdu in hdul:
                    _ = hdu.header
                    if hdu.data is not None:
                        _ = hdu.data.shape
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: not a readable FITS file ({reason})") from exc


def _open(path: Path) -> Any:
    from stdatamodels.jwst import datamodels

    path = Path(path)
    if not path.exists():
        raise ProductError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ProductError(f"{path}: empty file")
    probe_fits(path)
    try:
        return datamodels.open(path)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: not a readable JWST product ({reason})") from exc


@dataclass
class Cube:
    """An IFU cube's arrays and geometry."""

    path: Path
    data: np.ndarray
    err: np.ndarray
    wavelength_um: np.ndarray
    spaxel_arcsec: float
    bunit: str
    instrument: str
    meta: Any
    wcs: Any

    def pixel_to_sky(self, x: np.ndarray, y: np.ndarray,
                     wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sky coordinates (deg) of cube pixels (0-based) at given wavelengths."""
        ra, dec, _ = self.wcs(x, y, self._plane(wave))
        return np.asarray(ra), np.asarray(dec)

    def _plane(self, wave: np.ndarray) -> np.ndarray:
        return np.interp(wave, self.wavelength_um, np.arange(self.wavelength_um.size))


def read_cube(path: Path) -> Cube:
    """Open an s3d cube and validate what the checks need.

    Raises
    ------
    ProductError
        Not a cube, no WCS, unknown units, all-NaN data.
    """
    from stdatamodels.jwst import datamodels

    path = Path(path)
    model = _open(path)
    try:
        if not isinstance(model, datamodels.IFUCubeModel):
            raise ProductError(f"{path}: expected an IFU cube (s3d), got "
                               f"{type(model).__name__} with data shape "
                               f"{getattr(model, 'data', np.empty(0)).shape}")
        data = np.asarray(model.data, dtype=np.float32)
        if data.ndim != 3:
            raise ProductError(f"{path}: cube data must be 3-D, found shape {data.shape}")
        if not np.isfinite(data).any():
            raise ProductError(f"{path}: the cube holds no finite values (all NaN)")
        bunit = (model.meta.bunit_data or "").strip()
        if bunit not in ("MJy/sr", "MJy"):
            raise ProductError(f"{path}: unknown flux unit BUNIT={bunit!r} "
                               "(expected MJy/sr, or MJy for old point-source cubes)")
        wcs = model.meta.wcs
        info = model.meta.wcsinfo
        if wcs is None or info.cdelt1 is None:
            raise ProductError(f"{path}: the cube has no WCS")
        n = data.shape[0]
        try:
            _, _, wave = wcs(np.zeros(n), np.zeros(n), np.arange(n, dtype=float))
            wave = np.asarray(wave, dtype=float)
        except Exception as exc:
            raise ProductError(f"{path}: the cube's WCS cannot be evaluated ({exc})") from exc
        if not np.isfinite(wave).all():
            if info.crval3 is None:
                raise ProductError(f"{path}: no wavelength axis in the WCS")
            wave = info.crval3 + (np.arange(n) + 1 - info.crpix3) * info.cdelt3
        return Cube(path, data, np.asarray(model.err, dtype=np.float32), wave,
                    abs(float(info.cdelt1)) * 3600.0, bunit,
                    str(model.meta.instrument.name), model.meta, wcs)
    finally:
        model.close()


@dataclass
class Spectrum:
    """A 1-D spectrum from an x1d product."""

    path: Path
    wavelength_um: np.ndarray
    flux_jy: np.ndarray
    error_jy: np.ndarray
    extraction_xy: tuple[float, float] | None
    header: dict[str, Any]


def read_spectrum(path: Path) -> Spectrum:
    """Open an x1d (MultiSpecModel) and return its first spectrum.

    Raises
    ------
    ProductError
        Not a spectrum, no flux column, flux not in Jy, all-NaN flux.
    """
    from astropy.io import fits

    path = Path(path)
    model = _open(path)
    try:
        spec_list = getattr(model, "spec", None)
        if not spec_list:
            raise ProductError(f"{path}: expected an x1d spectrum, got {type(model).__name__}")
        table = spec_list[0].spec_table
        names = [n.upper() for n in table.dtype.names]
        if "FLUX" not in names or "WAVELENGTH" not in names:
            raise ProductError(f"{path}: the spectrum has no WAVELENGTH/FLUX columns")
        unit = str(table.columns["flux"].unit or "Jy") if hasattr(table, "columns") else "Jy"
        if unit.strip() not in ("Jy", ""):
            raise ProductError(f"{path}: flux unit {unit!r}, expected Jy")
        wave = np.asarray(table["WAVELENGTH"], dtype=float)
        flux = np.asarray(table["FLUX"], dtype=float)
        err = (np.asarray(table["FLUX_ERROR"], dtype=float) if "FLUX_ERROR" in names
               else np.full_like(flux, np.nan))
        if not np.isfinite(flux).any():
            raise ProductError(f"{path}: the spectrum's flux is all NaN")
        spec = spec_list[0]
        xy = None
        if getattr(spec, "extraction_x", None) is not None:
            xy = (float(spec.extraction_x), float(spec.extraction_y))
    finally:
        model.close()
    header = dict(fits.getheader(path, 0))
    if xy is None and "IFQ_CX" in header:
        xy = (float(header["IFQ_CX"]), float(header["IFQ_CY"]))
    return Spectrum(path, wave, flux, err, xy, header)
