"""Defects injected into the flux of an x1d spectrum (pure array functions).

The 1/f residual of read-noise-limited NIRSpec data (NS-IFU03) is additive: an irregular
low-frequency undulation and a bias of the extracted flux, which can drive faint spectra
negative. Both are injected relative to the spectrum's own level (the median of its valid
flux), so the same sizes mean the same thing on bright and faint spectra.
"""

from __future__ import annotations

import numpy as np

__all__ = ["flux_level", "inject_negative_offset", "inject_undulation"]


def flux_level(flux: np.ndarray, valid: np.ndarray | None = None) -> float:
    """The spectrum's level: the median of its valid, finite flux (absolute value).

    Parameters
    ----------
    flux : numpy.ndarray
        Flux (any unit).
    valid : numpy.ndarray of bool, optional
        Samples to use (e.g. DQ clean); default all finite.

    Returns
    -------
    float

    Examples
    --------
    >>> flux_level(np.array([1.0, 2.0, np.nan, 3.0]))
    2.0
    """
    flux = np.asarray(flux, dtype=float)
    use = np.isfinite(flux) if valid is None else (np.asarray(valid, bool) & np.isfinite(flux))
    if not use.any():
        raise ValueError("the spectrum has no valid flux")
    return float(abs(np.median(flux[use])))


def inject_undulation(wave_um: np.ndarray, flux: np.ndarray, amplitude_percent: float, *,
                      cycles_per_um: float = 3.0, phase_rad: float = 0.0,
                      level: float | None = None) -> np.ndarray:
    """Add a low-frequency sinusoidal undulation ``A · level · sin(2π f λ + φ)`` to the flux.

    Parameters
    ----------
    wave_um, flux : numpy.ndarray
        The spectrum.
    amplitude_percent : float
        A, in % of ``level``.
    cycles_per_um : float
        Frequency f (cycles per µm); 1/f residuals sit at a few cycles per µm.
    phase_rad : float
        Phase φ.
    level : float, optional
        Reference level (default :func:`flux_level` of ``flux``).

    Returns
    -------
    numpy.ndarray
        The flux with the undulation (NaN samples stay NaN).

    Examples
    --------
    >>> w = np.linspace(1.0, 2.0, 5); f = np.full(5, 2.0)
    >>> out = inject_undulation(w, f, 10.0, cycles_per_um=0.25, phase_rad=np.pi / 2)
    >>> bool(np.isclose(out[0], 2.0 + 0.2 * np.sin(2 * np.pi * 0.25 + np.pi / 2)))
    True
    """
    flux = np.asarray(flux, dtype=float)
    level = flux_level(flux) if level is None else float(level)
    wave = np.asarray(wave_um, dtype=float)
    return flux + amplitude_percent / 100.0 * level * np.sin(
        2.0 * np.pi * cycles_per_um * wave + phase_rad)


def inject_negative_offset(flux: np.ndarray, offset_percent: float, *,
                           level: float | None = None) -> np.ndarray:
    """Subtract a constant ``offset · level`` from the flux (a 1/f bias).

    Parameters
    ----------
    flux : numpy.ndarray
        Flux.
    offset_percent : float
        Offset, in % of ``level``.
    level : float, optional
        Reference level (default :func:`flux_level` of ``flux``).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> inject_negative_offset(np.array([1.0, 2.0, 3.0]), 150.0).tolist()
    [-2.0, -1.0, 0.0]
    """
    flux = np.asarray(flux, dtype=float)
    level = flux_level(flux) if level is None else float(level)
    return flux - offset_percent / 100.0 * level
