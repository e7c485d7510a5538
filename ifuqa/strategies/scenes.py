"""Whole scenarios: disperser, detectors, band, readout, dithers and sources, validated by
:func:`ifuqa.scenario.parse_scenario`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ifuqa.instrument.dispersers import (
    DISPERSERS,
    FIRST_USABLE_COLUMN,
    LAST_USABLE_COLUMN,
    Disperser,
)
from ifuqa.scenario import READOUT_GROUP_TIME_S, Scenario, parse_scenario
from ifuqa.scenario.schema import _DETECTORS
from ifuqa.strategies.bounds import (
    BAND_EDGE_COLUMNS,
    DISPERSER_ORDER,
    EXPOSURE_RANGE_S,
    FIELD_HALF_ARCSEC,
    READOUT_ORDER,
    REFERENCE_EXPOSURE_S,
    _as_strategy,
    _disperser,
    _signed,
    field_margin_arcsec,
)
from ifuqa.strategies.pointing import _dither_offsets, dither_patterns, pointing_errors
from ifuqa.strategies.sources import extended_sources, point_sources


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
