"""Probing product files before a datamodel reads them: exists, not empty, complete (data as
long as the headers declare), an intact ``.gz``, FITS, a JWST product. Every failure is a
:class:`ProductError` naming the file and the reason.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any


class ProductError(ValueError):
    """A product cannot be used: the message names the file and the reason."""


def probe_fits(path: Path) -> list[Any]:
    """Open a file's headers with astropy (closing it again) to reject non-FITS, truncated or
    corrupt files with a named error before stdatamodels reads it (which can leave the file
    open on failure). Arrays are not read: truncation is found from the sizes the headers
    declare (compressed files are checked by decompressing them, :func:`check_file`).

    Returns
    -------
    list of astropy.io.fits.Header
        The header of every HDU.

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
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                hdul.verify("silentfix")
                if not path.name.endswith(".gz"):
                    require_complete(path, hdul)
                return [hdu.header.copy() for hdu in hdul]
    except ProductError:
        raise
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: not a readable FITS file ({reason})") from exc


def require_complete(path: Path, hdul: Any) -> None:
    """Every HDU's data, as its header declares it, lies inside the (uncompressed) file: a
    truncated file's headers read fine, and its arrays would come back short or empty.

    Raises
    ------
    ProductError
        The file is truncated.
    """
    size = Path(path).stat().st_size
    for index in range(len(hdul)):
        info = hdul.fileinfo(index)
        if info and info["datLoc"] + info["datSpan"] > size:
            raise ProductError(f"{path}: not a readable FITS file (truncated: HDU {index} "
                               f"needs {info['datLoc'] + info['datSpan']} bytes, the file has "
                               f"{size})")


def _probe_gzip(path: Path) -> None:
    """Decompress a gzip file to the end (discarding the bytes): astropy reads a truncated
    archive without complaint, leaving empty arrays. Done once per file version (path, size,
    modification time) and process: screening and every check of a dataset ask again."""
    stat = path.stat()
    _probe_gzip_version(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _probe_gzip_version(name: str, size: int, mtime_ns: int) -> None:
    import gzip
    import zlib

    path = Path(name)
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise ProductError(f"{path}: not a readable FITS file (damaged gzip archive: "
                           f"{exc})") from exc


def _require_jwst(path: Path, header: Any) -> None:
    """Reject FITS files that are not JWST pipeline products (no ``TELESCOP = 'JWST'`` in the
    primary ``header``)."""
    telescope = str(header.get("TELESCOP", "")).strip()
    if telescope != "JWST":
        found = f"TELESCOP={telescope!r}" if telescope else "no TELESCOP keyword"
        raise ProductError(f"{path}: not a JWST product ({found} in the primary header)")


def check_file(path: Path) -> None:
    """Cheap checks before reading: the file exists, is not empty and, if gzip-compressed,
    decompresses to the end.

    Raises
    ------
    ProductError
        Naming the file and the reason.
    """
    path = Path(path)
    if not path.exists():
        raise ProductError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ProductError(f"{path}: empty file")
    if path.name.endswith(".gz"):
        _probe_gzip(path)


def precheck_product(path: Path) -> list[Any]:
    """Every check before a datamodel reads the file (exists, not empty, intact, FITS, JWST);
    returns the headers."""
    check_file(path)
    headers = probe_fits(path)
    _require_jwst(path, headers[0])
    return headers


def open_product(path: Path) -> Any:
    """The datamodel of a product; ProductError naming the file and the reason if unreadable."""
    from stdatamodels.jwst import datamodels

    path = Path(path)
    precheck_product(path)
    try:
        return datamodels.open(path)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: not a readable JWST product ({reason})") from exc
