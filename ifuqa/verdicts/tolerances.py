"""Regression tolerances: how much a metric may get worse against a baseline before the gate
(``--ifuqa-baseline``) fails it.

A tolerance has an absolute part (in the metric's unit) and a relative part (a fraction of the
baseline value); the change allowed is the larger of the two,
``allowed = max(abs, rel × |baseline|)``. A metric *regresses* when it moves in its worse
direction (up for an upper-limit metric, down for a lower-limit one such as a recall) by more than
``allowed``; it *improves* when it moves the other way by more than ``allowed``.

Names are ``<issue>.<metric>`` as the checks record them (``ns_ifu05.wiggle_amplitude``), plus
``default`` for metrics without an entry of their own (e.g. a user's own checks).

Precedence (highest first), as for thresholds (the layered reader of
:mod:`ifuqa.verdicts.settings`):

1. the command line: ``--ifuqa-tolerance=ns_ifu05.wiggle_amplitude=abs:0.1,rel:0.2``
   (repeatable);
2. the pytest ini key ``ifuqa_tolerances``, one ``name = spec`` per line;
3. the ``[tool.ifuqa.tolerances]`` table of the project's ``pyproject.toml``, whose values are a
   spec string, a number (absolute) or a table ``{abs = 0.1, rel = 0.2}``;
4. :data:`DEFAULTS`.

A spec is ``abs:A``, ``rel:R`` or both (``abs:A,rel:R``); a bare number is absolute; ``R`` is a
fraction (``0.05``) or a percentage (``5%``). A setting replaces the whole default tolerance:
a part it does not give is zero. Unknown names, negative, NaN or infinite values are errors that
name the source of the setting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ifuqa.verdicts.settings import LayeredSettings, SettingKind, setting_name

__all__ = ["DEFAULTS", "Tolerance", "ToleranceError", "Tolerances", "parse_assignments",
           "parse_tolerance", "tolerance_name"]

FALLBACK = "default"
"""Name of the tolerance used for metrics without an entry of their own."""


@dataclass(frozen=True)
class Tolerance:
    """Allowed change of a metric against its baseline.

    Attributes
    ----------
    absolute : float
        Allowed change in the metric's unit.
    relative : float
        Allowed change as a fraction of the baseline value.
    unit : str
        Unit of ``absolute`` (the metric's unit).
    doc : str
        Why this tolerance.
    """

    absolute: float = 0.0
    relative: float = 0.0
    unit: str = ""
    doc: str = ""

    def allowed(self, baseline: float) -> float:
        """The change allowed for a metric whose baseline value is ``baseline``.

        Parameters
        ----------
        baseline : float
            Baseline value of the metric.

        Returns
        -------
        float
            ``max(absolute, relative * |baseline|)``.

        Examples
        --------
        >>> Tolerance(0.05, 0.1, "%").allowed(2.0)
        0.2
        """
        return max(self.absolute, self.relative * abs(baseline))

    def describe(self, unit: str | None = None) -> str:
        """``"±0.05 % or 10 % of the baseline"`` (the larger applies).

        Parameters
        ----------
        unit : str, optional
            Unit to print with the absolute part (default: :attr:`unit`).
        """
        unit = self.unit if unit is None else unit
        parts = []
        if self.absolute or not self.relative:
            parts.append(f"±{self.absolute:g}" + (f" {unit}" if unit else ""))
        if self.relative:
            parts.append(f"{self.relative * 100:g} % of the baseline")
        return " or ".join(parts) + (" (the larger)" if len(parts) == 2 else "")

    def spec(self) -> str:
        """The setting that reproduces this tolerance (``abs:0.05,rel:0.1``)."""
        return f"abs:{self.absolute:g},rel:{self.relative:g}"


DEFAULTS: dict[str, Tolerance] = {
    # NS-IFU01 — outlier holes
    "ns_ifu01.psf_peak_depth": Tolerance(
        0.2, 0.05, "%", "a tenth of the 2 % threshold: peak depths of a bright source repeat to "
                        "~0.1 % for the same scene"),
    "ns_ifu01.psf_peak_hole_depth": Tolerance(
        0.5, 0.05, "%", "a twentieth of the 10 % threshold"),
    "ns_ifu01.psf_core_flagged": Tolerance(
        0.1, 0.10, "%", "a tenth of the 1 % threshold (a few core pixels)"),
    "ns_ifu01.warm_pixel_recall": Tolerance(
        1.0, 0.0, "%", "one percentage point of recall (a few of the ~hundred injected pixels)"),
    "ns_ifu01.cosmic_ray_recall": Tolerance(
        1.0, 0.0, "%", "one percentage point of recall"),
    "ns_ifu01.residual_cosmic_ray_recall": Tolerance(
        1.0, 0.0, "%", "one percentage point of recall (not a shipped check: recorded only by "
                       "the project's tests)"),
    # NS-IFU02 — flux conservation
    "ns_ifu02.flux_ratio_deviation": Tolerance(
        0.1, 0.05, "%", "a fraction of a percent of flux: well below the 2 % threshold and the "
                        "~3 % absolute calibration"),
    "ns_ifu02.flux_vs_spaxel_scale": Tolerance(
        0.1, 0.05, "%", "a fraction of a percent of flux between spaxel scales"),
    # NS-IFU03 — 1/f noise
    "ns_ifu03.banding_residual_ratio": Tolerance(
        0.025, 0.05, "", "a twentieth of the 0.5 threshold on residual/initial banding"),
    "ns_ifu03.banding_amplitude": Tolerance(
        0.0, 0.05, "", "5 % of the banding level (its unit depends on the image)"),
    "ns_ifu03.undulation_amplitude": Tolerance(
        0.2, 0.05, "%", "a twenty-fifth of the 5 % threshold"),
    "ns_ifu03.off_source_undulation": Tolerance(
        0.05, 0.05, "%", "a twentieth of the 1 % threshold"),
    "ns_ifu03.negative_flux_fraction": Tolerance(
        0.5, 0.10, "%", "a tenth of the 5 % threshold"),
    # NS-IFU04 — extraction centring
    "ns_ifu04.extraction_offset": Tolerance(
        2.0, 0.0, "mas", "a few mas: the centroid precision of a bright source in 100 mas "
                         "spaxels, well below the 30 mas threshold"),
    "ns_ifu04.extraction_flux_loss": Tolerance(
        0.1, 0.05, "%", "a fraction of a percent of flux"),
    "ns_ifu04.x1d_vs_curve_of_growth": Tolerance(
        0.1, 0.05, "%", "a fraction of a percent of flux (threshold 3 %)"),
    "ns_ifu04.centroid_vs_truth": Tolerance(
        2.0, 0.0, "mas", "a few mas of centroid accuracy"),
    "ns_ifu04.x1d_source_significance": Tolerance(
        0.5, 0.1, "sigma", "a tenth of the source's significance (threshold 5 sigma)"),
    # NS-IFU05 — wiggles
    "ns_ifu05.wiggle_amplitude": Tolerance(
        0.05, 0.10, "%", "a twentieth of the 1 % threshold (the wiggle noise floor is "
                         "~0.05-0.1 %)"),
    "ns_ifu05.spaxel_wiggle_amplitude": Tolerance(
        0.1, 0.10, "%", "single spaxels are noisier than the aperture"),
    # NS-IFU06 — centroid drift
    "ns_ifu06.centroid_drift": Tolerance(
        2.0, 0.05, "mas", "a few mas of drift over the band"),
    "ns_ifu06.drift_recovery_error": Tolerance(
        0.5, 0.0, "mas", "a sixth of the 3 mas accuracy threshold"),
    FALLBACK: Tolerance(
        0.0, 0.01, "", "metrics without their own entry: 1 % of the baseline value"),
}


class ToleranceError(ValueError):
    """An invalid tolerance setting."""


def tolerance_name(issue: str, metric: str) -> str:
    """The tolerance name of a recorded metric (:func:`ifuqa.verdicts.settings.setting_name`).

    Parameters
    ----------
    issue : str
        Known-issue ID (``"NS-IFU05"``).
    metric : str
        Metric name as recorded (``"wiggle_amplitude"``).

    Returns
    -------
    str
        ``"ns_ifu05.wiggle_amplitude"``.
    """
    return setting_name(issue, metric)


def _nonnegative(value: object, what: str, origin: str, name: str) -> float:
    text = str(value).strip()
    percent = what == "rel" and isinstance(value, str) and text.endswith("%")
    try:
        number = float(text[:-1] if percent else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ToleranceError(f"{origin}: tolerance {name!r}: {what} must be a number, "
                             f"got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise ToleranceError(f"{origin}: tolerance {name!r}: {what} must be a finite number "
                             f">= 0, got {value!r}")
    return number / 100.0 if percent else number


def parse_tolerance(name: str, value: object, origin: str) -> Tolerance:
    """Parse one tolerance setting.

    Parameters
    ----------
    name : str
        Tolerance name (must be in :data:`DEFAULTS`).
    value : str, float or mapping
        ``"abs:0.05,rel:0.1"``, ``"rel:5%"``, ``"0.05"`` (absolute), a number (absolute) or a
        mapping with keys ``abs`` and/or ``rel``.
    origin : str
        Where the setting comes from (for error messages).

    Returns
    -------
    Tolerance

    Raises
    ------
    ToleranceError
        Unknown name, unknown part, or a value that is not a finite number >= 0.
    """
    (canonical, *_) = KIND.canonical(name, origin)
    return _parse(name, canonical, value, origin)


def _parse(name: str, canonical: str, value: object, origin: str) -> Tolerance:
    parts: dict[str, object]
    if isinstance(value, Mapping):
        parts = dict(value)
    elif isinstance(value, str) and ":" in value:
        parts = {}
        for chunk in value.replace(";", ",").split(","):
            if not chunk.strip():
                continue
            if ":" not in chunk:
                raise ToleranceError(f"{origin}: tolerance {name!r}: expected 'abs:A', 'rel:R' "
                                     f"or 'abs:A,rel:R', got {value!r}")
            key, number = (p.strip() for p in chunk.split(":", 1))
            parts[key] = number
    else:
        parts = {"abs": value}
    unknown = set(parts) - {"abs", "rel"}
    if unknown or not parts:
        raise ToleranceError(f"{origin}: tolerance {name!r}: parts must be 'abs' and/or 'rel', "
                             f"got {value!r}")
    default = DEFAULTS[canonical]
    return Tolerance(_nonnegative(parts.get("abs", 0.0), "abs", origin, name),
                     _nonnegative(parts.get("rel", 0.0), "rel", origin, name),
                     default.unit, f"set in {origin}")


KIND: SettingKind[Tolerance] = SettingKind(
    noun="tolerance", table="tolerances", option="--ifuqa-tolerance", ini="ifuqa_tolerances",
    names=tuple(DEFAULTS), parse=_parse, error=ToleranceError, form="name = spec")
"""How tolerances are read (:class:`ifuqa.verdicts.settings.SettingKind`)."""


def parse_assignments(lines: Iterable[str], origin: str) -> dict[str, Tolerance]:
    """Parse ``name = spec`` lines (comments ``#`` and blank lines ignored).

    Parameters
    ----------
    lines : iterable of str
        The settings.
    origin : str
        Where they come from (for error messages).

    Returns
    -------
    dict of str to Tolerance
    """
    return KIND.lines(lines, origin)


class Tolerances(LayeredSettings[Tolerance]):
    """Resolved tolerances with the source of each.

    Parameters
    ----------
    cli : iterable of str
        ``name=spec`` settings from the command line (highest precedence).
    ini : iterable of str
        ``name = spec`` lines of the ini key ``ifuqa_tolerances``.
    rootdir : path, optional
        Folder whose ``pyproject.toml`` may hold ``[tool.ifuqa.tolerances]``.
    """

    def __init__(self, *, cli: Iterable[str] = (), ini: Iterable[str] = (),
                 rootdir: Path | None = None) -> None:
        super().__init__(KIND, DEFAULTS, cli=cli, ini=ini, rootdir=rootdir)

    def for_metric(self, issue: str, metric: str) -> tuple[str, Tolerance]:
        """The tolerance of a recorded metric, and its name (``default`` when it has none).

        Parameters
        ----------
        issue, metric : str
            As recorded (``"NS-IFU05"``, ``"wiggle_amplitude"``).

        Returns
        -------
        (str, Tolerance)
        """
        name = tolerance_name(issue, metric)
        if name in self.values:
            return name, self.values[name]
        return FALLBACK, self.values[FALLBACK]
