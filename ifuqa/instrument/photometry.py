"""Photometric conversions between source flux density and detector counts.

The same functions serve the simulator (mJy → e⁻/s) and the processing chain's flux
calibration (DN/s → MJy/sr or Jy), so that calibration is exact by construction.
"""

from __future__ import annotations

import numpy as np

from ifuqa.instrument.dispersers import TELESCOPE_AREA_M2, Disperser

__all__ = [
    "GAIN_E_PER_DN",
    "SR_PER_ARCSEC2",
    "electrons_per_s_per_mjy",
]

PLANCK_J_S = 6.62607015e-34
JY_SI = 1.0e-26  # W m^-2 Hz^-1
SR_PER_ARCSEC2 = (np.pi / (180.0 * 3600.0)) ** 2

GAIN_E_PER_DN: dict[str, float] = {"NRS1": 1.0, "NRS2": 1.08}
"""Representative detector gains (e⁻/DN); rate files are written in DN/s."""


def electrons_per_s_per_mjy(disperser: Disperser, wavelength_um: np.ndarray,
                            dwave_um: np.ndarray) -> np.ndarray:
    """Electrons per second collected in a wavelength interval per mJy of flux density.

    ``N = F_ν A Δλ η / (h λ)`` for a source of flux density ``F_ν`` = 1 mJy, with the telescope
    area ``A``, the interval ``Δλ`` and the disperser's throughput ``η(λ)``.

    Parameters
    ----------
    disperser : Disperser
        Grating/filter (gives the throughput).
    wavelength_um, dwave_um : array_like
        Wavelength and interval width (µm).

    Returns
    -------
    numpy.ndarray
        e⁻ s⁻¹ mJy⁻¹ (zero outside the disperser's range).
    """
    lam = np.asarray(wavelength_um, dtype=float)
    dlam = np.asarray(dwave_um, dtype=float)
    photons = 1.0e-3 * JY_SI * TELESCOPE_AREA_M2 * dlam / (PLANCK_J_S * lam)
    return photons * disperser.throughput(lam)
