"""Processing configuration: the fixes the chain applies and the defects that undo them.

Each known issue NS-IFU01…05 has a switch that re-creates the defect the pipeline had (or has,
when a mitigation is not applied), so that ifuqa's checks can be shown to fail on it:

========  ==================================================================================
ID        what the defect switch does
========  ==================================================================================
NS-IFU01  over-aggressive outlier rejection between dithers: jwst's adjacent-pixel outlier
          statistic applied to each exposure on its own, without the minimum across dithers
          that protects real structure; the undersampled PSF peak (brighter than both its
          neighbours, like a cosmic ray) is flagged and the cube has a hole there
NS-IFU02  point sources calibrated in flux density per pixel (MJy) instead of surface
          brightness (MJy/sr) before cube building; the cube then interpolates an extensive
          quantity and the extracted flux scales with the output spaxel area
NS-IFU03  no 1/f (NSClean) cleaning of the count-rate images
NS-IFU04  1-D extraction at the nominal target position from the header instead of the
          source centroid (no ``ifu_autocen``)
NS-IFU05  only the first dither position goes into the cube (no dither combination)
========  ==================================================================================

NS-IFU05's other mitigation, jwst's adaptive trace model (spline-model oversampling of the
detector images before cube building, :mod:`ifuqa.process.stages.trace_oversampling`), is an option
(``trace_model``), off by default as in jwst; it combines with the NS-IFU05 defect switch (one
dither, oversampled) as well as with dither combination.

NS-IFU06 (centroid drift with wavelength) has no pipeline fix and hence no switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["DEFECTS", "ProcessingConfig", "ProcessingConfigError"]

DEFECTS: dict[str, str] = {
    "NS-IFU01": "over-aggressive outlier rejection (each exposure judged alone, no "
                "cross-dither minimum)",
    "NS-IFU02": "point sources in flux-density units into cube building",
    "NS-IFU03": "no 1/f noise cleaning (NSClean off)",
    "NS-IFU04": "1-D extraction at the nominal position (no auto-centring)",
    "NS-IFU05": "no dither combination (first dither position only)",
}


class ProcessingConfigError(ValueError):
    """An invalid processing option."""


@dataclass(frozen=True)
class ProcessingConfig:
    """Every choice of the processing chain.

    Attributes
    ----------
    defects : frozenset of str
        Known-issue IDs whose defect is re-created (see :data:`DEFECTS`).
    spaxel_arcsec : float
        Output spaxel scale of the cube (arcsec).
    wave_step_um : float or None
        Cube wavelength step (µm); None takes the disperser's pipeline default.
    weighting : {"drizzle", "emsm", "msm"}
        Cube-building algorithm.
    coord_system : {"skyalign", "ifualign"}
        Cube orientation.
    clean : bool
        Apply NSClean (1/f) cleaning.
    outliers : bool
        Run IFU outlier detection (needs at least two dithers).
    kernel_size, threshold_percent : str, float
        IFU outlier-detection parameters (jwst defaults).
    aperture_radius_fwhm : float
        Extraction radius in units of the PSF FWHM at each wavelength (used unless
        ``aperture_radius_arcsec`` is given).
    aperture_radius_arcsec : float or None
        Fixed extraction radius (arcsec).
    background_annulus_fwhm : (float, float) or None
        Inner/outer radius of a background annulus in FWHM units.
    autocenter : bool
        Centre the aperture on the source (jwst's ``ifu_autocen``); else the header's target.
    brightest_spaxel : bool
        Centre the aperture on the centre of the brightest spaxel of the white-light image
        (a single-spaxel extraction together with ``aperture_radius_arcsec`` ≤ half a spaxel).
    center_xy : (float, float) or None
        Explicit aperture centre (cube pixels, 0-based), overriding both.
    trace_model : bool
        Oversample each calibrated image with jwst's adaptive trace model before cube building
        (NS-IFU05 mitigation; parameters in
        :data:`ifuqa.process.stages.trace_oversampling.TraceModelParameters`).
    """

    defects: frozenset[str] = field(default_factory=frozenset)
    spaxel_arcsec: float = 0.1
    wave_step_um: float | None = None
    weighting: str = "drizzle"
    coord_system: str = "skyalign"
    clean: bool = True
    outliers: bool = True
    kernel_size: str = "7 7"
    threshold_percent: float = 99.8
    aperture_radius_fwhm: float = 2.0
    aperture_radius_arcsec: float | None = None
    background_annulus_fwhm: tuple[float, float] | None = None
    autocenter: bool = True
    brightest_spaxel: bool = False
    center_xy: tuple[float, float] | None = None
    trace_model: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.defects) - set(DEFECTS))
        if unknown:
            raise ProcessingConfigError(
                f"unknown defect {', '.join(unknown)}; choose from {', '.join(DEFECTS)}")
        if self.weighting not in ("drizzle", "emsm", "msm"):
            raise ProcessingConfigError(
                f"weighting must be drizzle, emsm or msm, not {self.weighting!r}")
        if self.coord_system not in ("skyalign", "ifualign"):
            raise ProcessingConfigError(
                f"coord_system must be skyalign or ifualign, not {self.coord_system!r}")
        if not 0.01 <= self.spaxel_arcsec <= 1.0:
            raise ProcessingConfigError(
                f"spaxel scale {self.spaxel_arcsec} arcsec is outside 0.01-1.0")
        if self.wave_step_um is not None and self.wave_step_um <= 0:
            raise ProcessingConfigError("wavelength step must be positive")
        if self.aperture_radius_fwhm <= 0 or (self.aperture_radius_arcsec is not None
                                              and self.aperture_radius_arcsec <= 0):
            raise ProcessingConfigError("aperture radius must be positive")

    # The effective settings, after the defect switches.
    @property
    def effective_clean(self) -> bool:
        """Whether NSClean runs."""
        return self.clean and "NS-IFU03" not in self.defects

    @property
    def outliers_per_exposure(self) -> bool:
        """True when each exposure is judged alone (the NS-IFU01 defect)."""
        return "NS-IFU01" in self.defects

    @property
    def point_source_in_flux_density(self) -> bool:
        """True when the NS-IFU02 defect is on."""
        return "NS-IFU02" in self.defects

    @property
    def effective_autocenter(self) -> bool:
        """Whether the aperture is centred on the source."""
        return self.autocenter and "NS-IFU04" not in self.defects

    @property
    def single_dither(self) -> bool:
        """True when only the first dither position is used (NS-IFU05 defect)."""
        return "NS-IFU05" in self.defects

    def fixes(self) -> list[str]:
        """Human-readable list of the fixes in force (recorded in product headers)."""
        out = []
        if "NS-IFU01" not in self.defects and self.outliers:
            out.append(f"NS-IFU01 ifu outlier method kernel {self.kernel_size} "
                       f"threshold {self.threshold_percent}")
        if "NS-IFU02" not in self.defects:
            out.append("NS-IFU02 surface brightness into cube build")
        if self.effective_clean:
            out.append("NS-IFU03 nsclean")
        if self.effective_autocenter or self.center_xy is not None:
            out.append("NS-IFU04 " + ("center_xy" if self.center_xy is not None else "autocen"))
        ns_ifu05 = [] if self.single_dither else ["dither combination"]
        if self.trace_model:
            ns_ifu05.append("adaptive trace model")
        if ns_ifu05:
            out.append("NS-IFU05 " + " + ".join(ns_ifu05))
        return out

    def with_defects(self, *ids: str) -> ProcessingConfig:
        """A copy with the given defects switched on."""
        return replace(self, defects=frozenset(self.defects) | frozenset(ids))
