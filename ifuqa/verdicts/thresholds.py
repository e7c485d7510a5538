"""Check thresholds: defaults from KNOWN_ISSUES.md and how users override them.

Precedence (highest first) — one rule for every threshold:

1. the command line: ``--ifuqa-threshold ns_ifu05.wiggle_percent=0.5`` (repeatable);
2. the pytest ini key ``ifuqa_thresholds`` (``pytest.ini``, ``tox.ini``, ``setup.cfg`` or
   ``[tool.pytest.ini_options]``), one ``name = value`` per line;
3. the ``[tool.ifuqa.thresholds]`` table of the project's ``pyproject.toml``;
4. the defaults below.

Unknown names and non-numeric values are errors that name the source of the setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULTS", "Threshold", "ThresholdError", "Thresholds", "parse_assignments"]


@dataclass(frozen=True)
class Threshold:
    """A default threshold with its unit and where the number comes from."""

    value: float
    unit: str
    doc: str


DEFAULTS: dict[str, Threshold] = {
    "ns_ifu01.peak_depth_percent": Threshold(
        2.0, "%", "max depth of the PSF peak against the no-rejection reference cube"),
    "ns_ifu01.hole_depth_percent": Threshold(
        10.0, "%", "max central depression of the PSF in a cube without truth"),
    "ns_ifu01.core_flagged_percent": Threshold(
        1.0, "%", "max share of PSF-core pixels flagged as outliers"),
    "ns_ifu01.outlier_recall_percent": Threshold(
        90.0, "%", "min share of injected outlier (warm) pixels above 10 sigma flagged"),
    "ns_ifu02.flux_ratio_percent": Threshold(
        2.0, "%", "max |extracted/true - 1| in any wavelength bin"),
    "ns_ifu02.scale_spread_percent": Threshold(
        3.0, "%", "max spread of extracted/true flux across 0.05/0.1/0.2 arcsec spaxels "
                  "(the instrument's ~3 % calibration accuracy)"),
    "ns_ifu03.banding_ratio": Threshold(
        0.2, "", "max banding after cleaning / before (NSClean must remove >= 80 %)"),
    "ns_ifu03.undulation_percent": Threshold(
        5.0, "%", "max low-frequency (1-20 cycles/um) undulation of an extracted spectrum"),
    "ns_ifu03.negative_flux_percent": Threshold(
        5.0, "%", "max share of significantly negative samples in an x1d"),
    "ns_ifu04.offset_mas": Threshold(
        30.0, "mas", "max offset of the extraction centre from the source centroid "
                     "(~6x the 5 mas pointing after target acquisition)"),
    "ns_ifu04.flux_loss_percent": Threshold(
        2.0, "%", "max flux lost by the extraction aperture's position"),
    "ns_ifu04.cog_flux_percent": Threshold(
        3.0, "%", "max |x1d / cube total - 1|, the total from the cube's curve of growth within "
                  "3 FWHM (the instrument's ~3 % calibration accuracy)"),
    "ns_ifu05.wiggle_percent": Threshold(
        1.0, "%", "max wiggle amplitude in 5-50 cycles/um (Law et al. 2023: < 1 % with a "
                  "4-point dither and r >= 1.5 FWHM)"),
    "ns_ifu05.spaxel_wiggle_percent": Threshold(
        2.5, "%", "max wiggle of the brightest spaxel's spectrum relative to the aperture "
                  "spectrum (single spaxels always wiggle; measured 0.5-1.5 % with a 4-point "
                  "dither, 3.4 % without dither combination in ifuqa's scenes)"),
    "ns_ifu06.drift_mas": Threshold(
        30.0, "mas", "max centroid drift over the band (typical ~20 mas)"),
}


class ThresholdError(ValueError):
    """An invalid threshold setting."""


def parse_assignments(lines: Iterable[str], origin: str) -> dict[str, float]:
    """Parse ``name=value`` lines (comments ``#`` and blanks ignored)."""
    out: dict[str, float] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise ThresholdError(f"{origin}: expected 'name = value', got {raw!r}")
        name, value = (part.strip() for part in line.split("=", 1))
        out[name] = _number(name, value, origin)
    return out


def _number(name: str, value: object, origin: str) -> float:
    if name not in DEFAULTS:
        raise ThresholdError(f"{origin}: unknown threshold {name!r}; known: "
                             + ", ".join(sorted(DEFAULTS)))
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ThresholdError(f"{origin}: threshold {name!r} must be a number, "
                             f"got {value!r}") from None
    if number != number:
        raise ThresholdError(f"{origin}: threshold {name!r} is NaN")
    return number


def _pyproject(rootdir: Path | None) -> dict[str, float]:
    if rootdir is None:
        return {}
    path = Path(rootdir) / "pyproject.toml"
    if not path.is_file():
        return {}
    import tomllib

    data = tomllib.loads(path.read_text())
    table = data.get("tool", {}).get("ifuqa", {}).get("thresholds", {})
    if not isinstance(table, Mapping):
        raise ThresholdError(f"{path}: [tool.ifuqa.thresholds] must be a table")
    return {name: _number(name, value, f"{path} [tool.ifuqa.thresholds]")
            for name, value in table.items()}


class Thresholds:
    """Resolved thresholds with the source of each value."""

    def __init__(self, *, cli: Iterable[str] = (), ini: Iterable[str] = (),
                 rootdir: Path | None = None) -> None:
        self.values = {name: t.value for name, t in DEFAULTS.items()}
        self.sources = dict.fromkeys(DEFAULTS, "default")
        for origin, values in (("pyproject.toml [tool.ifuqa.thresholds]", _pyproject(rootdir)),
                               ("ini ifuqa_thresholds", parse_assignments(ini, "ini "
                                                                          "ifuqa_thresholds")),
                               ("--ifuqa-threshold", parse_assignments(cli,
                                                                       "--ifuqa-threshold"))):
            for name, value in values.items():
                self.values[name] = value
                self.sources[name] = origin

    def __getitem__(self, name: str) -> float:
        if name not in self.values:
            raise KeyError(f"unknown threshold {name!r}")
        return self.values[name]

    @classmethod
    def defaults(cls) -> Thresholds:
        """Every threshold at its default."""
        return cls()
