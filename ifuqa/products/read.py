"""Reading JWST products for the checks, with clear errors that name the file and the reason.

Products are opened read-only through stdatamodels; nothing here writes to a user's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Cube", "Spectrum", "read_cube", "read_spectrum"]



from ifuqa.products.probe import ProductError, open_product, precheck_product


@dataclass
class Cube:
    """An IFU cube's science array and geometry (the error array is read on demand)."""

    path: Path
    data: np.ndarray
    wavelength_um: np.ndarray
    spaxel_arcsec: float
    bunit: str
    instrument: str
    wcs: Any
    srctype: str | None = None

    @property
    def err(self) -> np.ndarray:
        """The ERR array (float32), read from the file when first asked for."""
        cached = self.__dict__.get("_err")
        if cached is None:
            from astropy.io import fits

            cached = np.array(fits.getdata(self.path, "ERR"), dtype=np.float32)
            self.__dict__["_err"] = cached
        return cached

    def pixel_to_sky(self, x: np.ndarray, y: np.ndarray,
                     wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sky coordinates (deg) of cube pixels (0-based) at given wavelengths."""
        ra, dec, _ = self.wcs(x, y, self._plane(wave))
        return np.asarray(ra), np.asarray(dec)

    def _plane(self, wave: np.ndarray) -> np.ndarray:
        return np.interp(wave, self.wavelength_um, np.arange(self.wavelength_um.size))


def _open_model_lazily(path: Path) -> tuple[Any, Any]:
    """(datamodel, memory-mapped HDUList) of an uncompressed FITS product, whose arrays stay
    on disk until used (integer arrays unscaled: only the float arrays are meant to be read);
    for a compressed file, the datamodel read in full and None."""
    from astropy.io import fits

    if path.name.endswith(".gz"):
        return open_product(path), None
    headers = precheck_product(path)
    # unscaled, so that the unsigned-integer DQ array can be memory-mapped too (its raw
    # values are never used here)
    mapped = fits.open(path, memmap=True, do_not_scale_image_data=True)
    try:
        model_class = _model_class(headers[0])
        return model_class(mapped), mapped
    except Exception as exc:
        mapped.close()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: not a readable JWST product ({reason})") from exc


def _model_class(header: Any) -> Any:
    """The stdatamodels class named by a product's DATAMODL keyword (DataModel if unknown)."""
    from stdatamodels.jwst import datamodels

    name = str(header.get("DATAMODL", "")).strip()
    return getattr(datamodels, name, None) or datamodels.JwstDataModel


def read_cube(path: Path) -> Cube:
    """Open an s3d cube and validate what the checks need.

    Only the science array is loaded (a native float32 copy); uncompressed files are
    memory-mapped while the model is read, so reading costs about one cube of memory.

    Raises
    ------
    ProductError
        Not a cube, no WCS, unknown units, all-NaN data.
    """
    from stdatamodels.jwst import datamodels

    path = Path(path)
    model, mapped = _open_model_lazily(path)
    try:
        if not isinstance(model, datamodels.IFUCubeModel):
            shape = np.shape(getattr(model, "data", np.empty(0)))
            what = (f"a {len(shape)}-D image" if len(shape) in (1, 2)
                    else f"data of shape {shape}")
            raise ProductError(f"{path}: {what} ({type(model).__name__}, shape {shape}) where "
                               "an IFU cube (s3d, IFUCubeModel) is expected")
        data = np.array(model.data, dtype=np.float32)
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
        return Cube(path, data, wave, abs(float(info.cdelt1)) * 3600.0, bunit,
                    str(model.meta.instrument.name), wcs,
                    srctype=model.meta.target.source_type)
    finally:
        model.close()
        if mapped is not None:
            mapped.close()


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
    model = open_product(path)
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
