"""Point and extended sources: position, flux density, spectrum, lines and drift.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ifuqa.strategies.bounds import (
    FAINT_FRACTION,
    FIELD_HALF_ARCSEC,
    MAX_LINE_AMPLITUDE,
    REFERENCE_EXPOSURE_S,
    _as_strategy,
    _disperser,
    _log_between,
    _signed,
    field_margin_arcsec,
    saturation_mjy,
)


@st.composite
def _lines(draw: Any, band_um: tuple[float, float], resolving_power: float,
           max_amplitude: float, max_lines: int) -> list[dict[str, float]]:
    """0-``max_lines`` Gaussian lines well inside the band."""
    lo, hi = band_um
    n = draw(st.integers(0, max_lines))
    lines = []
    for _ in range(n):
        edge = 3.0 * (lo + hi) / 2.0 / resolving_power
        centre = 0.5 * (lo + hi)
        half = max(0.5 * (hi - lo) - edge, 0.0)
        wave = centre + half * _signed(draw)
        fwhm_kms = _log_between(100.0, 1000.0, abs(_signed(draw)))
        absorption = draw(st.booleans())
        regime = draw(st.integers(0, 2))  # weak, strong, dominant (shrinks to weak)
        t = abs(_signed(draw))
        if absorption or max_amplitude <= 0.0:  # shallower than -1 (the schema's limit)
            amplitude = -0.9 * t
        else:  # up to the saturation limit of the line's peak
            low = min(0.05, max_amplitude)
            nodes = [low, min(max(1.0, low), max_amplitude), min(max(30.0, low), max_amplitude),
                     max_amplitude]
            amplitude = _log_between(nodes[regime], nodes[regime + 1], t)
        lines.append({"wavelength_um": float(wave), "amplitude": float(amplitude),
                      "fwhm_kms": float(fwhm_kms)})
    return lines


def _flux(draw: Any, saturation: float) -> float:
    """A continuum flux density (mJy) in one of three regimes, each as likely: bright (a quarter
    of the saturation limit, within a factor 2; what a failing scene shrinks to), faint (down to
    :data:`FAINT_FRACTION` of the limit) or near saturation (up to the limit). Every regime is a
    fraction of ``saturation``: the same choices give the same peak-pixel electrons whatever the
    disperser and exposure time."""
    bright = saturation / 4.0
    regime = draw(st.integers(0, 2))
    t = _signed(draw)
    if regime == 0:
        return _log_between(bright, 2.0 * bright, t) if t >= 0 \
            else _log_between(bright, bright / 2.0, -t)
    if regime == 1:
        return _log_between(bright / 2.0, FAINT_FRACTION * saturation, abs(t))
    return _log_between(2.0 * bright, saturation, abs(t))


def _source_context(band_um: tuple[float, float] | None, disperser: str | None,
                    exposure_time_s: float | None) -> tuple[str, tuple[float, float], float]:
    name = disperser or "G395H/F290LP"
    disp = _disperser(name)
    band = band_um or disp.wavelength_range_um
    return name, (float(band[0]), float(band[1])), float(exposure_time_s or
                                                         REFERENCE_EXPOSURE_S)


@st.composite
def _source(draw: Any, kind: str, *, band_um: tuple[float, float] | None,
            disperser: str | None, exposure_time_s: float | None,
            max_offset_arcsec: tuple[float, float] | None, flux_mjy: Any, lines: bool,
            max_lines: int, max_drift_mas: float) -> dict[str, Any]:
    name, band, texp = _source_context(band_um, disperser, exposure_time_s)
    disp = _disperser(name)
    if max_offset_arcsec is None:
        margin = field_margin_arcsec(band)
        max_offset_arcsec = (FIELD_HALF_ARCSEC[0] - margin, FIELD_HALF_ARCSEC[1] - margin)
    mx, my = (max(0.0, float(v)) for v in max_offset_arcsec)
    offset = [mx * _signed(draw), my * _signed(draw)]
    spectral_index = 3.0 * _signed(draw)
    saturation = saturation_mjy(disp, band, texp, spectral_index=spectral_index)
    if flux_mjy is None:
        flux = _flux(draw, saturation)
    else:
        flux = float(draw(_as_strategy(flux_mjy, st.nothing())))
    source: dict[str, Any] = {"kind": kind, "offset": offset, "flux_mjy": float(flux),
                              "spectral_index": float(spectral_index)}
    if max_drift_mas > 0:
        per_axis = max_drift_mas / math.sqrt(2.0)
        source["drift_mas"] = [per_axis * _signed(draw), per_axis * _signed(draw)]
    if lines and max_lines > 0:
        resolving = 100.0 if disp.is_prism else disp.resolving_power
        # the line's peak (an upper bound on its pixel-averaged peak) stays below saturation
        max_amplitude = min(MAX_LINE_AMPLITUDE, saturation / max(flux, 1e-12) - 1.0)
        drawn = draw(_lines(band, resolving, max_amplitude, max_lines))
        if drawn:
            source["lines"] = drawn
    if kind == "extended":
        source["profile"] = draw(st.sampled_from(("gaussian", "sersic")))
        source["radius_arcsec"] = _log_between(0.3, 1.0 if _signed(draw) >= 0 else 0.05,
                                               abs(_signed(draw)))
        if source["profile"] == "sersic":
            source["sersic_index"] = _log_between(1.0, 6.0 if _signed(draw) >= 0 else 0.5,
                                                  abs(_signed(draw)))
        source["axis_ratio"] = 1.0 - 0.8 * abs(_signed(draw))
        source["position_angle_deg"] = 90.0 + 90.0 * _signed(draw) if draw(st.booleans()) \
            else 0.0
    return source


def point_sources(*, band_um: tuple[float, float] | None = None, disperser: str | None = None,
                  exposure_time_s: float | None = None,
                  max_offset_arcsec: tuple[float, float] | None = None,
                  flux_mjy: Any = None, lines: bool = True, max_lines: int = 2,
                  max_drift_mas: float = 25.0) -> SearchStrategy[dict[str, Any]]:
    """Point sources, as ``[[sources]]`` tables of a scenario.

    Parameters
    ----------
    band_um : (float, float), optional
        Simulated band (default: the disperser's range); lines fall inside it and the
        saturation limit is taken over it.
    disperser : str, optional
        ``"GRATING/FILTER"`` (default G395H/F290LP).
    exposure_time_s : float, optional
        Exposure time for the saturation limit (default 500 s).
    max_offset_arcsec : (float, float), optional
        Largest |offset| (across, along) from the IFU centre (default: the field of view less
        :func:`field_margin_arcsec`; :func:`scenarios` also subtracts the dithers and the
        pointing error).
    flux_mjy : float or strategy, optional
        Fixed continuum flux density, or its strategy (default: :data:`FAINT_FRACTION` to
        :func:`saturation_mjy`, shrinking to a quarter of the latter).
    lines : bool
        Draw emission/absorption lines (up to line-dominated spectra).
    max_lines : int
        At most this many lines.
    max_drift_mas : float
        Largest peak-to-peak centroid drift over the band (0: none; the known issue's typical
        drift is ~20 mas).

    Returns
    -------
    SearchStrategy of dict

    Examples
    --------
    >>> from hypothesis import find
    >>> simplest = find(point_sources(), lambda s: True)
    >>> simplest["kind"], simplest["offset"], simplest["drift_mas"]
    ('point', [0.0, 0.0], [0.0, 0.0])
    """
    return _source("point", band_um=band_um, disperser=disperser,
                   exposure_time_s=exposure_time_s, max_offset_arcsec=max_offset_arcsec,
                   flux_mjy=flux_mjy, lines=lines, max_lines=max_lines,
                   max_drift_mas=max_drift_mas)


def extended_sources(*, band_um: tuple[float, float] | None = None, disperser: str | None = None,
                     exposure_time_s: float | None = None,
                     max_offset_arcsec: tuple[float, float] | None = None,
                     flux_mjy: Any = None, lines: bool = True,
                     max_lines: int = 2) -> SearchStrategy[dict[str, Any]]:
    """Extended sources (Gaussian or Sérsic profile), as ``[[sources]]`` tables.

    Parameters are those of :func:`point_sources` (``flux_mjy`` is the total flux density);
    the profile's size (0.05-1" half-light radius or σ), Sérsic index (0.5-6), axis ratio
    (0.2-1) and position angle are drawn too, shrinking to a round 0.3" Gaussian.

    Returns
    -------
    SearchStrategy of dict

    Examples
    --------
    >>> from hypothesis import find
    >>> s = find(extended_sources(), lambda s: s["profile"] == "sersic")
    >>> s["kind"], s["sersic_index"], s["radius_arcsec"]
    ('extended', 1.0, 0.3)
    """
    return _source("extended", band_um=band_um, disperser=disperser,
                   exposure_time_s=exposure_time_s, max_offset_arcsec=max_offset_arcsec,
                   flux_mjy=flux_mjy, lines=lines, max_lines=max_lines, max_drift_mas=0.0)
