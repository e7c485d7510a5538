"""Scenario files: a TOML description of a synthetic NIRSpec IFU observation.

A scenario names the disperser, the dithers, the exposure, the noise and the sources. Every key is
validated; an unknown key or an invalid value raises :class:`ScenarioError` naming the key (and the
file). The format is documented in the README ("Scenario format").

Catalogue scenarios live in the project's ``synthetic/`` folder (installed with the package as
``ifuqa/_catalogue``) and are referred to by their file stem.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "DITHER_PATTERNS",
    "READOUT_GROUP_TIME_S",
    "LineSpec",
    "NoiseSpec",
    "Scenario",
    "ScenarioError",
    "SourceSpec",
    "catalogue_dir",
    "catalogue_names",
    "load_scenario",
    "parse_scenario",
]

DITHER_PATTERNS: dict[str, tuple[tuple[float, float], ...]] = {
    # IFU-frame offsets [across, along] in arcsec (approximations of the APT patterns). Each
    # pattern mixes half-slice and half-pixel phases, which is what matters for sampling; the
    # 4-point dither spans 6.5 slices x 6.5 pixels so that the PSF cores of the four positions
    # land on different detector pixels, as in the real pattern's ~0.7" extent.
    "none": ((0.0, 0.0),),
    "2-point-nod": ((-0.026, -0.76), (0.026, 0.76)),
    "4-point-nod": ((-0.026, -0.76), (0.026, 0.76), (0.026, -0.71), (-0.026, 0.81)),
    "4-point-dither": ((-0.309, -0.315), (0.3605, 0.3675), (-0.309, 0.3675), (0.3605, -0.315)),
}
"""Named dither patterns: IFU-frame offsets (across, along) in arcsec."""

READOUT_GROUP_TIME_S: dict[str, float] = {
    "NRSIRS2RAPID": 14.5894,
    "NRSIRS2": 72.947,
    "NRSRAPID": 10.737,
    "NRS": 42.947,
}
"""Group time (s) of each full-frame NIRSpec readout pattern."""

_SOURCE_KINDS = ("point", "extended")
_PROFILES = ("gaussian", "sersic")
_DETECTORS = ("NRS1", "NRS2")


class ScenarioError(ValueError):
    """A scenario is invalid; the message names the file, the key and the reason."""


@dataclass(frozen=True)
class LineSpec:
    """A Gaussian emission (amplitude > 0) or absorption (amplitude < 0) line.

    Attributes
    ----------
    wavelength_um : float
        Centre (µm).
    amplitude : float
        Peak height relative to the continuum (−1 < amplitude).
    fwhm_kms : float
        Intrinsic FWHM (km/s).
    """

    wavelength_um: float
    amplitude: float
    fwhm_kms: float = 100.0


@dataclass(frozen=True)
class SourceSpec:
    """One source of the scene (see the README for the meaning of each key)."""

    kind: str
    offset: tuple[float, float] = (0.0, 0.0)
    flux_mjy: float = 1.0
    spectral_index: float = 0.0
    reference_wavelength_um: float | None = None
    drift_mas: tuple[float, float] = (0.0, 0.0)
    lines: tuple[LineSpec, ...] = ()
    profile: str = "gaussian"
    radius_arcsec: float = 0.3
    sersic_index: float = 1.0
    axis_ratio: float = 1.0
    position_angle_deg: float = 0.0


@dataclass(frozen=True)
class NoiseSpec:
    """Switches and scales of the noise and artefacts (0 or false turns a term off)."""

    poisson: bool = True
    read_noise: float = 1.0
    one_over_f: float = 1.0
    cosmic_rays: float = 1.0
    warm_pixels: float = 1.0
    background_mjy_sr: float = 0.0
    ramps: bool = False


@dataclass(frozen=True)
class Scenario:
    """A synthetic observation. Build with :func:`load_scenario` or :func:`parse_scenario`."""

    name: str
    grating: str
    filter: str
    dithers: tuple[tuple[float, float], ...]
    exposure_time: float
    readout: str
    seed: int
    sources: tuple[SourceSpec, ...]
    description: str = ""
    dither_pattern: str = "custom"
    detectors: tuple[str, ...] | None = None
    wavelength_range_um: tuple[float, float] | None = None
    pointing_offset: tuple[float, float] = (0.0, 0.0)
    position_angle: float = 0.0
    target_ra: float = 53.1625
    target_dec: float = -27.7914
    psf: str = "model"
    noise: NoiseSpec = field(default_factory=NoiseSpec)
    source_path: str | None = None

    @property
    def group_time_s(self) -> float:
        """Group time of the readout pattern (s)."""
        return READOUT_GROUP_TIME_S[self.readout]

    @property
    def ngroups(self) -> int:
        """Groups per integration that give (about) the requested exposure time."""
        return max(2, round(self.exposure_time / self.group_time_s) + 1)

    @property
    def effective_exposure_time(self) -> float:
        """Slope-fit exposure time (s): (ngroups − 1) × group time."""
        return (self.ngroups - 1) * self.group_time_s

    def with_seed(self, seed: int) -> Scenario:
        """A copy with another seed."""
        return replace(self, seed=int(seed))

    def noiseless(self) -> Scenario:
        """A copy with every noise term and artefact switched off."""
        return replace(self, noise=NoiseSpec(poisson=False, read_noise=0.0, one_over_f=0.0,
                                             cosmic_rays=0.0, warm_pixels=0.0,
                                             background_mjy_sr=self.noise.background_mjy_sr))


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
    )
    r.finish()
    return scenario


def catalogue_dir() -> Path:
    """Folder of the embedded scenario catalogue (``synthetic/`` or the installed copy)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "synthetic", here / "_catalogue"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the ifuqa scenario catalogue (synthetic/) is not installed")


def catalogue_names() -> list[str]:
    """Names (file stems) of the catalogue scenarios, sorted."""
    return sorted(p.stem for p in catalogue_dir().glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario from a catalogue name or a TOML file path.

    Parameters
    ----------
    name_or_path : str or path
        A name from :func:`catalogue_names` or the path of a ``.toml`` file.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If the file does not exist, is not valid TOML, or fails validation.
    """
    path = Path(name_or_path)
    if not path.suffix == ".toml" or not path.exists():
        candidate = catalogue_dir() / f"{path.stem if path.suffix == '.toml' else path}.toml"
        if candidate.exists() and not path.exists():
            path = candidate
    if not path.exists():
        names = ", ".join(catalogue_names())
        raise ScenarioError(f"{name_or_path}: no such scenario file or catalogue name "
                            f"(catalogue: {names})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return parse_scenario(data, name=path.stem, origin=str(path))
