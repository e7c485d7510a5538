"""A user-supplied PSF cube (e.g. from WebbPSF/STPSF), read from FITS.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.instrument.psf.model import PSFError
from ifuqa.instrument.psf.tabulated import _azimuthal_fwhm, _summed_area_table, _TabulatedPSF

if TYPE_CHECKING:
    from astropy.io import fits


# --------------------------------------------------------------------------------------------
# User PSF cubes
# --------------------------------------------------------------------------------------------


class CubePSF(_TabulatedPSF):
    """A PSF given as a cube of images at a set of wavelengths.

    Parameters
    ----------
    cube : array_like
        Images, shape (n_wave, ny, nx); axis 2 is x (across the slice), axis 1 is y (along the
        slice). Centred on the middle of the array (pixel ``(n − 1)/2`` along each axis, i.e.
        the middle pixel for odd sizes). Each plane is renormalised to unit sum, so the cube
        is taken to hold all of the flux.
    wavelength_um : array_like
        Wavelength (µm) of each plane, strictly increasing.
    sampling_arcsec : float
        Pixel size of the images (arcsec, square pixels).

    Raises
    ------
    PSFError
        If the cube is not 3-D, a plane has non-finite values or a non-positive sum, the
        wavelengths do not match the planes or are not strictly increasing, or the sampling is
        not positive.
    """

    def __init__(self, cube: ArrayLike, wavelength_um: ArrayLike,
                 sampling_arcsec: float) -> None:
        data = np.asarray(cube, dtype=float)
        waves = np.atleast_1d(np.asarray(wavelength_um, dtype=float))
        _validate_cube(data, waves, sampling_arcsec)
        n_wave, ny, nx = data.shape
        self._init_grid(waves, ny, nx, sampling_arcsec)
        for k in range(n_wave):
            plane = data[k] / data[k].sum()
            self._fwhm_nodes[k] = _azimuthal_fwhm(plane, self._sampling)
            _summed_area_table(plane, self._sat[k])

    @classmethod
    def from_fits(cls, path: str | os.PathLike[str]) -> CubePSF:
        """Read a PSF cube from a FITS file.

        The cube is the primary HDU's data if 3-D, otherwise an extension named ``PSF`` or
        ``SCI``. Wavelengths come from a ``WAVELENGTH`` binary-table extension (column
        ``wavelength``, µm) or from a linear WCS on axis 3 (``CRVAL3``, ``CDELT3``, ``CRPIX3``;
        ``CUNIT3`` ``um`` or ``m``, guessed from the magnitude if absent). The sampling is
        ``PIXELSCL`` (arcsec) or ``|CDELT1|`` (deg), from the cube's header or the primary header.

        Parameters
        ----------
        path : str or os.PathLike
            FITS file.

        Returns
        -------
        CubePSF

        Raises
        ------
        PSFError
            Naming the file and the reason: missing file, not FITS or corrupt, no 3-D data,
            invalid planes, no wavelength information, no sampling keyword, wavelengths not
            increasing.
        """
        path = Path(path)
        if not path.is_file():
            raise PSFError(f"{path}: PSF file not found")
        try:
            cube, waves, sampling = _read_psf_fits(path)
            return cls(cube, waves, sampling)
        except PSFError as exc:
            raise PSFError(f"{path}: {exc}") from None


def _validate_cube(data: NDArray[np.float64], waves: NDArray[np.float64],
                   sampling: float) -> None:
    """Raise :class:`PSFError` if a PSF cube, its wavelengths or its sampling are unusable."""
    if data.ndim != 3 or min(data.shape) < 1:
        raise PSFError(f"PSF cube must be 3-D (n_wave, ny, nx), got shape {data.shape}")
    if waves.ndim != 1 or waves.size != data.shape[0]:
        raise PSFError(f"{waves.size} wavelengths for {data.shape[0]} PSF planes")
    if not np.all(np.isfinite(waves)) or np.any(waves <= 0):
        raise PSFError("wavelengths must be finite and positive")
    if np.any(np.diff(waves) <= 0):
        raise PSFError("wavelengths not strictly increasing")
    if not (np.isfinite(sampling) and sampling > 0):
        raise PSFError(f"invalid sampling {sampling!r} arcsec")
    finite = np.all(np.isfinite(data), axis=(1, 2))
    if not finite.all():
        raise PSFError(f"non-finite values in PSF plane(s) {np.flatnonzero(~finite).tolist()}")
    sums = data.sum(axis=(1, 2))
    if np.any(sums <= 0):
        raise PSFError(f"PSF plane(s) {np.flatnonzero(sums <= 0).tolist()} have "
                       "non-positive sum")


def _read_psf_fits(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Cube, wavelengths (µm) and sampling (arcsec) from a PSF FITS file."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            hdul.readall()
            cube_hdu = _find_cube_hdu(hdul)
            cube = np.array(cube_hdu.data, dtype=float)
            headers = [cube_hdu.header, hdul[0].header]
            table = _wavelength_table(hdul)
    except PSFError:
        raise
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError, warnings...
        raise PSFError(f"not a readable FITS file ({type(exc).__name__}: {exc})") from exc
    waves = table if table is not None else _wcs_wavelengths(headers, cube.shape[0])
    return cube, waves, _sampling_from_headers(headers)


def _find_cube_hdu(hdul: fits.HDUList) -> Any:
    """The HDU holding the 3-D PSF cube."""
    candidates = [hdul[0]] + [hdu for hdu in hdul[1:] if hdu.name.upper() in ("PSF", "SCI")]
    for hdu in candidates:
        if hdu.is_image and hdu.data is not None and hdu.data.ndim == 3:
            return hdu
    raise PSFError("no 3-D PSF cube in the primary HDU or a PSF/SCI extension")


def _wavelength_table(hdul: fits.HDUList) -> NDArray[np.float64] | None:
    """Wavelengths (µm) from a ``WAVELENGTH`` table extension, or None if there is none."""
    if "WAVELENGTH" not in hdul:
        return None
    hdu = hdul["WAVELENGTH"]
    columns = getattr(hdu, "columns", None)
    names = {n.lower(): n for n in columns.names} if columns is not None else {}
    if "wavelength" not in names:
        raise PSFError("WAVELENGTH extension has no 'wavelength' column")
    return np.array(hdu.data[names["wavelength"]], dtype=float).ravel()


_UNIT_TO_UM = {"um": 1.0, "micron": 1.0, "microns": 1.0, "µm": 1.0, "m": 1.0e6, "nm": 1.0e-3,
               "angstrom": 1.0e-4}


def _wcs_wavelengths(headers: list[Any], n_wave: int) -> NDArray[np.float64]:
    """Wavelengths (µm) from the linear WCS of axis 3."""
    for header in headers:
        if "CRVAL3" in header and ("CDELT3" in header or "CD3_3" in header):
            break
    else:
        raise PSFError("no wavelength information (no WAVELENGTH table, no CRVAL3/CDELT3)")
    step = float(header.get("CDELT3", header.get("CD3_3")))
    pix = np.arange(1, n_wave + 1) - float(header.get("CRPIX3", 1.0))
    waves = float(header["CRVAL3"]) + pix * step
    unit = str(header.get("CUNIT3", "")).strip()
    if unit:
        if unit.lower() not in _UNIT_TO_UM and unit not in _UNIT_TO_UM:
            raise PSFError(f"unsupported wavelength unit CUNIT3 = {unit!r}")
        scale = _UNIT_TO_UM.get(unit.lower(), _UNIT_TO_UM.get(unit, 1.0))
    else:
        scale = 1.0e6 if np.nanmax(np.abs(waves)) < 1.0e-3 else 1.0
    return waves * scale


def _sampling_from_headers(headers: list[Any]) -> float:
    """Pixel scale (arcsec) from ``PIXELSCL`` (arcsec) or ``CDELT1`` (deg)."""
    for header in headers:
        if "PIXELSCL" in header:
            return float(header["PIXELSCL"])
    for header in headers:
        if "CDELT1" in header:
            return abs(float(header["CDELT1"])) * 3600.0
    raise PSFError("no sampling keyword (PIXELSCL or CDELT1)")
