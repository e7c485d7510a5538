"""Reading the detector images of rate, cal and crf files: only the extensions a check needs.

The NS-IFU01 flag checks need the DQ array of each cal/crf file and the SCI and ERR arrays of
its rate image; opening each file as a datamodel (schema validation, the whole tree of
metadata) costs about ten times reading those arrays with astropy. :func:`read_images` reads
just the named image extensions, after the probing every product gets
(:func:`ifuqa.products.probe.precheck_product`: exists, not empty, complete, an intact
``.gz``, FITS, a JWST product), so a truncated or corrupt file is a
:class:`~ifuqa.products.probe.ProductError` naming the file and the reason. The arrays are
those the datamodel gives (``model.data``, ``model.err``, ``model.dq``): SCI and ERR as stored,
DQ as unsigned 32-bit integers (astropy applies the ``BZERO`` the file stores them with).
Files are opened read-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.products.probe import ProductError, precheck_product

__all__ = ["read_images"]

def _extension_index(headers: list[Any], name: str) -> int | None:
    """Index of the first HDU whose ``EXTNAME`` is ``name`` (None when there is none)."""
    for index, header in enumerate(headers):
        if index and str(header.get("EXTNAME", "")).strip().upper() == name:
            return index
    return None


def read_images(path: Path, names: tuple[str, ...] = ("SCI", "ERR", "DQ")) -> dict[str, Any]:
    """The 2-D image extensions ``names`` of a rate, cal or crf file, read with astropy.

    Parameters
    ----------
    path : path
        The file (``.fits`` or ``.fits.gz``).
    names : tuple of str
        Extension names (``SCI``, ``ERR``, ``DQ``).

    Returns
    -------
    dict
        name -> numpy.ndarray: SCI and ERR in their stored type (float32 in pipeline products),
        DQ as ``uint32``; all of one shape.

    Raises
    ------
    ProductError
        The file is missing, empty, truncated, not FITS or not a JWST product, lacks one of the
        extensions, or holds one that is not a 2-D image of the others' shape.

    Examples
    --------
    >>> import tempfile
    >>> from astropy.io import fits
    >>> folder = Path(tempfile.mkdtemp())
    >>> primary = fits.PrimaryHDU()
    >>> primary.header["TELESCOP"] = "JWST"
    >>> dq = fits.ImageHDU(np.array([[0, 16], [2**31, 1]], dtype=np.uint32), name="DQ")
    >>> fits.HDUList([primary, dq]).writeto(folder / "x_cal.fits")
    >>> images = read_images(folder / "x_cal.fits", ("DQ",))
    >>> images["DQ"].dtype, int(images["DQ"][1, 0])
    (dtype('uint32'), 2147483648)
    """
    import warnings

    from astropy.io import fits

    path = Path(path)
    headers = precheck_product(path)
    wanted = {name: _extension_index(headers, name.upper()) for name in names}
    missing = [name for name, index in wanted.items() if index is None]
    if missing:
        raise ProductError(f"{path}: no {', '.join(missing)} extension (a rate, cal or crf "
                           "image has SCI, ERR and DQ)")
    out: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                for name, index in wanted.items():
                    data = hdul[index].data
                    if data is None or np.ndim(data) != 2:
                        shape = None if data is None else np.shape(data)
                        raise ProductError(f"{path}: the {name} extension is not a 2-D image "
                                           f"(shape {shape})")
                    array = np.array(data)
                    if name.upper() == "DQ":
                        if not np.issubdtype(array.dtype, np.integer):
                            raise ProductError(f"{path}: the DQ extension holds "
                                               f"{array.dtype} values, not integer flags")
                        array = array.astype(np.uint32, copy=False)
                    out[name] = array
    except ProductError:
        raise
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: not a readable JWST product ({reason})") from exc
    shapes = {name: array.shape for name, array in out.items()}
    if len(set(shapes.values())) > 1:
        raise ProductError(f"{path}: the image extensions differ in shape ({shapes})")
    return out
