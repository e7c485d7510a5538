"""Reading JWST products for the checks, with clear errors that name the file and the reason.

Products are opened read-only through stdatamodels; nothing here writes to a user's file.

Wavelengths are read as jwst reads them: a cube's from its datamodel's gwcs (what
``extract_1d`` does), else from the FITS spectral WCS of its SCI header with astropy (``WAVE``
or the tabular ``WAVE-TAB`` that ``cube_build`` writes for non-linear wavelength grids, its
table in the ``WCS-TABLE`` extension); an x1d's from its WAVELENGTH column in the column's
unit (``TUNITn``), converted to µm, and its fluxes converted to Jy.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.products.probe import ProductError, open_product, precheck_product

__all__ = ["Cube", "Spectrum", "file_version", "fits_wavelengths_um", "read_cube",
           "read_spectrum"]


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
    grating: str | None = None
    filter: str | None = None

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


def _gwcs_wavelengths_um(wcs: Any, shape: tuple[int, int, int]) -> np.ndarray:
    """Wavelengths (µm) of a cube's planes from its gwcs, evaluated as jwst's ``extract_1d``
    does (``jwst.extract_1d.ifu.get_coordinates``): at one spatial position (here the cube's
    centre, inside the bounding box) for every plane index."""
    n, ny, nx = shape
    _, _, wave = wcs(np.full(n, (nx - 1) / 2.0), np.full(n, (ny - 1) / 2.0),
                     np.arange(n, dtype=float))
    return np.asarray(wave, dtype=float)


def fits_wavelengths_um(path: Path, extension: str = "SCI") -> np.ndarray:
    """Wavelengths (µm) of a cube's planes from the FITS spectral WCS of its ``extension``
    header, read with astropy (:attr:`astropy.wcs.WCS.spectral`).

    Linear (``CTYPE3 = 'WAVE'``) and tabular (``'WAVE-TAB'``: the table named by ``PS3_0`` and
    ``PS3_1``, the ``WCS-TABLE`` extension that jwst's ``cube_build`` writes) axes are both
    read; units follow ``CUNIT3``.

    Parameters
    ----------
    path : path
        The s3d file (``.fits`` or ``.fits.gz``).
    extension : str
        Header holding the WCS.

    Returns
    -------
    numpy.ndarray
        One wavelength per plane.

    Raises
    ------
    ProductError
        No spectral axis in the header, or a table the header names is missing.
    """
    import warnings

    import astropy.units as u
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    path = Path(path)
    with fits.open(path) as hdul:
        header = hdul[extension].header
        n = int(header.get("NAXIS3", 0))
        try:
            with warnings.catch_warnings():  # wcslib's notes on fixing dates and units
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = WCS(header, fobj=hdul)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ProductError(f"{path}: the {extension} header's WCS cannot be read "
                               f"({reason})") from exc
        if not wcs.has_spectral or n == 0:
            raise ProductError(f"{path}: no wavelength axis in the {extension} header's WCS")
        world = wcs.spectral.pixel_to_world(np.arange(n, dtype=float))
    return np.asarray(world.to_value(u.um), dtype=float)


READ_CACHE_SIZE = 4
"""Products :func:`read_cube` and :func:`read_spectrum` each keep read (per process): the
checks of one dataset read its cube and spectrum about ten times each (issue 17)."""


def file_version(path: Path) -> tuple[str, int, int, int] | None:
    """What identifies a version of a file (resolved path, size, modification time, inode),
    None when it cannot be stat'ed (an uncached read then names the problem): the key of the
    per-process memos of reads and of measurements made from files."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def read_cube(path: Path) -> Cube:
    """Open an s3d cube and validate what the checks need.

    Only the science array is loaded (a native float32 copy); uncompressed files are
    memory-mapped while the model is read, so reading costs about one cube of memory.
    Wavelengths come from the datamodel's gwcs as jwst's ``extract_1d`` reads them, else (no
    finite values there) from the header's FITS spectral WCS (:func:`fits_wavelengths_um`).

    The last :data:`READ_CACHE_SIZE` cubes read are kept, per file version (path, size,
    modification time): reading one again returns a new :class:`Cube` with its own copy of
    the arrays (the gwcs object is shared), so callers may change what they get.

    Raises
    ------
    ProductError
        Not a cube, no WCS, unknown units, all-NaN data.
    """
    path = Path(path)
    version = file_version(path)
    if version is None:
        return _read_cube(path)
    cube = _read_cube_version(path, version)
    return dataclasses.replace(cube, data=cube.data.copy(),
                               wavelength_um=cube.wavelength_um.copy())


@functools.lru_cache(maxsize=READ_CACHE_SIZE)
def _read_cube_version(path: Path, version: tuple[str, int, int, int]) -> Cube:
    del version  # the cache key
    return _read_cube(path)


def _read_cube(path: Path) -> Cube:
    from stdatamodels.jwst import datamodels

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
        try:
            wave = _gwcs_wavelengths_um(wcs, data.shape)
        except Exception as exc:
            raise ProductError(f"{path}: the cube's WCS cannot be evaluated ({exc})") from exc
        spaxel = abs(float(info.cdelt1)) * 3600.0
        cube = Cube(path, data, wave, spaxel, bunit, str(model.meta.instrument.name), wcs,
                    srctype=model.meta.target.source_type,
                    grating=model.meta.instrument.grating, filter=model.meta.instrument.filter)
    finally:
        model.close()
        if mapped is not None:
            mapped.close()
    if not np.isfinite(cube.wavelength_um).all():
        cube.wavelength_um = fits_wavelengths_um(path)
        if cube.wavelength_um.size != cube.data.shape[0]:
            raise ProductError(f"{path}: the header's wavelength axis has "
                               f"{cube.wavelength_um.size} planes, the cube "
                               f"{cube.data.shape[0]}")
    return cube


@dataclass
class Spectrum:
    """A 1-D spectrum from an x1d product: wavelengths in µm, fluxes and errors in Jy.

    Attributes
    ----------
    path : path
        The x1d file.
    wavelength_um, flux_jy, error_jy : numpy.ndarray
        The columns, in µm and Jy.
    extraction_xy : (float, float) or None
        The extraction centre (``EXTR_X``/``EXTR_Y``, 0-based cube pixels) when recorded.
    header : dict
        The primary header.
    dq : numpy.ndarray of int
        The DQ column (zeros when the file has none).
    source_type : str or None
        ``SRCTYPE`` of the spectrum (the EXTRACT1D header, where the pipeline writes it), else
        of the primary header.
    """

    path: Path
    wavelength_um: np.ndarray
    flux_jy: np.ndarray
    error_jy: np.ndarray
    extraction_xy: tuple[float, float] | None
    header: dict[str, Any]
    dq: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))
    source_type: str | None = None

    @property
    def grating(self) -> str | None:
        """``GRATING`` of the primary header (None when absent)."""
        return self.header.get("GRATING")

    @property
    def filter(self) -> str | None:
        """``FILTER`` of the primary header (None when absent)."""
        return self.header.get("FILTER")

    @property
    def valid(self) -> np.ndarray:
        """Samples to use: finite flux and wavelength, not flagged ``DO_NOT_USE``."""
        ok = np.isfinite(self.flux_jy) & np.isfinite(self.wavelength_um)
        if self.dq.shape == ok.shape:
            ok &= (self.dq & 1) == 0
        return ok

    @property
    def flagged_fraction(self) -> float:
        """Share of the rows flagged ``DO_NOT_USE`` in the DQ column."""
        if self.dq.size == 0:
            return 0.0
        return float(np.mean((self.dq & 1) != 0))


def _column_unit(table: Any, name: str, default: str) -> str:
    """The unit of a column of a datamodel's table (its ``TUNITn``), or ``default`` when the
    table has none (an in-memory table, or a file without ``TUNITn``: the jwst schema's unit)."""
    columns = getattr(table, "columns", None)
    if columns is None:
        return default
    try:
        unit = columns[name].unit
    except KeyError:
        return default
    return str(unit).strip() if unit not in (None, "") else default


def _to_unit(values: np.ndarray, unit: str, target: str, what: str, path: Path) -> np.ndarray:
    """``values`` in ``unit`` converted to ``target`` with astropy units (wavelengths also
    from frequency or energy units, through the spectral equivalencies)."""
    import astropy.units as u

    if unit == target:
        return values
    equivalencies = u.spectral() if what == "wavelength" else []
    try:
        return np.asarray((values * u.Unit(unit)).to_value(target, equivalencies=equivalencies),
                          dtype=float)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ProductError(f"{path}: {what} unit {unit!r}, expected {target} (or a unit that "
                           "converts to it)") from exc


def read_spectrum(path: Path) -> Spectrum:
    """Open an x1d (MultiSpecModel) and return its first spectrum.

    The WAVELENGTH, FLUX and FLUX_ERROR columns are read with their units (``TUNITn``, as the
    jwst datamodels hold them): wavelengths converted to µm, fluxes to Jy (a column without a
    unit is taken in the jwst schema's, µm and Jy).

    The last :data:`READ_CACHE_SIZE` spectra read are kept, per file version (as
    :func:`read_cube`): reading one again returns a new :class:`Spectrum` with its own copies
    of the arrays and the header.

    Raises
    ------
    ProductError
        Not a spectrum, no flux column, a wavelength not convertible to µm or a flux not
        convertible to Jy, all-NaN flux.
    """
    path = Path(path)
    version = file_version(path)
    if version is None:
        return _read_spectrum(path)
    spec = _read_spectrum_version(path, version)
    return dataclasses.replace(spec, wavelength_um=spec.wavelength_um.copy(),
                               flux_jy=spec.flux_jy.copy(), error_jy=spec.error_jy.copy(),
                               header=dict(spec.header), dq=spec.dq.copy())


@functools.lru_cache(maxsize=READ_CACHE_SIZE)
def _read_spectrum_version(path: Path, version: tuple[str, int, int, int]) -> Spectrum:
    del version  # the cache key
    return _read_spectrum(path)


def _read_spectrum(path: Path) -> Spectrum:
    from astropy.io import fits

    model = open_product(path)
    try:
        spec_list = getattr(model, "spec", None)
        if not spec_list:
            raise ProductError(f"{path}: expected an x1d spectrum, got {type(model).__name__}")
        table = spec_list[0].spec_table
        names = [n.upper() for n in table.dtype.names]
        if "FLUX" not in names or "WAVELENGTH" not in names:
            raise ProductError(f"{path}: the spectrum has no WAVELENGTH/FLUX columns")
        flux_unit = _column_unit(table, "flux", "Jy")
        wave = _to_unit(np.asarray(table["WAVELENGTH"], dtype=float),
                        _column_unit(table, "wavelength", "um"), "um", "wavelength", path)
        flux = _to_unit(np.asarray(table["FLUX"], dtype=float), flux_unit, "Jy", "flux", path)
        err = (_to_unit(np.asarray(table["FLUX_ERROR"], dtype=float),
                        _column_unit(table, "flux_error", flux_unit), "Jy", "flux error", path)
               if "FLUX_ERROR" in names else np.full_like(flux, np.nan))
        if not np.isfinite(flux).any():
            raise ProductError(f"{path}: the spectrum's flux is all NaN")
        dq = (np.asarray(table["DQ"]).astype(np.uint32) if "DQ" in names
              else np.zeros(flux.shape, dtype=np.uint32))
        spec = spec_list[0]
        xy = None
        if getattr(spec, "extraction_x", None) is not None:
            xy = (float(spec.extraction_x), float(spec.extraction_y))
        source_type = (getattr(spec, "source_type", None)
                       or getattr(model.meta.target, "source_type", None))
    finally:
        model.close()
    header = dict(fits.getheader(path, 0))
    if xy is None and "IFQ_CX" in header:
        xy = (float(header["IFQ_CX"]), float(header["IFQ_CY"]))
    return Spectrum(path, wave, flux, err, xy, header, dq=dq,
                    source_type=str(source_type) if source_type else None)
