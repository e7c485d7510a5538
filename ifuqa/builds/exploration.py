"""The fast build of ``ifuqa explore``: a drawn scene simulated and processed in an exploration
mode that keeps the physics of the known issue under test, cached by content.

A search builds hundreds of scenes, so each known issue has an :class:`ExplorationProfile`:
what the scenes it draws look like (a window of the band on one detector, the dither patterns
the issue needs, the source kinds its checks apply to) and how they are processed. The profile
is part of the drawn scene itself (its ``wavelength_range_um``, ``detectors``, ``dithers`` and
``[noise] one_over_f`` keys) plus the processing options, so the scenario file of a finding
reproduces it exactly: ``ifuqa simulate`` makes the same rate files and ``ifuqa explore --replay``
processes and checks them the same way.

What the fast mode drops, and why the issue's physics survives:

* **The rest of the band** (all issues): a window of :attr:`ExplorationProfile.band_planes`
  cube planes (e.g. 120 planes = 0.08 µm of G395H), placed anywhere on the detector. The PSF,
  the trace curvature and sampling, dithers, pointing and noise at those wavelengths are
  unchanged; what is lost is what spans the whole band: undulations slower than ~1/window
  cycles/µm, a drift that is not linear in wavelength, the flux at the band's far ends.
* **The other detector** of an H grating: one detector is simulated (both are drawn over a
  search); the NRS1/NRS2 gap is never crossed.
* **NSClean** (all issues but NS-IFU03): its measured outcome replaces it. The 1/f noise is
  simulated at :data:`NSCLEAN_RESIDUAL` of its amplitude (what NSClean leaves: residual /
  injected banding 0.14, measured on full frames with the IFU mask) and not cleaned. NSClean is
  ~10 s of a full frame; the scene keeps correlated, banded noise at the cleaned level.
  Not the same as cleaning: the residual's spectrum is the injected one scaled, not NSClean's
  high-pass remainder.
* **Dithers** (NS-IFU03): at most two positions, each still fully cleaned by NSClean (the 1/f
  pattern is independent per exposure; fewer exposures average it less — a harsher test).
* **Ramps**: never (cosmic rays are the residual hits of the default simulation; the NS-IFU01
  cosmic-ray check skips, saying so). Sources: one per scene.

:func:`full_chain_scenario` undoes the NSClean replacement (full 1/f, cleaned) to confirm a
finding with the whole chain. Builds go through :func:`ifuqa.builds.synthetic.build_synthetic`
(content-keyed: scenario text, processing options, versions), so a replayed scene costs nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from ifuqa.builds.synthetic import SyntheticSpec, build_synthetic
from ifuqa.products.dataset import Dataset
from ifuqa.scenario.schema import Scenario
from ifuqa.scenario.write import scenario_toml
from ifuqa.util.atomic import atomic_write

__all__ = ["NSCLEAN_RESIDUAL", "PROFILES", "ExplorationProfile", "build_exploration",
           "exploration_spec", "full_chain_scenario", "scene_file"]

NSCLEAN_RESIDUAL = 0.2
"""1/f amplitude jwst's clean_flicker_noise leaves with its default median fit (residual / raw
banding on pixels held out from the fit, 0.18-0.22 on full frames with the IFU mask;
:data:`ifuqa.process.stages.cleaning.FLICKER_FIT`)."""


@dataclass(frozen=True)
class ExplorationProfile:
    """How the scenes of one known issue are drawn and built in a search.

    Attributes
    ----------
    issue : str
        Known issue.
    band_planes : int
        Width of the simulated window in cube planes of the disperser's default step.
    kinds : tuple of str
        Source kinds drawn (the issue's checks apply to these).
    min_dithers, max_dithers : int
        Dither positions drawn.
    custom_dithers : bool
        Also draw custom dither offsets.
    one_over_f : float
        ``[noise] one_over_f`` of the drawn scenes.
    clean : bool
        Run NSClean.
    with_reference, with_scales : bool
        Extra products (the noiseless reference cube, NS-IFU01; the spaxel-scale study,
        NS-IFU02).
    max_drift_mas : float
        Largest injected centroid drift of a point source.
    physics_kept : str
        One sentence: what of the issue's physics the profile keeps.
    """

    issue: str
    band_planes: int
    kinds: tuple[str, ...] = ("point",)
    min_dithers: int = 1
    max_dithers: int = 4
    custom_dithers: bool = True
    one_over_f: float = NSCLEAN_RESIDUAL
    clean: bool = False
    with_reference: bool = False
    with_scales: bool = False
    max_drift_mas: float = 25.0
    physics_kept: str = ""

    @property
    def options(self) -> tuple[tuple[str, object], ...]:
        """The :class:`ifuqa.process.config.ProcessingConfig` fields the profile sets."""
        return () if self.clean else (("clean", False),)

    def strategy_arguments(self) -> dict[str, object]:
        """Plain arguments of :func:`ifuqa.strategies.scenarios` for this profile (the
        dither and kind bounds are turned into strategies by the caller)."""
        return {"band_planes": self.band_planes, "noise": {"one_over_f": self.one_over_f},
                "max_drift_mas": self.max_drift_mas}


PROFILES: dict[str, ExplorationProfile] = {p.issue: p for p in (
    ExplorationProfile(
        "NS-IFU01", band_planes=120, kinds=("point", "extended"), min_dithers=2,
        with_reference=True,
        physics_kept="the undersampled PSF peak on the detector in 2-4 dithers, warm pixels and "
                     "cosmic-ray residuals, jwst's cross-dither outlier statistic"),
    ExplorationProfile(
        "NS-IFU02", band_planes=120, with_scales=True,
        physics_kept="point-source calibration in surface brightness and drizzle at 0.05, 0.1 "
                     "and 0.2 arcsec spaxels"),
    ExplorationProfile(
        "NS-IFU03", band_planes=400, max_dithers=2, one_over_f=1.0, clean=True,
        physics_kept="full-frame 1/f noise (correlated, per-output, alternating-column, picture "
                     "frame) cleaned by jwst's NSClean, on NRS1 or NRS2, any readout"),
    ExplorationProfile(
        "NS-IFU04", band_planes=120,
        physics_kept="pointing errors, source offsets, faint and line-dominated spectra, noisy "
                     "cube edges and jwst's ifu_autocen (DAOStarFinder on the median image)"),
    ExplorationProfile(
        "NS-IFU05", band_planes=400, min_dithers=4, custom_dithers=False,
        physics_kept="curved traces crossing detector rows over 400 planes (several wiggle "
                     "periods), the undersampled PSF, 4-point dither combination"),
    ExplorationProfile(
        "NS-IFU06", band_planes=300,
        physics_kept="the centroid track over 300 planes, injected drifts up to 25 mas, the "
                     "cube WCS"),
)}
"""The exploration profile of each known issue."""


def scene_file(scenario: Scenario, cache_root: Path) -> Path:
    """Write a scenario's TOML into the cache (content-named: the same scene, the same file)
    and return its path.

    Parameters
    ----------
    scenario : Scenario
        The scene.
    cache_root : path
        Build cache.

    Returns
    -------
    Path
        ``cache_root/explore-scenes/<digest>/<name>.toml``.
    """
    text = scenario_toml(scenario)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(cache_root) / "explore-scenes" / digest / f"{scenario.name}.toml"
    if not path.is_file() or path.read_text() != text:
        atomic_write(path, lambda fh: fh.write(text))
    return path


def full_chain_scenario(scenario: Scenario, profile: ExplorationProfile) -> Scenario:
    """The scene with the physics the profile replaced restored: full 1/f noise (cleaned by
    NSClean in :func:`exploration_spec` with ``full_chain=True``).

    Parameters
    ----------
    scenario : Scenario
        A scene drawn for ``profile``.
    profile : ExplorationProfile
        Its profile.

    Returns
    -------
    Scenario
    """
    if profile.clean:
        return scenario
    scale = scenario.noise.one_over_f / profile.one_over_f if profile.one_over_f else 1.0
    return replace(scenario, name=f"{scenario.name}_full",
                   noise=replace(scenario.noise, one_over_f=scale))


def exploration_spec(scenario: Scenario, issue: str, cache_root: Path, *,
                     defects: tuple[str, ...] = (), full_chain: bool = False) -> SyntheticSpec:
    """The synthetic build of a drawn scene in the exploration mode of ``issue``.

    Parameters
    ----------
    scenario : Scenario
        The scene (as drawn for the issue's profile).
    issue : str
        Known issue.
    cache_root : path
        Build cache (the scene's TOML is written there).
    defects : tuple of str
        Processing defects (``ifuqa explore --defect``).
    full_chain : bool
        Process with every stage of the chain (NSClean on) instead of the profile's options.

    Returns
    -------
    SyntheticSpec
    """
    profile = PROFILES[issue]
    path = scene_file(scenario, cache_root)
    return SyntheticSpec(str(path), defects=tuple(sorted(defects)),
                         with_reference=profile.with_reference,
                         with_scales=profile.with_scales,
                         options=() if full_chain else profile.options)


def build_exploration(scenario: Scenario, issue: str, cache_root: Path, *,
                      defects: tuple[str, ...] = (), full_chain: bool = False) -> Dataset:
    """Simulate and process a drawn scene for a search (or reuse its cached build).

    Parameters
    ----------
    scenario : Scenario
        The scene.
    issue : str
        Known issue whose exploration mode is used.
    cache_root : path
        Build cache.
    defects : tuple of str
        Processing defects.
    full_chain : bool
        Every stage of the chain (see :func:`exploration_spec`).

    Returns
    -------
    Dataset
    """
    return build_synthetic(exploration_spec(scenario, issue, cache_root, defects=defects,
                                            full_chain=full_chain), Path(cache_root))
