"""What the instrument can observe: the field of view, saturation and faintness limits, and the
numeric helpers the strategies draw with (numbers that shrink to the simple scene).
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ifuqa.instrument.dispersers import (
    DISPERSERS,
    Disperser,
)
from ifuqa.instrument.layout import (
    ALONG_SLICE_PIXEL_ARCSEC,
    SLICE_WIDTH_ARCSEC,
)
from ifuqa.instrument.layout import (
    FIELD_HALF_ARCSEC as FIELD_HALF_ARCSEC,  # re-exported: the strategies share the field
)
from ifuqa.instrument.photometry import electrons_per_s_per_mjy
from ifuqa.instrument.psf.measured import measured_fwhm_arcsec

DISPERSER_ORDER: tuple[str, ...] = (
    "G395H/F290LP", "G235H/F170LP", "G140H/F100LP", "G140H/F070LP", "G395M/F290LP",
    "G235M/F170LP", "G140M/F100LP", "G140M/F070LP", "PRISM/CLEAR",
)
"""Every NIRSpec IFU grating/filter pair, the one a failing scene shrinks to first."""

EDGE_MARGIN_FWHM = 2.5
"""How far (in PSF FWHM at the band's red end) a source stays inside the field of view in every
exposure: the checks' centroid window (2.5 FWHM) and extraction aperture (2 FWHM) then lie in
the cube."""

FULL_WELL_E = 55_000.0
"""Electrons at which a NIRSpec pixel saturates (a round value of the detectors' measured
saturation levels; ifuqa's simulated detector itself is linear and never saturates)."""

SATURATION_FILL = 0.8
"""Share of :data:`FULL_WELL_E` the brightest pixel reaches at the end of the exposure for the
brightest source drawn ("near saturation")."""

FAINT_FRACTION = 1e-6
"""Faintest continuum drawn, as a fraction of the scene's :func:`saturation_mjy` (its brightest
pixel then collects ~0.04 electrons): undetectable in the continuum (in a 500 s G395H exposure
it is 1e-5 mJy; 1e-4 mJy gives S/N ~ 2 in the median-collapsed cube), so faint continua under
strong lines — line-dominated sources — are drawn. A fraction of the saturation limit, not a
fixed flux density, so that faintness means the same signal-to-noise for every disperser and
exposure time (and shrinks independently of them)."""

MAX_LINE_AMPLITUDE = 1e4
"""Largest line peak drawn, relative to the continuum (a line-dominated source; also kept below
saturation)."""

READOUT_ORDER: tuple[str, ...] = ("NRSIRS2RAPID", "NRSIRS2", "NRSRAPID", "NRS")
"""Readout patterns; a failing scene shrinks to the first."""

EXPOSURE_RANGE_S = (100.0, 3000.0)
"""Exposure times drawn (s; whole groups of the readout pattern)."""

REFERENCE_EXPOSURE_S = 500.0
"""The exposure time a failing scene shrinks to."""

TA_POINTING_ARCSEC = 0.015
BLIND_POINTING_ARCSEC = 0.2
"""Bounds of the pointing error per axis: 3 × 5 mas (after target acquisition) and 3 × 67 mas
(blind pointing)."""

BAND_EDGE_COLUMNS = 12.0
"""Detector columns kept free at each end of a detector's range when a band is placed."""

_NAMED_DITHERS = ("none", "2-point-nod", "4-point-nod", "4-point-dither")


def _as_strategy(value: Any, default: SearchStrategy) -> SearchStrategy:
    """``value`` as a strategy: None → ``default``, a strategy → itself, else ``just(value)``."""
    if value is None:
        return default
    if isinstance(value, SearchStrategy):
        return value
    return st.just(value)


_STEPS = 1000
_UNIT = st.integers(-_STEPS, _STEPS)


def _signed(draw: Any) -> float:
    """A number in [−1, 1] (steps of 0.001) that shrinks to 0 (the simple case). Drawn as an
    integer: Hypothesis spreads bounded integers over their range, while its floats crowd
    near 0 and the bounds, which would starve the faint end of the flux range."""
    return draw(_UNIT) / _STEPS


def _log_between(a: float, b: float, t: float) -> float:
    """``a`` at t = 0 to ``b`` at t = 1, geometrically."""
    return float(a * (b / a) ** t)


def _disperser(name: str) -> Disperser:
    return DISPERSERS[name]


def field_margin_arcsec(band_um: tuple[float, float]) -> float:
    """Distance (arcsec) a source keeps from the edge of the field of view:
    :data:`EDGE_MARGIN_FWHM` × the PSF FWHM at the band's red end.

    Parameters
    ----------
    band_um : (float, float)
        Simulated band (µm).

    Returns
    -------
    float

    Examples
    --------
    >>> round(field_margin_arcsec((4.2, 4.3)), 3)
    0.38
    """
    return EDGE_MARGIN_FWHM * float(measured_fwhm_arcsec(float(band_um[1])))


def _peak_pixel_fraction(wavelength_um: Any) -> Any:
    """Share of a centred point source's flux in its brightest detector pixel, for a Gaussian of
    the measured FWHM over one slice width × one along-slice pixel (an upper bound: the real PSF
    has more light in its wings)."""
    from scipy.special import erf

    sigma = measured_fwhm_arcsec(wavelength_um) / 2.3548200450309493
    return (erf(SLICE_WIDTH_ARCSEC / (2.0 * math.sqrt(2.0) * sigma))
            * erf(ALONG_SLICE_PIXEL_ARCSEC / (2.0 * math.sqrt(2.0) * sigma)))


def saturation_mjy(disperser: Disperser | str, band_um: tuple[float, float],
                   exposure_time_s: float, *, spectral_index: float = 0.0,
                   reference_wavelength_um: float | None = None) -> float:
    """Continuum flux density (mJy at the reference wavelength) at which the brightest pixel of a
    centred point source collects :data:`SATURATION_FILL` × :data:`FULL_WELL_E` electrons by the
    end of the exposure, at the worst wavelength of the band.

    Parameters
    ----------
    disperser : Disperser or str
        The disperser (or its ``"GRATING/FILTER"`` name).
    band_um : (float, float)
        Simulated band (µm).
    exposure_time_s : float
        Effective exposure time (s).
    spectral_index : float
        ``F_ν ∝ λ^index`` (the continuum's shape over the band).
    reference_wavelength_um : float, optional
        Where the flux density is given (default: the band centre).

    Returns
    -------
    float

    Examples
    --------
    >>> round(saturation_mjy("G395H/F290LP", (3.7, 4.0), 700.0), 1)
    7.8
    >>> saturation_mjy("PRISM/CLEAR", (0.6, 5.3), 300.0) < saturation_mjy(
    ...     "G395H/F290LP", (0.6, 5.3), 300.0)
    True
    """
    import numpy as np

    disp = _disperser(disperser) if isinstance(disperser, str) else disperser
    lo, hi = band_um
    ref = reference_wavelength_um if reference_wavelength_um is not None else 0.5 * (lo + hi)
    lam = np.linspace(lo, hi, 17)
    width = np.asarray(disp.pixel_width_um(lam), dtype=float)
    rate = electrons_per_s_per_mjy(disp, lam, width) * (lam / ref) ** spectral_index
    rate = rate * _peak_pixel_fraction(lam)
    return float(SATURATION_FILL * FULL_WELL_E / (float(np.max(rate)) * exposure_time_s))
