"""Hypothesis strategies that draw NIRSpec IFU scenes the instrument can observe.

Compose them in your own property tests::

    from hypothesis import given, settings
    from ifuqa.strategies import scenarios

    @settings(max_examples=20, deadline=None)
    @given(scenarios(grating="G395H", kind="point", band_planes=150))
    def test_my_reduction_keeps_the_flux(scenario):
        ...   # simulate it (ifuqa.builds.simulate_scenario), reduce it, compare with the truth

Every drawn value is a validated :class:`ifuqa.scenario.Scenario` (built by
:func:`ifuqa.scenario.parse_scenario`, so ``ifuqa simulate`` accepts it;
:func:`ifuqa.scenario.write.scenario_toml` writes it as a file). ``ifuqa explore`` searches the
same space for scenes on which the fixed pipeline still shows a known issue.

What is drawn, and its bounds
-----------------------------
* **Disperser**: every grating/filter pair of :data:`ifuqa.instrument.DISPERSERS` and PRISM/CLEAR.
* **Detectors**: for the H gratings NRS1, NRS2 or both (a narrow band lies on one of them); the
  M gratings and PRISM light NRS1 only.
* **Band**: the detector's whole range, or a window of ``band_um`` µm / ``band_planes`` cube
  planes placed anywhere in it (the window is what makes a scene cheap to simulate).
* **Readout**: each pattern (``NRSIRS2RAPID``, ``NRSIRS2``, ``NRSRAPID``, ``NRS``), with
  exposure times of about 100 s to 3000 s (whole groups).
* **Dithers**: the named patterns (none, 2-point nod, 4-point nod, 4-point dither) or a custom
  list of 2-4 offsets within ±0.4".
* **Pointing errors**: none, after target acquisition (±15 mas: 3 × its 5 mas 1σ) or blind
  (±0.2": 3 × its 67 mas 1σ), per axis.
* **Sources**: a point source or an extended (Gaussian or Sérsic) one, whose position in every
  exposure (offset + pointing error + dither offset) keeps :data:`EDGE_MARGIN_FWHM` PSF FWHM
  (at the band's red end) inside the 30 × 0.103" by 3" field of view; continuum flux density
  from :data:`FAINT_FRACTION` × :func:`saturation_mjy` to :func:`saturation_mjy` (the brightest
  pixel at 80 % of :data:`FULL_WELL_E` at the end of the exposure); spectral index −3…3; 0-2
  emission or absorption lines inside the band (line peaks kept below saturation too, and up
  to :data:`MAX_LINE_AMPLITUDE` × the continuum: line-dominated sources are drawn); a centroid
  drift up to ``max_drift_mas`` (peak to peak over the band).

How they shrink
---------------
A failing scene shrinks toward a simple one: G395H/F290LP, NRSIRS2RAPID with ~500 s, no
dither, no pointing error, a point source at the IFU centre, bright (a quarter of the
saturation limit), flat spectrum, no lines, no drift, position angle 0, the band at the centre
of its detector, seed 0. Each drawn quantity is a number whose simplest value (0, or the first
choice) is that simple scene.

Hypothesis shrinks the sequence of choices a scene was drawn from (shorter, then
lexicographically smaller; the disperser is the first choice), and what it returns is a local
minimum: no single choice can be simplified without losing the failure. A choice reaches its
simple value when simplifying it, the others fixed, keeps the scene failing. So the source's
flux density is drawn as a fraction of the scene's own saturation limit — in peak-pixel
electrons, the quantity signal-to-noise follows: a failure caused by faintness stays a failure
when the disperser, the exposure time, the band or the spectral index is simplified, and shrinks
to G395H, ~500 s and the rest of the simple scene. A condition on the absolute flux density (mJy)
instead couples the flux to
the disperser (G395H has the highest saturation limit, so it needs the larger flux choice): the
minimal scene is then faint but may keep another disperser. Likewise the offset is drawn as a
fraction of the room the field of view leaves, which depends on the PSF (the disperser).

Hypothesis is imported when this module is (the pytest plugin never imports it at load).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ifuqa.instrument.dispersers import (
    DISPERSERS,
    FIRST_USABLE_COLUMN,
    LAST_USABLE_COLUMN,
    Disperser,
)
from ifuqa.instrument.layout import (
    ALONG_SLICE_PIXEL_ARCSEC,
    N_SLICES,
    SLICE_LENGTH_ARCSEC,
    SLICE_WIDTH_ARCSEC,
)
from ifuqa.instrument.photometry import electrons_per_s_per_mjy
from ifuqa.instrument.psf.measured import measured_fwhm_arcsec
from ifuqa.scenario import DITHER_PATTERNS, READOUT_GROUP_TIME_S, Scenario, parse_scenario
from ifuqa.scenario.schema import _DETECTORS

__all__ = [
    "DISPERSER_ORDER",
    "EDGE_MARGIN_FWHM",
    "FAINT_FRACTION",
    "FIELD_HALF_ARCSEC",
    "FULL_WELL_E",
    "MAX_LINE_AMPLITUDE",
    "dither_patterns",
    "extended_sources",
    "field_margin_arcsec",
    "point_sources",
    "pointing_errors",
    "saturation_mjy",
    "scenarios",
    "simulated_band",
]

DISPERSER_ORDER: tuple[str, ...] = (
    "G395H/F290LP", "G235H/F170LP", "G140H/F100LP", "G140H/F070LP", "G395M/F290LP",
    "G235M/F170LP", "G140M/F100LP", "G140M/F070LP", "PRISM/CLEAR",
)
"""Every NIRSpec IFU grating/filter pair, the one a failing scene shrinks to first."""

FIELD_HALF_ARCSEC: tuple[float, float] = (N_SLICES * SLICE_WIDTH_ARCSEC / 2.0,
                                          SLICE_LENGTH_ARCSEC / 2.0)
"""Half size of the IFU field of view (across the slices, along them): 1.545", 1.5"."""

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


# ---------------------------------------------------------------------------- components
def pointing_errors(kind: str | None = None) -> SearchStrategy[tuple[float, float]]:
    """Pointing errors (IFU frame, arcsec) that the pipeline does not know about (NS-IFU04).

    Parameters
    ----------
    kind : {None, "none", "ta", "blind"}
        ``"none"``: (0, 0); ``"ta"``: after target acquisition, within ±15 mas per axis;
        ``"blind"``: blind pointing, within ±0.2" per axis; None: any of the three.

    Returns
    -------
    SearchStrategy of (float, float)
        Shrinks to (0, 0).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(pointing_errors("blind"), lambda p: abs(p[0]) > 0.1)[0] > 0.1
    True
    """
    zero = st.just((0.0, 0.0))

    def box(limit: float) -> SearchStrategy[tuple[float, float]]:
        axis = st.floats(-limit, limit, allow_nan=False, allow_infinity=False)
        return st.tuples(axis, axis)

    choices = {"none": zero, "ta": box(TA_POINTING_ARCSEC), "blind": box(BLIND_POINTING_ARCSEC)}
    if kind is None:
        return st.one_of(zero, choices["ta"], choices["blind"])
    if kind not in choices:
        raise ValueError(f"kind must be None, 'none', 'ta' or 'blind', not {kind!r}")
    return choices[kind]


def dither_patterns(*, min_positions: int = 1, max_positions: int = 4,
                    custom: bool = True) -> SearchStrategy[str | list[list[float]]]:
    """Dither patterns as the scenario key ``dithers`` takes them.

    Parameters
    ----------
    min_positions, max_positions : int
        Number of dither positions allowed (1-4; outlier detection needs at least 2, the
        NS-IFU05 mitigation 4).
    custom : bool
        Also draw custom patterns: 2-4 IFU-frame offsets within ±0.4" (sub-slice and sub-pixel
        phases).

    Returns
    -------
    SearchStrategy of str or list of [dx, dy]
        A pattern name of :data:`ifuqa.scenario.DITHER_PATTERNS` or a list of offsets; shrinks to
        the fewest positions (``"none"`` when allowed).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(dither_patterns(min_positions=4), lambda d: True)
    '4-point-nod'
    """
    if not 1 <= min_positions <= max_positions <= 4:
        raise ValueError("need 1 <= min_positions <= max_positions <= 4")
    named = [n for n in _NAMED_DITHERS if min_positions <= len(DITHER_PATTERNS[n]) <= max_positions]
    options: list[SearchStrategy] = []
    if named:
        options.append(st.sampled_from(named))
    lo = max(2, min_positions)
    if custom and lo <= max_positions:
        axis = st.floats(-0.4, 0.4, allow_nan=False, allow_infinity=False)
        offset = st.tuples(axis, axis).map(lambda xy: [float(xy[0]), float(xy[1])])
        options.append(st.lists(offset, min_size=lo, max_size=max_positions))
    if not options:
        raise ValueError(f"no dither pattern has {min_positions}-{max_positions} positions")
    return st.one_of(*options)


def _dither_offsets(value: str | Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    if isinstance(value, str):
        return list(DITHER_PATTERNS[value])
    return [(float(x), float(y)) for x, y in value]


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


# ---------------------------------------------------------------------------- scenarios
def _band_on(disp: Disperser, detectors: tuple[str, ...]) -> tuple[float, float]:
    """The wavelength range every slice of the chosen detectors sees: the usable columns less
    :data:`BAND_EDGE_COLUMNS` at each end (the slices' spectra are shifted by a few columns),
    within the disperser's range."""
    import numpy as np

    u0, u1 = disp.virtual_column_span
    los, his = [], []
    for det in detectors:
        cols = disp.virtual_column(det, np.array([FIRST_USABLE_COLUMN, LAST_USABLE_COLUMN],
                                                 dtype=float))
        a = max(float(cols[0]), u0) + BAND_EDGE_COLUMNS
        b = min(float(cols[1]), u1) - BAND_EDGE_COLUMNS
        lam = disp.wavelength_of_virtual_column(np.array([a, b]))
        los.append(float(lam[0]))
        his.append(float(lam[1]))
    return min(los), max(his)


def simulated_band(scenario: Scenario) -> tuple[float, float]:
    """The band a scenario simulates (µm): its ``wavelength_range_um``, else the range its
    detectors see.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> from ifuqa.scenario import load_scenario
    >>> simulated_band(load_scenario("bright_point_g395h"))
    (3.7, 4.0)
    >>> [round(v, 2) for v in simulated_band(load_scenario("prism_point"))]
    [0.6, 5.3]
    """
    if scenario.wavelength_range_um is not None:
        return (float(scenario.wavelength_range_um[0]), float(scenario.wavelength_range_um[1]))
    disp = DISPERSERS[f"{scenario.grating}/{scenario.filter}"]
    return _detector_range(disp, tuple(scenario.detectors or disp.detectors))


def _detector_range(disp: Disperser, detectors: tuple[str, ...]) -> tuple[float, float]:
    ranges = [disp.wavelength_range_on(d) for d in detectors]
    return (max(min(r[0] for r in ranges), disp.wavelength_min_um),
            min(max(r[1] for r in ranges), disp.wavelength_max_um))


def _digest(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]


@st.composite
def _scenarios(draw: Any, *, grating: Any, filter: Any, kind: Any, flux_mjy: Any,
               detectors: Any, dithers: Any, readout: Any, pointing_error: Any,
               exposure_time: Any, band_um: float | None, band_planes: int | None,
               lines: bool, max_lines: int, max_drift_mas: float, position_angle: Any,
               noise: Mapping[str, Any] | None, seed: Any, name: str | None) -> Scenario:
    # the disperser: fixed grating and/or filter narrow the choice
    names = list(DISPERSER_ORDER)
    if grating is not None and not isinstance(grating, SearchStrategy):
        names = [n for n in names if n.split("/")[0] == str(grating).upper()]
    if filter is not None and not isinstance(filter, SearchStrategy):
        names = [n for n in names if n.split("/")[1] == str(filter).upper()]
    if not names:
        raise ValueError(f"no NIRSpec IFU disperser has grating {grating!r} and filter "
                         f"{filter!r}")
    if isinstance(grating, SearchStrategy):
        g = str(draw(grating)).upper()
        names = [n for n in names if n.startswith(g + "/")] or names
    disp = _disperser(draw(st.sampled_from(names)))

    # detectors: a narrow band lies on one detector; a full band may use both
    lit = tuple(disp.detectors)
    narrow = band_um is not None or band_planes is not None
    if detectors is None:
        # always one choice (whatever the disperser), so that a scene of a one-detector
        # disperser is not "simpler" to the shrinker merely for drawing less
        pick = draw(st.integers(0, 2))
        if len(lit) == 1:
            dets: tuple[str, ...] = lit
        elif narrow:
            dets = (lit[pick % 2],)
        else:
            dets = (lit, (lit[0],), (lit[1],))[pick]
    else:
        chosen = draw(_as_strategy(detectors, st.nothing()))
        dets = (chosen,) if isinstance(chosen, str) else tuple(chosen)
        bad = [d for d in dets if d not in _DETECTORS or d not in lit]
        if bad:
            raise ValueError(f"{disp.name} illuminates {list(lit)}, not {bad}")

    # the band: the detectors' range, or a window placed anywhere in it (shrinks to its centre)
    lo, hi = _band_on(disp, dets)
    window: tuple[float, float] | None = None
    if narrow:
        width = float(band_um) if band_um is not None else float(band_planes) * disp.cube_step_um
        width = min(width, hi - lo)
        centre = 0.5 * (lo + hi) + 0.5 * (hi - lo - width) * _signed(draw)
        a = max(lo, centre - 0.5 * width)
        b = min(hi, a + width)
        window = (float(a), float(b))
    band = window or _detector_range(disp, dets)

    # readout and exposure time (whole groups; shrinks to ~500 s)
    patt = draw(_as_strategy(readout, st.sampled_from(READOUT_ORDER)))
    tg = READOUT_GROUP_TIME_S[patt]
    if exposure_time is None:
        n_min = max(2, math.ceil(EXPOSURE_RANGE_S[0] / tg) + 1)
        n_max = max(n_min, math.floor(EXPOSURE_RANGE_S[1] / tg) + 1)
        n_ref = min(max(round(REFERENCE_EXPOSURE_S / tg) + 1, n_min), n_max)
        ngroups = n_ref + draw(st.integers(n_min - n_ref, n_max - n_ref))
        texp = float((ngroups - 1) * tg)
    else:
        texp = float(draw(_as_strategy(exposure_time, st.nothing())))

    pattern = draw(_as_strategy(dithers, dither_patterns()))
    offsets = _dither_offsets(pattern)
    pointing = tuple(float(v) for v in draw(_as_strategy(pointing_error, pointing_errors())))

    # the source stays inside the field in every exposure
    margin = field_margin_arcsec(band)
    room = tuple(FIELD_HALF_ARCSEC[i] - margin - max(abs(o[i]) for o in offsets)
                 - abs(pointing[i]) for i in range(2))
    source_kind = draw(_as_strategy(kind, st.sampled_from(("point", "extended"))))
    if source_kind not in ("point", "extended"):
        raise ValueError(f"kind must be 'point' or 'extended', not {source_kind!r}")
    common = dict(band_um=band, disperser=disp.name, exposure_time_s=texp,
                  max_offset_arcsec=(max(room[0], 0.0), max(room[1], 0.0)), flux_mjy=flux_mjy,
                  lines=lines, max_lines=max_lines)
    source = draw(point_sources(**common, max_drift_mas=max_drift_mas) if source_kind == "point"
                  else extended_sources(**common))

    pa = draw(_as_strategy(position_angle,
                           st.floats(0.0, 360.0, exclude_max=True, allow_nan=False)))
    data: dict[str, Any] = {
        "grating": disp.grating, "filter": disp.filter,
        "dithers": pattern, "exposure_time": texp, "readout": patt,
        "seed": int(draw(_as_strategy(seed, st.integers(0, 2**31 - 1)))),
        "pointing_offset": [pointing[0], pointing[1]], "position_angle": float(pa),
        "sources": [source],
    }
    if len(lit) > 1:
        data["detectors"] = list(dets)
    if window is not None:
        data["wavelength_range_um"] = [window[0], window[1]]
    if noise:
        data["noise"] = dict(noise)
    data["name"] = name or (f"drawn_{disp.grating.lower()}_{source_kind}_{_digest(data)}")
    return parse_scenario(data, name=data["name"])


def scenarios(*, grating: Any = None, filter: Any = None, kind: Any = None,
              flux_mjy: Any = None, detectors: Any = None, dithers: Any = None,
              readout: Any = None, pointing_error: Any = None, exposure_time: Any = None,
              band_um: float | None = None, band_planes: int | None = None,
              lines: bool = True, max_lines: int = 2, max_drift_mas: float = 25.0,
              position_angle: Any = None, noise: Mapping[str, Any] | None = None,
              seed: Any = None, name: str | None = None) -> SearchStrategy[Scenario]:
    """Scenarios of one source that NIRSpec's IFU can observe (see the module docstring for
    every bound and how a scene shrinks).

    Each argument left at None is drawn; a value fixes it; a Hypothesis strategy draws it.

    Parameters
    ----------
    grating, filter : str, optional
        Fix the grating and/or the filter (``grating="G395H"``; ``grating="PRISM"``).
    kind : {"point", "extended"} or strategy, optional
        The source kind.
    flux_mjy : float or strategy, optional
        Continuum flux density (mJy) at the band centre.
    detectors : str, list of str or strategy, optional
        ``"NRS2"``, ``["NRS1", "NRS2"]`` (only detectors the disperser lights).
    dithers : str, list or strategy, optional
        A pattern name or offsets (default :func:`dither_patterns`).
    readout : str or strategy, optional
        READPATT.
    pointing_error : (float, float) or strategy, optional
        Default :func:`pointing_errors`.
    exposure_time : float or strategy, optional
        Seconds (default: whole groups, 100-3000 s).
    band_um, band_planes : float or int, optional
        Simulate a window of this width (µm, or cube wavelength planes of the disperser's
        default step) placed anywhere on the detector's range, instead of the whole range.
    lines : bool
        Draw emission/absorption lines.
    max_lines : int
        At most this many lines per source.
    max_drift_mas : float
        Largest injected centroid drift (peak to peak over the band) of a point source.
    position_angle : float or strategy, optional
        Degrees (default 0-360, shrinking to 0).
    noise : mapping, optional
        Fixed ``[noise]`` keys (e.g. ``{"one_over_f": 0.5}``); the rest keep their defaults.
    seed : int or strategy, optional
        The scenario seed (default 0 to 2³¹ − 1).
    name : str, optional
        Scenario name (default ``drawn_<grating>_<kind>_<digest of the scene>``).

    Returns
    -------
    SearchStrategy of Scenario

    Raises
    ------
    ValueError
        When the fixed values contradict each other (a grating without that filter, a
        detector the disperser does not light).

    Examples
    --------
    >>> from hypothesis import find
    >>> simple = find(scenarios(band_planes=150), lambda s: True)
    >>> simple.grating, simple.readout, simple.dither_pattern, simple.pointing_offset
    ('G395H', 'NRSIRS2RAPID', 'none', (0.0, 0.0))
    >>> simple.sources[0].offset, simple.sources[0].drift_mas
    ((0.0, 0.0), (0.0, 0.0))
    >>> prism = find(scenarios(grating="PRISM", kind="extended"), lambda s: True)
    >>> prism.filter, prism.sources[0].kind, prism.wavelength_range_um
    ('CLEAR', 'extended', None)
    """
    if band_um is not None and band_planes is not None:
        raise ValueError("give band_um or band_planes, not both")
    if band_um is not None and not band_um > 0:
        raise ValueError(f"band_um must be positive, got {band_um!r}")
    if band_planes is not None and not int(band_planes) >= 8:
        raise ValueError(f"band_planes must be at least 8, got {band_planes!r}")
    return _scenarios(grating=grating, filter=filter, kind=kind, flux_mjy=flux_mjy,
                      detectors=detectors, dithers=dithers, readout=readout,
                      pointing_error=pointing_error, exposure_time=exposure_time,
                      band_um=band_um, band_planes=band_planes, lines=lines,
                      max_lines=max_lines, max_drift_mas=max_drift_mas,
                      position_angle=position_angle, noise=noise, seed=seed, name=name)
