"""Check thresholds: defaults from KNOWN_ISSUES.md and how users override them.

Each threshold is named after the metric it judges, ``<issue>.<metric>`` as the checks record it
(``ns_ifu05.wiggle_amplitude``: the same name as the metric's regression tolerance). The older
names (``ns_ifu05.wiggle_percent``, …, :data:`ALIASES`) keep working everywhere.

Precedence (highest first; the layered reader of :mod:`ifuqa.verdicts.settings`):

1. the command line: ``--ifuqa-threshold ns_ifu05.wiggle_amplitude=0.5`` (repeatable);
2. the pytest ini key ``ifuqa_thresholds`` (``pytest.ini``, ``tox.ini``, ``setup.cfg`` or
   ``[tool.pytest.ini_options]``), one ``name = value`` per line;
3. the ``[tool.ifuqa.thresholds]`` table of the project's ``pyproject.toml``;
4. the defaults below.

Unknown names, non-numeric or NaN values, and an old name given with its new name at the same
level are errors that name the source of the setting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ifuqa.verdicts.settings import LayeredSettings, SettingKind

__all__ = ["ALIASES", "DEFAULTS", "Threshold", "ThresholdError", "Thresholds",
           "parse_assignments"]


@dataclass(frozen=True)
class Threshold:
    """A default threshold with its unit and where the number comes from."""

    value: float
    unit: str
    doc: str


_RECALL = ("min share of injected {what} above 10 sigma flagged (the old "
           "ns_ifu01.outlier_recall_percent sets every recall)")

DEFAULTS: dict[str, Threshold] = {
    "ns_ifu01.psf_peak_depth": Threshold(
        2.0, "%", "max depth of the PSF peak against the no-rejection reference cube"),
    "ns_ifu01.psf_peak_hole_depth": Threshold(
        10.0, "%", "max central depression of the PSF in a cube without truth"),
    "ns_ifu01.psf_core_flagged": Threshold(
        1.0, "%", "max share of PSF-core pixels flagged as outliers"),
    "ns_ifu01.warm_pixel_recall": Threshold(90.0, "%", _RECALL.format(what="warm pixels")),
    "ns_ifu01.cosmic_ray_recall": Threshold(
        90.0, "%", _RECALL.format(what="cosmic rays (jump or outlier detection)")),
    "ns_ifu01.residual_cosmic_ray_recall": Threshold(
        90.0, "%", _RECALL.format(what="residual cosmic rays (outlier detection)")),
    "ns_ifu02.flux_ratio_deviation": Threshold(
        2.0, "%", "max |extracted/true - 1| in any wavelength bin"),
    "ns_ifu02.flux_vs_spaxel_scale": Threshold(
        3.0, "%", "max spread of extracted/true flux across 0.05/0.1/0.2 arcsec spaxels "
                  "(the instrument's ~3 % calibration accuracy)"),
    "ns_ifu03.banding_residual_ratio": Threshold(
        0.2, "", "max banding after cleaning / before (NSClean must remove >= 80 %)"),
    "ns_ifu03.undulation_amplitude": Threshold(
        5.0, "%", "max low-frequency (1-20 cycles/um) undulation of an extracted spectrum"),
    "ns_ifu03.negative_flux_fraction": Threshold(
        5.0, "%", "max share of significantly negative samples in an x1d"),
    "ns_ifu04.extraction_offset": Threshold(
        30.0, "mas", "max offset of the extraction centre from the source centroid "
                     "(~6x the 5 mas pointing after target acquisition)"),
    "ns_ifu04.extraction_flux_loss": Threshold(
        2.0, "%", "max flux lost by the extraction aperture's position"),
    "ns_ifu04.x1d_vs_curve_of_growth": Threshold(
        3.0, "%", "max |x1d / cube total - 1|, the total from the cube's aperture-corrected "
                  "curve of growth (the instrument's ~3 % calibration accuracy)"),
    "ns_ifu05.wiggle_amplitude": Threshold(
        1.0, "%", "max wiggle amplitude in 5-50 cycles/um (Law et al. 2023: < 1 % with a "
                  "4-point dither and r >= 1.5 FWHM)"),
    "ns_ifu05.spaxel_wiggle_amplitude": Threshold(
        2.5, "%", "max wiggle of the brightest spaxel's spectrum relative to the aperture "
                  "spectrum (single spaxels always wiggle; measured 0.5-1.5 % with a 4-point "
                  "dither, 3.4 % without dither combination in ifuqa's scenes)"),
    "ns_ifu06.centroid_drift": Threshold(
        30.0, "mas", "max centroid drift over the band (typical ~20 mas)"),
}
"""Every threshold by its canonical name ``<issue>.<metric>``."""

ALIASES: dict[str, tuple[str, ...]] = {
    "ns_ifu01.peak_depth_percent": ("ns_ifu01.psf_peak_depth",),
    "ns_ifu01.hole_depth_percent": ("ns_ifu01.psf_peak_hole_depth",),
    "ns_ifu01.core_flagged_percent": ("ns_ifu01.psf_core_flagged",),
    "ns_ifu01.outlier_recall_percent": ("ns_ifu01.warm_pixel_recall",
                                        "ns_ifu01.cosmic_ray_recall",
                                        "ns_ifu01.residual_cosmic_ray_recall"),
    "ns_ifu02.flux_ratio_percent": ("ns_ifu02.flux_ratio_deviation",),
    "ns_ifu02.scale_spread_percent": ("ns_ifu02.flux_vs_spaxel_scale",),
    "ns_ifu03.banding_ratio": ("ns_ifu03.banding_residual_ratio",),
    "ns_ifu03.undulation_percent": ("ns_ifu03.undulation_amplitude",),
    "ns_ifu03.negative_flux_percent": ("ns_ifu03.negative_flux_fraction",),
    "ns_ifu04.offset_mas": ("ns_ifu04.extraction_offset",),
    "ns_ifu04.flux_loss_percent": ("ns_ifu04.extraction_flux_loss",),
    "ns_ifu04.cog_flux_percent": ("ns_ifu04.x1d_vs_curve_of_growth",),
    "ns_ifu05.wiggle_percent": ("ns_ifu05.wiggle_amplitude",),
    "ns_ifu05.spaxel_wiggle_percent": ("ns_ifu05.spaxel_wiggle_amplitude",),
    "ns_ifu06.drift_mas": ("ns_ifu06.centroid_drift",),
}
"""Old threshold names (before they were aligned with the metric names) → the canonical names
they set. ``ns_ifu01.outlier_recall_percent`` was shared by the three recalls and sets all
three."""


class ThresholdError(ValueError):
    """An invalid threshold setting."""


def _number(name: str, canonical: str, value: object, origin: str) -> float:
    del canonical
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ThresholdError(f"{origin}: threshold {name!r} must be a number, "
                             f"got {value!r}") from None
    if math.isnan(number):
        raise ThresholdError(f"{origin}: threshold {name!r} is NaN")
    return number


KIND: SettingKind[float] = SettingKind(
    noun="threshold", table="thresholds", option="--ifuqa-threshold", ini="ifuqa_thresholds",
    names=tuple(DEFAULTS), parse=_number, error=ThresholdError, aliases=ALIASES)
"""How thresholds are read (:class:`ifuqa.verdicts.settings.SettingKind`)."""


def parse_assignments(lines: Iterable[str], origin: str) -> dict[str, float]:
    """Parse ``name = value`` lines (comments ``#`` and blanks ignored).

    Parameters
    ----------
    lines : iterable of str
        The settings.
    origin : str
        Where they come from (for error messages).

    Returns
    -------
    dict of str to float
        Canonical name → value (an old name gives the canonical names it stands for).
    """
    return KIND.lines(lines, origin)


class Thresholds(LayeredSettings[float]):
    """Resolved thresholds with the source of each value.

    Parameters
    ----------
    cli : iterable of str
        ``name=value`` settings from the command line (highest precedence).
    ini : iterable of str
        ``name = value`` lines of the ini key ``ifuqa_thresholds``.
    rootdir : path, optional
        Folder whose ``pyproject.toml`` may hold ``[tool.ifuqa.thresholds]``.

    Examples
    --------
    >>> th = Thresholds(cli=["ns_ifu05.wiggle_percent=0.5"])
    >>> th["ns_ifu05.wiggle_amplitude"], th.sources["ns_ifu05.wiggle_amplitude"]
    (0.5, '--ifuqa-threshold')
    """

    def __init__(self, *, cli: Iterable[str] = (), ini: Iterable[str] = (),
                 rootdir: Path | None = None) -> None:
        super().__init__(KIND, {name: t.value for name, t in DEFAULTS.items()}, cli=cli,
                         ini=ini, rootdir=rootdir)

    @classmethod
    def defaults(cls) -> Thresholds:
        """Every threshold at its default."""
        return cls()
