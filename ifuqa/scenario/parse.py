"""Parsing a scenario from TOML data: every key validated, an unknown key or an invalid value
raising :class:`ifuqa.scenario.schema.ScenarioError` that names the file and the key."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ifuqa.scenario.schema import (
    _DETECTORS,
    _PROFILES,
    _SOURCE_KINDS,
    DITHER_PATTERNS,
    READOUT_GROUP_TIME_S,
    ExpectedFailure,
    LineSpec,
    NoiseSpec,
    Scenario,
    ScenarioError,
    SourceSpec,
)

__all__ = ["parse_scenario"]


# --------------------------------------------------------------------------- validation helpers
class _Reader:
    """Pulls typed values out of a TOML table and reports bad keys with their full path."""

    def __init__(self, table: Mapping[str, Any], where: str, origin: str) -> None:
        if not isinstance(table, Mapping):
            raise ScenarioError(f"{origin}: {where or 'scenario'} must be a table")
        self.table = dict(table)
        self.where = where
        self.origin = origin
        self.used: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, reason: str) -> ScenarioError:
        return ScenarioError(f"{self.origin}: key '{self._key(key)}' {reason}")

    def get(self, key: str, default: Any = ..., *, required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required or default is ...:
                raise self.fail(key, "is required")
            return default
        return self.table[key]

    def number(self, key: str, default: Any = ..., *, minimum: float | None = None,
               maximum: float | None = None, exclusive_min: bool = False,
               required: bool = False) -> float:
        value = self.get(key, default, required=required)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise self.fail(key, f"must be finite, got {value!r}")
        if minimum is not None and (value < minimum or (exclusive_min and value == minimum)):
            op = ">" if exclusive_min else ">="
            raise self.fail(key, f"must be {op} {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"must be <= {maximum}, got {value}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """A true/false switch."""
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def scale(self, key: str, default: float) -> float:
        """A switch that may be a bool (true → 1, false → 0) or a non-negative scale."""
        value = self.get(key, default)
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        return self.number(key, default, minimum=0.0)

    def pair(self, key: str, default: Any = ...) -> tuple[float, float]:
        value = self.get(key, default)
        if (not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           and math.isfinite(v) for v in value)):
            raise self.fail(key, f"must be a pair of numbers [dx, dy], got {value!r}")
        return (float(value[0]), float(value[1]))

    def string(self, key: str, default: Any = ..., choices: Sequence[str] | None = None,
               upper: bool = False, required: bool = False) -> str:
        value = self.get(key, default, required=required)
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        if upper:
            value = value.upper()
        if choices is not None and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            raise self.fail(unknown[0], f"is not a known key (known here: {known})")


def _parse_line(raw: Any, where: str, origin: str) -> LineSpec:
    r = _Reader(raw, where, origin)
    line = LineSpec(
        wavelength_um=r.number("wavelength_um", required=True, minimum=0.0, exclusive_min=True),
        amplitude=r.number("amplitude", required=True, minimum=-1.0, exclusive_min=True),
        fwhm_kms=r.number("fwhm_kms", 100.0, minimum=0.0, exclusive_min=True),
    )
    r.finish()
    return line


def _parse_source(raw: Any, where: str, origin: str) -> SourceSpec:
    r = _Reader(raw, where, origin)
    kind = r.string("kind", required=True, choices=_SOURCE_KINDS)
    ref = r.get("reference_wavelength_um", None)
    lines_raw = r.get("lines", [])
    if not isinstance(lines_raw, list):
        raise r.fail("lines", "must be an array of tables")
    kwargs: dict[str, Any] = dict(
        kind=kind,
        offset=r.pair("offset", (0.0, 0.0)),
        flux_mjy=r.number("flux_mjy", required=True, minimum=0.0),
        spectral_index=r.number("spectral_index", 0.0, minimum=-10.0, maximum=10.0),
        reference_wavelength_um=None if ref is None else r.number(
            "reference_wavelength_um", minimum=0.0, exclusive_min=True),
        drift_mas=r.pair("drift_mas", (0.0, 0.0)),
        lines=tuple(_parse_line(x, f"{where}.lines[{i}]", origin)
                    for i, x in enumerate(lines_raw)),
    )
    if kind == "extended":
        kwargs.update(
            profile=r.string("profile", "gaussian", choices=_PROFILES),
            radius_arcsec=r.number("radius_arcsec", 0.3, minimum=0.01, maximum=1.0),
            sersic_index=r.number("sersic_index", 1.0, minimum=0.3, maximum=8.0),
            axis_ratio=r.number("axis_ratio", 1.0, minimum=0.05, maximum=1.0),
            position_angle_deg=r.number("position_angle_deg", 0.0),
        )
    r.finish()
    return SourceSpec(**kwargs)


def _parse_expected_failures(r: _Reader) -> tuple[ExpectedFailure, ...]:
    """``[[expected_failures]]``: ``check`` (a check's test function name) and ``reason``."""
    raw = r.get("expected_failures", [])
    if not isinstance(raw, list):
        raise r.fail("expected_failures", "must be an array of tables ([[expected_failures]])")
    out = []
    for i, item in enumerate(raw):
        er = _Reader(item, f"expected_failures[{i}]", r.origin)
        check = er.string("check", required=True)
        if not check.startswith("test_"):
            raise er.fail("check", f"must name a check's test function (test_...), got {check!r}")
        reason = er.string("reason", required=True)
        if not reason.strip():
            raise er.fail("reason", "must say why the check fails")
        er.finish()
        out.append(ExpectedFailure(check, reason))
    return tuple(out)


def _parse_extra_studies(r: _Reader) -> bool | None:
    """``extra_studies``: whether the scene gets the noiseless reference cube and the
    spaxel-scale study (true/false), or, when absent, what its kind of scene gets
    (:func:`ifuqa.builds.synthetic.catalogue_spec`)."""
    value = r.get("extra_studies", None)
    if value is not None and not isinstance(value, bool):
        raise r.fail("extra_studies", f"must be true or false, got {value!r}")
    return value


def _parse_dithers(r: _Reader) -> tuple[str, tuple[tuple[float, float], ...]]:
    raw = r.get("dithers", "none")
    if isinstance(raw, str):
        if raw not in DITHER_PATTERNS:
            raise r.fail("dithers", f"must be one of {', '.join(DITHER_PATTERNS)} or a list of "
                                    f"[dx, dy] offsets in arcsec; got {raw!r}")
        return raw, DITHER_PATTERNS[raw]
    if not isinstance(raw, list) or not raw:
        raise r.fail("dithers", f"must be a pattern name or a non-empty list of [dx, dy]; "
                                f"got {raw!r}")
    offsets = []
    for i, item in enumerate(raw):
        key = f"dithers[{i}]"
        offsets.append(_Reader({key: item}, "", r.origin).pair(key))
    return "custom", tuple(offsets)


def parse_scenario(data: Mapping[str, Any], *, name: str = "scenario",
                   origin: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a mapping (e.g. parsed TOML).

    Parameters
    ----------
    data : mapping
        The scenario's keys.
    name : str
        Default name when the mapping has no ``name`` key.
    origin : str
        File name (or other origin) quoted in error messages.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        On an unknown key or an invalid value; the message names the key.
    """
    from ifuqa.instrument.dispersers import get_disperser

    r = _Reader(data, "", origin)
    grating = r.string("grating", required=True, upper=True)
    filt = r.string("filter", required=True, upper=True)
    try:
        disperser = get_disperser(grating, filt)
    except ValueError as exc:
        raise r.fail("filter", f"does not make a valid combination with grating: {exc}") from None
    pattern, dithers = _parse_dithers(r)

    detectors = r.get("detectors", None)
    if detectors is not None:
        if (not isinstance(detectors, list) or not detectors
                or any(d not in _DETECTORS for d in detectors)):
            raise r.fail("detectors", f"must be a list drawn from {_DETECTORS}; got {detectors!r}")
        missing = [d for d in detectors if d not in disperser.detectors]
        if missing:
            raise r.fail("detectors", f"{missing} receive no light with {disperser.name} "
                                      f"(it illuminates {list(disperser.detectors)})")
        detectors = tuple(detectors)

    window = r.get("wavelength_range_um", None)
    if window is not None:
        window = r.pair("wavelength_range_um")
        lo, hi = disperser.wavelength_min_um, disperser.wavelength_max_um
        if not (lo <= window[0] < window[1] <= hi):
            raise r.fail("wavelength_range_um",
                         f"must be an increasing pair within {lo}–{hi} µm; got {list(window)}")
        lit = detectors if detectors is not None else tuple(disperser.detectors)
        on = {d: disperser.wavelength_range_on(d) for d in lit}
        if not any(max(window[0], d_lo) < min(window[1], d_hi) for d_lo, d_hi in on.values()):
            ranges = ", ".join(f"{d} {d_lo:.3f}–{d_hi:.3f} µm" for d, (d_lo, d_hi) in on.items())
            raise r.fail("wavelength_range_um",
                         f"{list(window)} µm falls on none of the simulated detectors "
                         f"({ranges}); widen it or change 'detectors'")

    noise_reader = _Reader(r.get("noise", {}), "noise", origin)
    noise = NoiseSpec(
        poisson=noise_reader.flag("poisson", True),
        read_noise=noise_reader.scale("read_noise", 1.0),
        one_over_f=noise_reader.scale("one_over_f", 1.0),
        cosmic_rays=noise_reader.scale("cosmic_rays", 1.0),
        warm_pixels=noise_reader.scale("warm_pixels", 1.0),
        background_mjy_sr=noise_reader.number("background_mjy_sr", 0.0, minimum=0.0),
        ramps=noise_reader.flag("ramps", False),
    )
    noise_reader.finish()

    sources_raw = r.get("sources", required=True)
    if not isinstance(sources_raw, list) or not sources_raw:
        raise r.fail("sources", "must be a non-empty array of tables ([[sources]])")
    sources = tuple(_parse_source(s, f"sources[{i}]", origin) for i, s in enumerate(sources_raw))
    for i, src in enumerate(sources):
        for j, line in enumerate(src.lines):
            if not (disperser.wavelength_min_um <= line.wavelength_um
                    <= disperser.wavelength_max_um):
                raise ScenarioError(
                    f"{origin}: key 'sources[{i}].lines[{j}].wavelength_um' = "
                    f"{line.wavelength_um} is outside {disperser.name} "
                    f"({disperser.wavelength_min_um}–{disperser.wavelength_max_um} µm)")

    seed = r.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise r.fail("seed", f"must be a non-negative integer, got {seed!r}")
    psf = r.string("psf", "model")
    if psf != "model" and origin not in ("<scenario>",) and not Path(psf).is_absolute():
        psf = str((Path(origin).parent / psf).resolve())

    scenario = Scenario(
        name=r.string("name", name),
        description=r.string("description", ""),
        grating=grating,
        filter=filt,
        dithers=dithers,
        dither_pattern=pattern,
        detectors=detectors,
        wavelength_range_um=window,
        exposure_time=r.number("exposure_time", required=True, minimum=0.0, exclusive_min=True),
        readout=r.string("readout", "NRSIRS2RAPID", choices=tuple(READOUT_GROUP_TIME_S),
                         upper=True),
        seed=seed,
        pointing_offset=r.pair("pointing_offset", (0.0, 0.0)),
        position_angle=r.number("position_angle", 0.0),
        target_ra=r.number("target_ra", 53.1625, minimum=0.0, maximum=360.0),
        target_dec=r.number("target_dec", -27.7914, minimum=-90.0, maximum=90.0),
        psf=psf,
        noise=noise,
        sources=sources,
        source_path=None if origin == "<scenario>" else origin,
        extra_studies=_parse_extra_studies(r),
        expected_failures=_parse_expected_failures(r),
    )
    r.finish()
    return scenario
