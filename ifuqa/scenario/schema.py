"""What a scenario is: the typed, validated description of a synthetic NIRSpec IFU observation
(:class:`Scenario` with its :class:`SourceSpec`, :class:`LineSpec` and :class:`NoiseSpec`),
the named dither patterns and the readout group times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
class ExpectedFailure:
    """A check known to fail on a scenario because of an open limitation of the pipeline (a
    regression scenario): ``pytest --ifuqa`` runs it as ``xfail(strict=True)``, so the run
    notices when the limitation is fixed.

    Attributes
    ----------
    check : str
        The check's test function name (``test_aperture_on_source``).
    reason : str
        Why it fails, with the jwst issue it relates to.
    """

    check: str
    reason: str


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
    extra_studies: bool | None = None
    expected_failures: tuple[ExpectedFailure, ...] = ()

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
