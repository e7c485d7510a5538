"""The chain's input: NIRSpec IFU count-rate files, opened and checked.

A rate file made by ifuqa's simulator also carries, in its primary header, the scene's PSF
(``IFQ_PSF``) and the simulated band (``IFQ_WLO``/``IFQ_WHI``); those are all the processing
knows of the simulation (it never reads the truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ifuqa.instrument.sky import Pointing
from ifuqa.products.probe import ProductError, probe_fits

__all__ = ["ProcessingError", "RateExposure", "find_rate_files", "open_rate"]


class ProcessingError(RuntimeError):
    """The input cannot be processed (the message names the file and the reason)."""


@dataclass
class RateExposure:
    """One opened rate file and what the chain needs from its header.

    Attributes
    ----------
    path : path
        The rate file.
    model : IFUImageModel
        The opened model (the caller closes it).
    detector : str
        ``NRS1`` or ``NRS2``.
    pointing : Pointing
        The commanded pointing (RA_REF, DEC_REF, ROLL_REF).
    exposure : int
        Dither position (1-based).
    psf : str
        The scene's PSF for a simulated exposure (``IFQ_PSF``: ``model`` or a PSF cube path);
        ``model`` for any other rate file.
    band_um : (float, float) or None
        The simulated wavelength band (``IFQ_WLO``, ``IFQ_WHI``), None when not recorded.
    """

    path: Path
    model: object
    detector: str
    pointing: Pointing
    exposure: int
    psf: str = "model"
    band_um: tuple[float, float] | None = None


def find_rate_files(folder: Path) -> list[Path]:
    """The ``*_rate.fits`` files of a folder, sorted."""
    files = sorted(Path(folder).glob("*_rate.fits"))
    if not files:
        raise ProcessingError(f"{folder}: no *_rate.fits files to process")
    return files


def open_rate(path: Path) -> RateExposure:
    """Open a NIRSpec IFU count-rate file for processing.

    Parameters
    ----------
    path : path
        A ``*_rate.fits`` file (DN/s ``IFUImageModel``).

    Returns
    -------
    RateExposure

    Raises
    ------
    ProcessingError
        Naming the file and the reason when it is missing, truncated, not a NIRSpec IFU
        count-rate image, or has no pointing.
    """
    from stdatamodels.jwst import datamodels

    try:
        probe_fits(path)
    except ProductError as exc:
        raise ProcessingError(str(exc)) from exc
    try:
        model = datamodels.open(path)
    except Exception as exc:
        raise ProcessingError(f"{path}: cannot be opened as a JWST product ({exc})") from exc
    if not isinstance(model, datamodels.IFUImageModel):
        model.close()
        raise ProcessingError(f"{path}: not an IFU image (opened as {type(model).__name__})")
    meta = model.meta
    if meta.instrument.name != "NIRSPEC" or meta.exposure.type != "NRS_IFU":
        model.close()
        raise ProcessingError(f"{path}: not a NIRSpec IFU exposure "
                              f"(INSTRUME={meta.instrument.name}, EXP_TYPE={meta.exposure.type})")
    if meta.bunit_data not in (None, "DN/s"):
        model.close()
        raise ProcessingError(f"{path}: expected a count-rate image in DN/s, found "
                              f"BUNIT={meta.bunit_data!r}")
    info = meta.wcsinfo
    if info.ra_ref is None or info.dec_ref is None:
        model.close()
        raise ProcessingError(f"{path}: no pointing (RA_REF/DEC_REF) in the header")
    pointing = Pointing(float(info.ra_ref), float(info.dec_ref), float(info.roll_ref or 0.0))
    keys = _handover_keywords(path)
    band = ((float(keys["IFQ_WLO"]), float(keys["IFQ_WHI"]))
            if "IFQ_WLO" in keys and "IFQ_WHI" in keys else None)
    return RateExposure(path, model, meta.instrument.detector, pointing,
                        int(meta.dither.position_number or 1),
                        psf=str(keys.get("IFQ_PSF", "model")),
                        band_um=band)


def _handover_keywords(path: Path) -> dict[str, object]:
    """The simulator's hand-over keywords (``IFQ_PSF``, ``IFQ_WLO``, ``IFQ_WHI``) of a rate
    file's primary header (see :mod:`ifuqa.simulate.exposures`)."""
    from astropy.io import fits

    header = fits.getheader(path)
    return {k: header[k] for k in ("IFQ_PSF", "IFQ_WLO", "IFQ_WHI") if k in header}
