"""Flux calibration of count-rate images: DN/s → MJy/sr (the fix) or MJy per pixel (NS-IFU02).

The synthetic instrument's photometric response (:func:`ifuqa.instrument.electrons_per_s_per_mjy`)
and each pixel's footprint (:func:`ifuqa.instrument.pixel_map`) stand in for the reference files
(flat, photom, area) the real pipeline reads. The calibration is exact by construction, so any
flux error downstream comes from the processing being tested, not from the calibration.

* **Surface brightness** (the fix of NS-IFU02): a pixel that collected ``R`` e⁻/s over a footprint
  of solid angle ``Ω`` sees a mean surface brightness ``R / (c(λ) Ω)``, with ``c`` the e⁻ s⁻¹ per
  mJy of the disperser. This is what cube building assumes.
* **Flux density per pixel** (the NS-IFU02 defect): ``R / c(λ)`` in MJy, the flux density the
  pixel collected. Handing that to cube building, which averages its input as an intensive
  quantity, makes the cube's flux depend on the output spaxel area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ifuqa.instrument.layout import DetectorPixelMap
from ifuqa.instrument.photometry import GAIN_E_PER_DN, SR_PER_ARCSEC2, electrons_per_s_per_mjy

__all__ = ["Calibrated", "calibrate_pixels", "pixel_solid_angle_sr"]

MJY_PER_MJY = 1.0e-9  # MJy per mJy


@dataclass
class Calibrated:
    """Calibrated values of the illuminated pixels (aligned with a :class:`DetectorPixelMap`).

    Attributes
    ----------
    flux, err : numpy.ndarray
        MJy/sr (``unit == "MJy/sr"``) or MJy per pixel (``unit == "MJy"``).
    unit : str
        ``"MJy/sr"`` or ``"MJy"``.
    """

    flux: np.ndarray
    err: np.ndarray
    unit: str


def pixel_solid_angle_sr(pixmap: DetectorPixelMap) -> np.ndarray:
    """Solid angle of each pixel's sky footprint (sr)."""
    return ((pixmap.across_hi - pixmap.across_lo) * (pixmap.along_hi - pixmap.along_lo)
            * SR_PER_ARCSEC2)


def calibrate_pixels(rate_dn_s: np.ndarray, err_dn_s: np.ndarray, pixmap: DetectorPixelMap, *,
                     flux_density: bool = False) -> Calibrated:
    """Calibrate a detector image on the illuminated pixels of ``pixmap``.

    Parameters
    ----------
    rate_dn_s, err_dn_s : numpy.ndarray
        Full-frame count rate and its uncertainty (DN/s).
    pixmap : DetectorPixelMap
        The detector's illuminated pixels.
    flux_density : bool
        Calibrate to flux density per pixel (MJy; the NS-IFU02 defect) instead of surface
        brightness (MJy/sr).

    Returns
    -------
    Calibrated
        Values for each pixel of ``pixmap``.
    """
    gain = GAIN_E_PER_DN[pixmap.detector]
    per_mjy = electrons_per_s_per_mjy(pixmap.disperser, pixmap.wavelength_um, pixmap.dwave_um)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(per_mjy > 0, gain * MJY_PER_MJY / per_mjy, np.nan)
        if not flux_density:
            scale = scale / pixel_solid_angle_sr(pixmap)
    flux = rate_dn_s[pixmap.y, pixmap.x] * scale
    err = err_dn_s[pixmap.y, pixmap.x] * scale
    return Calibrated(flux, err, "MJy" if flux_density else "MJy/sr")
