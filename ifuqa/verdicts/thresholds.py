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

__all__ = ["ALIASES", "DEFAULTS", "NIRSPEC_REFERENCE_FWHM_ARCSEC", "Limit", "Threshold",
           "ThresholdError", "Thresholds", "parse_assignments"]


NIRSPEC_REFERENCE_FWHM_ARCSEC = 0.145
"""The NIRSpec IFU PSF FWHM at 4 µm (arcsec; ``ifuqa.instrument.psf.cube_fwhm_arcsec``): the PSF
against which the thresholds in mas were set."""


@dataclass(frozen=True)
class Threshold:
    """A default threshold with its unit and where the number comes from.

    Attributes
    ----------
    value : float
        The default, in ``unit``; for a limit in mas, the value for NIRSpec IFU cubes.
    unit : str
        Unit of the value.
    doc : str
        What the limit is and where its number comes from.
    scales_with_psf : bool
        A limit on a position (mas) that belongs in units of the PSF: for a cube of another
        instrument it is scaled by that cube's PSF FWHM over NIRSpec's
        (:data:`NIRSPEC_REFERENCE_FWHM_ARCSEC`), so that it means the same fraction of the PSF.
    basis : str
        The origin in one phrase, for tables: the metric on good data and the documented
        symptom the number sits between (the full account is ``doc``).
    """

    value: float
    unit: str
    doc: str
    scales_with_psf: bool = False
    basis: str = ""


@dataclass(frozen=True)
class Limit:
    """The limit a check used on one dataset, in its unit and, for positions, in mas and FWHM.

    Attributes
    ----------
    value : float
        The limit, in the metric's unit.
    setting : float
        The threshold setting it comes from (for NIRSpec, the same number).
    source : str
        Where the setting comes from (default, command line, ini, pyproject).
    origin : str
        Why the number is what it is, and how it was scaled.
    fwhm_fraction : float or None
        The limit in units of the cube's PSF FWHM (positions only).
    """

    value: float
    setting: float
    source: str
    origin: str
    fwhm_fraction: float | None = None

    def evidence(self) -> dict[str, object]:
        """The limit for a record's ``evidence``."""
        out: dict[str, object] = {"limit": self.value, "limit_setting": self.setting,
                                  "limit_source": self.source, "limit_origin": self.origin}
        if self.fwhm_fraction is not None:
            out["limit_fwhm"] = self.fwhm_fraction
        return out


_RECALL = ("min share of injected {what} above 10 sigma flagged (the old "
           "ns_ifu01.outlier_recall_percent sets every recall)")

DEFAULTS: dict[str, Threshold] = {
    "ns_ifu01.psf_peak_depth": Threshold(
        2.0, "%", "max depth of the PSF peak against the no-rejection reference cube. Good data "
                  "(release catalogue, 2026-12-07, 13 scenes with 4 positions): 0.03-0.77 %, "
                  "largest 2-sigma bound 0.81 %; documented symptom: the PSF core mostly "
                  "flagged, extracted flux missing (jwst #7712, JP-3152)",
        basis="good data ≤ 0.81 % (2σ bound, 13 scenes); documented: core mostly flagged"),
    "ns_ifu01.psf_peak_hole_depth": Threshold(
        10.0, "%", "max central depression of the PSF in a cube without truth. Good data with 4 "
                   "positions (release catalogue and catalogue, 2026-12-07, 17 scenes): "
                   "0.6-3.3 %, largest 2-sigma bound 6.1 %; fewer positions dent the core by "
                   "resampling alone (2-point nod 12-14 %, one position 28-32 %), which enters "
                   "the uncertainty (2-4 positions) or makes the check not applicable (1)",
        basis="good 4-position data ≤ 6.1 % (2σ bound, 17 scenes)"),
    "ns_ifu01.psf_core_flagged": Threshold(
        5.0, "%", "max share of PSF-core pixels flagged as outliers. Good data (release "
                  "catalogue and catalogue, 2026-12-07, 37 datasets): median 0.2 %, largest "
                  "1.71 +- 0.34 % (PRISM, centre, 4-point dither: jwst's method flags a few "
                  "pixels of its sharpest cores), largest 2-sigma bound 2.4 %; documented "
                  "symptom: the PSF core mostly flagged (jwst #7712, JP-3152), i.e. > 50 %. "
                  "5 % is twice the largest good-data bound and a tenth of the symptom (the "
                  "former 1 % had no stated origin and left the good PRISM scene undecided)",
        basis="good data ≤ 2.4 % (2σ bound, 37 datasets); documented: > 50 %"),
    "ns_ifu01.warm_pixel_recall": Threshold(
        90.0, "%", _RECALL.format(what="warm pixels") + ". Good data (2026-12-07, 30 release "
        "scenes with 2 or more positions and the catalogue): 99.7-100 %; documented symptom of "
        "too little rejection: 'a significant number of clear outliers are not flagged' "
        "(jwst #7712)", basis="good data ≥ 99.7 % (30 scenes)"),
    "ns_ifu01.cosmic_ray_recall": Threshold(
        90.0, "%", _RECALL.format(what="cosmic rays (jump or outlier detection)") + ". Good "
        "data: the ramps scene 100 % of 125156 pixels (2026-12-07); jump detection without "
        "enough groups catches 0.4 %", basis="good data 100 %; no jump detection 0.4 %"),
    "ns_ifu01.residual_cosmic_ray_recall": Threshold(
        90.0, "%", _RECALL.format(what="residual cosmic rays (outlier detection)") + " (recorded "
        "for information, not a shipped check)", basis="information only"),
    "ns_ifu02.flux_ratio_deviation": Threshold(
        2.0, "%", "max |median extracted/true - 1| in any of 20 wavelength bins. Good data "
                  "(release catalogue, 2026-12-07): 4-point dither 0.49-0.56 % (2-sigma bound "
                  "0.60 %), one position 0.44-0.57 %, 2-point nod 0.91-1.17 % (2-sigma bound "
                  "1.99 %); the 4-point-nod edge scenes (a nod position's field edge through "
                  "the PSF core: drizzle's coverage bias, 4.3-5.3 % low) are not applicable; "
                  "documented symptom 10-15 % too high at 0.1 arcsec (KNOWN_ISSUES NS-IFU02); "
                  "the instrument's absolute accuracy ~3 % (JWST docs)",
        basis="good data ≤ 0.6 % (4-point) / 2.0 % (nod), 2σ bounds; documented: 10–15 %"),
    "ns_ifu02.flux_vs_spaxel_scale": Threshold(
        3.0, "%", "max spread of extracted/true flux across 0.05/0.1/0.2 arcsec spaxels "
                  "(the instrument's ~3 % calibration accuracy). Good data (2026-12-07, 9 "
                  "scenes with 4 positions): 0.014-0.055 % (2-sigma bound 0.045 %); documented "
                  "symptom 10-15 % at 0.1 arcsec, growing with the spaxel area",
        basis="good data ≤ 0.06 % (9 scenes); documented: 10–15 %"),
    "ns_ifu03.banding_residual_ratio": Threshold(
        0.5, "", "max banding above the white-noise floor after cleaning / before, measured on "
                 "rows held out of the cleaning fit (out of sample): cleaning must remove at "
                 "least half of it. Good data (measured 2026-12-07, jwst's "
                 "CleanFlickerNoiseStep with its defaults, the 9 cleaned catalogue and defect "
                 "datasets, NRS1 and NRS2): 0.37-0.43 (+-0.01); in-sample the same fits read "
                 "0.000 (the fit absorbs the pixels it is judged on), which the former 0.2 limit "
                 "relied on; release catalogue (2026-12-07, 30 scenes): 0.38-0.45, largest "
                 "2-sigma bound 0.47. Documented symptom: banding not removed, ratio 1",
        basis="good data ≤ 0.47 (2σ bound, 39 datasets); documented: 1"),
    "ns_ifu03.undulation_amplitude": Threshold(
        5.0, "%", "max additive low-frequency (1-20 cycles/um) undulation of an x1d, from the "
                  "x1d alone (users' spectra without a cube). 1/6 of the documented symptom "
                  "(up to ~30 % for read-noise-limited data, KNOWN_ISSUES NS-IFU03). Good "
                  "data: SNAP-2 (real PRISM x1d) reads 0.93 +- 0.76 %; the catalogue's flat "
                  "synthetic spectra are undecided (0.3 +- 3.5 % to 1.9 +- 6.4 %: additive and "
                  "proportional structure cannot be told apart); an injected additive "
                  "undulation is caught at 95 % completeness from 14.5 % on SNAP-2 (README, "
                  "completeness; measured 2026-12-07)",
        basis="good real data 0.93 ± 0.76 % (SNAP-2); documented: up to ~30 %"),
    "ns_ifu03.off_source_undulation": Threshold(
        1.0, "%", "max additive low-frequency (1/2048-1/100 cycles per detector column) "
                  "undulation on a cube's source-free spaxels, scaled to the extraction "
                  "aperture, in % of the source's median flux. Good data: 9 seeds of "
                  "faint_point_g140h_nrs2 with NSClean (seeds 2202, 11-18) read 0-0.35 % "
                  "(2-sigma upper bounds 0.64-1.04 %); every brighter fixed catalogue scene "
                  "<= 0.004 % (measured 2026-12-07). Documented symptom: up to ~30 % flux "
                  "discrepancy for read-noise-limited data (KNOWN_ISSUES NS-IFU03). The limit "
                  "is ~3x the largest good-data value, 1/30 of the documented symptom; release "
                  "catalogue (2026-12-07, 29 scenes): <= 0.08 % (2-sigma bound 0.45 %)",
        basis="good data ≤ 1.04 % (2σ bound, faint); documented: up to ~30 %"),
    "ns_ifu03.negative_flux_fraction": Threshold(
        5.0, "%", "max share of significantly negative samples in an x1d. Good data (release "
                  "catalogue, 2026-12-07, 30 scenes): 0 %, largest 2-sigma bound 2.2 % (the "
                  "shortest spectra); documented symptom: negative flux in read-noise-limited "
                  "spectra (KNOWN_ISSUES NS-IFU03, no size given)",
        basis="good data 0 % (2σ bound ≤ 2.2 %, 30 scenes)"),
    "ns_ifu04.extraction_offset": Threshold(
        30.0, "mas", "max offset of the extraction centre from the source centroid "
                     "(~6x the 5 mas pointing after target acquisition; 0.2 x the NIRSpec PSF "
                     "FWHM at 4 um). Good data (release catalogue, 2026-12-07): 4-point dither "
                     "0.4-1.1 mas, one position <= 2.6 mas, 2-point nod 10.5-11.6 mas",
        scales_with_psf=True,
        basis="good data ≤ 11.6 mas (30 scenes); documented: 67 mas blind, 5 mas after TA"),
    "ns_ifu04.extraction_flux_loss": Threshold(
        2.0, "%", "max flux lost by the extraction aperture's position. Good data (release "
                  "catalogue, 2026-12-07, 29 scenes): <= 0.03 % (2-sigma bound 0.09 %); "
                  "documented symptom: missing flux in the x1d (6.7 % for a 150 mas miss)",
        basis="good data ≤ 0.09 % (2σ bound, 29 scenes)"),
    "ns_ifu04.x1d_vs_curve_of_growth": Threshold(
        3.0, "%", "max |x1d / cube total - 1|, the total from the cube's aperture-corrected "
                  "curve of growth (the instrument's ~3 % calibration accuracy). Good data "
                  "(release catalogue, 2026-12-07, 29 scenes): 0.5-1.6 % (2-sigma bound "
                  "1.65 %)", basis="good data ≤ 1.65 % (2σ bound, 29 scenes); 3 % accuracy"),
    "ns_ifu04.x1d_source_significance": Threshold(
        5.0, "sigma", "min significance of the x1d's summed source flux (an aperture that "
                      "missed its source holds noise and background residuals: ~0). Good data "
                      "(release catalogue, 2026-12-07, 29 scenes down to 0.3 mJy): >= 1500 "
                      "sigma", basis="good data ≥ 1500 σ; a missed source ~0 σ"),
    "ns_ifu05.wiggle_amplitude": Threshold(
        1.0, "%", "max periodic wiggle of an extracted spectrum in the disperser's band (trace "
                  "slopes over the spectrum's columns, up to the 2nd harmonic): the documented "
                  "symptom, Law et al. 2023: < 1 % with a 4-point dither and r >= 1.5 FWHM; "
                  "good data (measured 2026-12-07, 16 4-point datasets: the catalogue scenes "
                  "and G395H at 11 source positions within 0.33\" of the centre): "
                  "0.00-0.14 % (+-0.01-0.06); release catalogue (2026-12-07): 4-point dither "
                  "0.02-0.07 % (2-sigma bound 0.10 %), nods 0.2-0.68 % (2-sigma bound 0.99 %). "
                  "Measured after the additive (1/f) part seen on source-free spaxels is "
                  "subtracted",
        basis="good data ≤ 0.10 % (4-point, 2σ); documented: < 1 % (Law et al. 2023)"),
    "ns_ifu05.spaxel_wiggle_amplitude": Threshold(
        2.5, "%", "max periodic wiggle of the brightest spaxel's spectrum relative to the "
                  "aperture spectrum, same band: single spaxels wiggle even with a 4-point "
                  "dither; good data (measured 2026-12-07, the same 16 4-point datasets, "
                  "G395H/G235M/G235H/PRISM): 0.52-1.51 % (+-0.01-0.02), the clean MIRI MRS "
                  "cube of 16 Cyg B 0.94 +- 0.30 %; 2.5 % is 1.65 x the largest, "
                  "below the 3.5 % of the one-dither defect (a 2-point nod, not a mitigation "
                  "in Law et al. 2023, reads 11 % at G140H 1.6 um; release catalogue, "
                  "2026-12-07: 4-point dither 0.9-1.41 %, while nods read 3.2-8.1 % and one "
                  "position 12-14 %, the documented symptom itself)",
        basis="good 4-point data ≤ 1.46 % (2σ); nods/one position 3–14 %: the symptom"),
    "ns_ifu06.centroid_drift": Threshold(
        10.0, "mas", "max centroid drift over the band with data, half the documented symptom "
                     "(KNOWN_ISSUES: typically ~20 mas over a disperser's range), so that a "
                     "20 mas drift fails at 3 sigma whenever its uncertainty is below 3.3 mas; "
                     "good data: the catalogue scenes without an injected drift measure "
                     "0.03-0.32 mas (+-0.06-0.13; faint_point_g140h_nrs2 0.86 +- 4.4), the "
                     "clean MIRI MRS cube of 16 Cyg B 6.6 +- 2.7 mas = 1.2 +- 0.5 mas at the "
                     "NIRSpec PSF: the largest 2-sigma upper bound of a bright scene is 0.6 mas, "
                     "of 16 Cyg B 2.2 mas (0.05 FWHM at 4 um); 10 mas = 0.07 FWHM. Release "
                     "catalogue (2026-12-07, 28 drift-free scenes): largest 2-sigma bound "
                     "5.95 mas (2-point nod), 0.63 mas with a 4-point dither",
        scales_with_psf=True,
        basis="good data ≤ 6.0 mas (2σ bound, 28 scenes); documented: ~20 mas"),
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

    def limit(self, name: str, *, instrument: str = "NIRSPEC",
              fwhm_arcsec: float | None = None) -> Limit:
        """The limit of threshold ``name`` for a cube of ``instrument`` whose PSF FWHM is
        ``fwhm_arcsec`` (at the band's centre).

        Limits on positions (``scales_with_psf``) were set for NIRSpec's IFU; for another
        instrument they are scaled by the PSF FWHM ratio, so a drift of 0.2 FWHM is judged the
        same in a MIRI channel-4 cube (0.35" spaxels, ~0.8" PSF) as in a NIRSpec one.

        Parameters
        ----------
        name : str
            Threshold name (canonical or old).
        instrument : str
            ``INSTRUME`` of the product.
        fwhm_arcsec : float, optional
            The cube's PSF FWHM (needed to scale, and to express a position limit in FWHM).

        Returns
        -------
        Limit

        Examples
        --------
        >>> th = Thresholds.defaults()
        >>> th.limit("ns_ifu06.centroid_drift", instrument="NIRSPEC", fwhm_arcsec=0.145).value
        10.0
        >>> miri = th.limit("ns_ifu06.centroid_drift", instrument="MIRI", fwhm_arcsec=0.725)
        >>> round(miri.value, 1), round(miri.fwhm_fraction, 3)
        (50.0, 0.069)
        """
        canonical = KIND.canonical(name, "Thresholds.limit")[0]
        setting = float(self[name])
        spec = DEFAULTS.get(canonical)
        source = self.sources.get(canonical, "default")
        origin = spec.doc if spec else ""
        if spec is None or not spec.scales_with_psf:
            return Limit(setting, setting, source, origin)
        value = setting
        if instrument.upper() != "NIRSPEC" and fwhm_arcsec:
            value = setting * float(fwhm_arcsec) / NIRSPEC_REFERENCE_FWHM_ARCSEC
            origin = (f"{origin}; scaled to {instrument} by its PSF FWHM "
                      f"{fwhm_arcsec:.3g}\" / {NIRSPEC_REFERENCE_FWHM_ARCSEC:g}\"")
        fraction = value / 1000.0 / fwhm_arcsec if fwhm_arcsec else None
        return Limit(value, setting, source, origin, fraction)
