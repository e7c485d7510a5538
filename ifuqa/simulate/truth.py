"""The truth contract between the simulator and the checks, written and read here only.

A simulation folder holds

* ``truth.json`` — the truth of the scene (:class:`Truth`): per source its kind, offset, drift,
  centroid track and true spectrum; the pointing offset, position angle and target; per
  exposure its rate file, dither offset, commanded and actual pointing;
* ``<stem>_crmask.fits`` per exposure — the artefact truth (:class:`ArtefactTruth`): the
  cosmic-ray mask (``CRMASK``, 1 where a hit left charge in the rate), ``CRRATE``
  (the count rate the hits added, DN/s; with simulated ramps what each hit would add to the slope
  had jump detection missed it), ``WARM`` (warm pixels absent from the DQ mask, DN/s), and the
  header ``CRMODEL`` (``residual``: only the hits jump detection would miss; ``ramps``: every
  hit, in ramps fitted by jwst) in the primary header. The three images are tile-compressed,
  losslessly (GZIP, no quantisation): they are almost all zeros, and a full-frame mask written
  plain costs 38 MB per exposure, more than half of a test session's disk.

Processing never reads either; the checks read them through :func:`read_truth` and
:func:`read_artefact_truth`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ifuqa import __version__

if TYPE_CHECKING:
    from ifuqa.instrument.dispersers import Disperser
    from ifuqa.scenario import Scenario
    from ifuqa.simulate.exposures import ExposurePlan
    from ifuqa.simulate.scene import SourceModel

__all__ = ["ARTEFACT_SUFFIX", "TRUTH_FILENAME", "ArtefactTruth", "TrueSource", "Truth",
           "artefact_model", "artefact_truth_path", "has_truth", "read_artefact_truth",
           "read_truth", "scene_truth", "write_artefact_truth", "write_truth"]

TRUTH_FILENAME = "truth.json"
"""The scene truth of a simulation folder."""

ARTEFACT_SUFFIX = "_crmask.fits"
"""Suffix of an exposure's artefact truth (its rate file's stem + this)."""


@dataclass(frozen=True)
class TrueSource:
    """One source of the scene as simulated.

    Attributes
    ----------
    kind : {"point", "extended"}
    offset_arcsec, drift_mas : (float, float)
        IFU-frame offset (across, along) and peak-to-peak drift over the simulated band.
    track_wavelength_um, track_across_arcsec, track_along_arcsec : (float, float)
        The centroid track's ends: wavelengths and IFU-frame positions.
    wavelength_um, flux_jy : numpy.ndarray
        The true spectrum (total flux density, Jy).
    record : dict
        Everything ``truth.json`` holds for the source (flux, lines, profile, …).
    """

    kind: str
    offset_arcsec: tuple[float, float]
    drift_mas: tuple[float, float]
    track_wavelength_um: tuple[float, float]
    track_across_arcsec: tuple[float, float]
    track_along_arcsec: tuple[float, float]
    wavelength_um: np.ndarray = field(repr=False)
    flux_jy: np.ndarray = field(repr=False)
    record: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> TrueSource:
        """A source from its ``truth.json`` record."""
        track = rec["track_arcsec"]
        return cls(kind=rec["kind"], offset_arcsec=tuple(rec["offset_arcsec"]),
                   drift_mas=tuple(rec["drift_mas"]),
                   track_wavelength_um=tuple(track["wavelength_um"]),
                   track_across_arcsec=tuple(track["across"]),
                   track_along_arcsec=tuple(track["along"]),
                   wavelength_um=np.asarray(rec["wavelength_um"], dtype=float),
                   flux_jy=np.asarray(rec["flux_jy"], dtype=float), record=rec)


@dataclass(frozen=True)
class Truth:
    """The truth of a simulated scene (``truth.json``).

    Attributes
    ----------
    scenario : str
    seed : int
    grating, filter : str
    resolving_power : float
    wavelength_range_um : (float, float)
        The simulated band.
    pointing_offset_arcsec : (float, float)
        The pointing error the pipeline does not know about (IFU frame).
    position_angle_deg, target_ra_deg, target_dec_deg : float
    sources : tuple of TrueSource
    exposures : tuple of dict
        Per exposure: ``rate_file``, ``dither_offset_arcsec``, ``commanded_pointing``, …
    folder : path or None
        The simulation folder (where the artefact truth files are).
    record : dict
        The whole ``truth.json`` content.
    """

    scenario: str
    seed: int
    grating: str
    filter: str
    resolving_power: float
    wavelength_range_um: tuple[float, float]
    pointing_offset_arcsec: tuple[float, float]
    position_angle_deg: float
    target_ra_deg: float
    target_dec_deg: float
    sources: tuple[TrueSource, ...]
    exposures: tuple[dict[str, Any], ...] = field(repr=False)
    folder: Path | None = None
    record: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def source(self) -> TrueSource:
        """The first (primary) source, the one the checks measure."""
        return self.sources[0]

    @classmethod
    def from_json(cls, data: dict[str, Any], folder: Path | None = None) -> Truth:
        """A truth from the content of ``truth.json``."""
        return cls(scenario=data["scenario"], seed=int(data["seed"]), grating=data["grating"],
                   filter=data["filter"], resolving_power=float(data["resolving_power"]),
                   wavelength_range_um=tuple(data["wavelength_range_um"]),
                   pointing_offset_arcsec=tuple(data["pointing_offset_arcsec"]),
                   position_angle_deg=float(data["position_angle_deg"]),
                   target_ra_deg=float(data["target"]["ra_deg"]),
                   target_dec_deg=float(data["target"]["dec_deg"]),
                   sources=tuple(TrueSource.from_record(s) for s in data["sources"]),
                   exposures=tuple(data["exposures"]), folder=folder, record=data)

    def to_json(self) -> dict[str, Any]:
        """The content of ``truth.json``."""
        return self.record


def scene_truth(scenario: Scenario, disperser: Disperser, sources: list[SourceModel],
                plans: list[ExposurePlan], files: dict[str, dict]) -> Truth:
    """The truth of a simulated scene.

    Parameters
    ----------
    scenario : Scenario
        What was simulated.
    disperser : Disperser
        Its disperser.
    sources : list of SourceModel
        The rendered sources.
    plans : list of ExposurePlan
        The exposures.
    files : dict
        Per exposure stem: its artefact-truth file name and counts.

    Returns
    -------
    Truth
    """
    from ifuqa.simulate.scene import truth_wavelength_grid

    grid = truth_wavelength_grid(disperser, sources)
    records = []
    for src in sources:
        x, y = src.position_arcsec(grid[[0, -1]])
        rec = {
            "kind": src.spec.kind,
            "offset_arcsec": list(src.spec.offset),
            "drift_mas": list(src.spec.drift_mas),
            "track_arcsec": {"wavelength_um": [float(grid[0]), float(grid[-1])],
                             "across": [float(v) for v in x], "along": [float(v) for v in y]},
            "flux_mjy": src.spec.flux_mjy,
            "reference_wavelength_um": src.reference_wavelength_um,
            "spectral_index": src.spec.spectral_index,
            "lines": [asdict(line) for line in src.spec.lines],
            "wavelength_um": grid.round(7).tolist(),
            "flux_jy": (src.flux_mjy(grid) * 1e-3).tolist(),
        }
        if src.spec.kind == "extended":
            rec.update(profile=src.spec.profile, radius_arcsec=src.spec.radius_arcsec,
                       sersic_index=src.spec.sersic_index, axis_ratio=src.spec.axis_ratio,
                       position_angle_deg=src.spec.position_angle_deg)
        records.append(rec)
    exposures = []
    for plan in plans:
        exposures.append({
            "exposure": plan.exposure,
            "detector": plan.detector,
            "rate_file": f"{plan.basename}_rate.fits",
            "dither_offset_arcsec": list(plan.dither_offset),
            "scene_shift_arcsec": list(plan.scene_shift),
            "commanded_pointing": asdict(plan.commanded),
            "actual_pointing": asdict(plan.actual),
            **files[plan.basename],
        })
    return Truth.from_json({
        "ifuqa_version": __version__,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "grating": scenario.grating,
        "filter": scenario.filter,
        "resolving_power": disperser.resolving_power,
        "wavelength_range_um": list(scenario.wavelength_range_um
                                    or (disperser.wavelength_min_um, disperser.wavelength_max_um)),
        "pointing_offset_arcsec": list(scenario.pointing_offset),
        "position_angle_deg": scenario.position_angle,
        "target": {"ra_deg": scenario.target_ra, "dec_deg": scenario.target_dec},
        "frame": ("offsets are IFU-frame arcsec: [across slices, along slices]; at position "
                  "angle 0 'along' points north and 'across' west"),
        "noise": asdict(scenario.noise),
        "sources": records,
        "exposures": exposures,
    })


def write_truth(folder: Path, truth: Truth) -> Path:
    """Write ``truth.json`` into a simulation folder; returns its path."""
    path = Path(folder) / TRUTH_FILENAME
    path.write_text(json.dumps(truth.to_json(), indent=1))
    return path


def has_truth(folder: Path) -> bool:
    """Whether a folder holds a (complete) simulation: its ``truth.json`` is written last."""
    return (Path(folder) / TRUTH_FILENAME).is_file()


def read_truth(folder: Path) -> Truth:
    """The truth of a simulation folder.

    Parameters
    ----------
    folder : path
        An ``ifuqa simulate`` output folder.

    Returns
    -------
    Truth
    """
    folder = Path(folder)
    return Truth.from_json(json.loads((folder / TRUTH_FILENAME).read_text()), folder)


@dataclass(frozen=True)
class ArtefactTruth:
    """The artefacts injected into one exposure.

    Attributes
    ----------
    cosmic_ray_mask : numpy.ndarray of bool
        Where a cosmic ray left charge in the rate.
    cosmic_ray_rate_dn_s : numpy.ndarray
        The count rate the hits added (DN/s); with ramps, what each would add to the slope had
        jump detection missed it.
    warm_dn_s : numpy.ndarray
        Warm pixels' count rate (DN/s), absent from the DQ mask.
    model : {"residual", "ramps"}
        How cosmic rays were injected.
    """

    cosmic_ray_mask: np.ndarray
    cosmic_ray_rate_dn_s: np.ndarray
    warm_dn_s: np.ndarray
    model: str


def write_artefact_truth(path: Path, mask: np.ndarray, cr_rate_dn: np.ndarray,
                         warm_dn: np.ndarray, *, ramps: bool = False) -> None:
    """Write an exposure's artefact truth (see the module docstring for the layout)."""
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    primary.header["CRMODEL"] = ("ramps" if ramps else "residual", "all hits, or only missed ones")

    def image(data: np.ndarray, name: str) -> fits.CompImageHDU:
        return fits.CompImageHDU(data, name=name, compression_type="GZIP_2", quantize_level=0.0)

    hdu = image(mask.astype(np.uint8), "CRMASK")
    hdu.header["COMMENT"] = ("ifuqa cosmic-ray truth mask: 1 where a hit after the first read "
                             "left charge" if ramps else
                             "ifuqa cosmic-ray truth mask: 1 where a cosmic ray deposited charge")
    rate = image(cr_rate_dn.astype(np.float32), "CRRATE")
    rate.header["BUNIT"] = "DN/s"
    rate.header["COMMENT"] = ("slope each hit would add if jump detection missed it" if ramps
                              else "count rate each cosmic ray added to the rate image")
    warm = image(warm_dn.astype(np.float32), "WARM")
    warm.header["BUNIT"] = "DN/s"
    warm.header["COMMENT"] = "warm pixels absent from the DQ mask, same in every exposure"
    fits.HDUList([primary, hdu, rate, warm]).writeto(path, overwrite=True)


def artefact_truth_path(folder: Path, stem: str) -> Path:
    """Where the artefact truth of the exposure with product stem ``stem`` is."""
    return Path(folder) / f"{stem}{ARTEFACT_SUFFIX}"


def read_artefact_truth(folder: Path, stem: str) -> ArtefactTruth | None:
    """The artefact truth of one exposure, or None when the folder has none for it."""
    from astropy.io import fits

    path = artefact_truth_path(folder, stem)
    if not path.is_file():
        return None
    with fits.open(path) as hdul:
        return ArtefactTruth(cosmic_ray_mask=np.asarray(hdul["CRMASK"].data).astype(bool),
                             cosmic_ray_rate_dn_s=np.asarray(hdul["CRRATE"].data, dtype=float),
                             warm_dn_s=np.asarray(hdul["WARM"].data, dtype=float),
                             model=str(hdul[0].header.get("CRMODEL", "residual")))


def artefact_model(folder: Path) -> str | None:
    """How the folder's cosmic rays were injected (``residual`` or ``ramps``), or None when it
    holds no artefact truth."""
    from astropy.io import fits

    masks = sorted(Path(folder).glob(f"*{ARTEFACT_SUFFIX}"))
    if not masks:
        return None
    return str(fits.getheader(masks[0]).get("CRMODEL", "residual"))
