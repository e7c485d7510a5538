"""The exposures of a scenario and their rate files.

Every (dither position, detector) of a scenario is an :class:`ExposurePlan` with its commanded
pointing (what the header says: the IFU centre on the target shifted by the known dither offset)
and its actual pointing (also shifted by the scenario's ``pointing_offset``, the error the
pipeline does not know about, NS-IFU04). :func:`write_rate` writes one count-rate image as an
``IFUImageModel`` in DN/s, with ifuqa's hand-over keywords for processing in its primary header:

``IFQ_PSF``  the scene's PSF (``model`` or the path of a PSF cube) · ``IFQ_WLO``/``IFQ_WHI``
the simulated wavelength band (µm).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ifuqa import __version__
from ifuqa.instrument.dispersers import Disperser, get_disperser
from ifuqa.instrument.photometry import GAIN_E_PER_DN
from ifuqa.instrument.sky import Pointing
from ifuqa.scenario import Scenario
from ifuqa.util.fits_header import add_primary_keywords

__all__ = ["PROGRAM_PREFIX", "ExposurePlan", "detectors_for", "dither_primary_type",
           "exposure_plans", "write_rate"]

PROGRAM_PREFIX = "jw99999001001_03101"
"""File-name stem of simulated observations (program 99999)."""


CUSTOM_DITHER_TYPE = "N/A"
"""``PATTTYPE`` of a custom list of dither offsets: the jwst datamodel schema
(``core.schema.yaml``, ``meta.dither.primary_type``) names no "custom" pattern, and of its
values only ``N/A`` is true of offsets that follow no named pattern (``NONE`` would claim no
dither; the offsets themselves are in ``XOFFSET``/``YOFFSET`` of each exposure)."""


def dither_primary_type(pattern: str) -> str:
    """The ``PATTTYPE`` (``meta.dither.primary_type``) of a scenario's dither pattern.

    Parameters
    ----------
    pattern : str
        :attr:`ifuqa.scenario.Scenario.dither_pattern` (a name of
        :data:`ifuqa.scenario.DITHER_PATTERNS` or ``"custom"``).

    Returns
    -------
    str
        A value the jwst datamodel schema accepts.

    Examples
    --------
    >>> dither_primary_type("4-point-nod"), dither_primary_type("none")
    ('4-POINT-NOD', 'NONE')
    >>> dither_primary_type("custom")
    'N/A'
    """
    return CUSTOM_DITHER_TYPE if pattern == "custom" else pattern.upper()


@dataclass(frozen=True)
class ExposurePlan:
    """One exposure on one detector."""

    exposure: int  # 1-based dither position
    detector: str
    dither_offset: tuple[float, float]
    scene_shift: tuple[float, float]  # pointing offset + dither offset (IFU frame, arcsec)
    commanded: Pointing  # what the header says
    actual: Pointing  # where the IFU really pointed

    @property
    def basename(self) -> str:
        """JWST-style file stem without the suffix."""
        return f"{PROGRAM_PREFIX}_{self.exposure:05d}_{self.detector.lower()}"


def detectors_for(scenario: Scenario, disperser: Disperser) -> tuple[str, ...]:
    """Detectors that receive light in ``scenario`` (honouring ``detectors`` and the window)."""
    dets = scenario.detectors or disperser.detectors
    if scenario.wavelength_range_um is None:
        return tuple(dets)
    lo, hi = scenario.wavelength_range_um
    keep = []
    for det in dets:
        d_lo, d_hi = disperser.wavelength_range_on(det)
        if d_hi >= lo and d_lo <= hi:
            keep.append(det)
    return tuple(keep)


def exposure_plans(scenario: Scenario) -> list[ExposurePlan]:
    """Every (dither position, detector) of the scenario, with commanded and actual pointing.

    Dither offsets move the target within the IFU: at dither offset ``d`` the target appears at
    IFU position ``d`` (plus its own offset), so the IFU centre points at ``−d`` from the target.
    """
    disperser = get_disperser(scenario.grating, scenario.filter)
    target = Pointing(scenario.target_ra, scenario.target_dec, scenario.position_angle)
    plans = []
    for i, (dx, dy) in enumerate(scenario.dithers, start=1):
        commanded = target.offset_by_ifu(-dx, -dy)
        px, py = scenario.pointing_offset
        actual = target.offset_by_ifu(-dx - px, -dy - py)
        for det in detectors_for(scenario, disperser):
            plans.append(ExposurePlan(i, det, (dx, dy), (dx + px, dy + py), commanded, actual))
    return plans


def write_rate(path: Path, scenario: Scenario, plan: ExposurePlan, rate_e: np.ndarray,
                var_poisson_e: np.ndarray, var_rnoise_e: np.ndarray, dq: np.ndarray) -> None:
    """Write one exposure's rate image (e-/s in, DN/s out) as an IFUImageModel at ``path``."""
    from stdatamodels.jwst import datamodels

    gain = GAIN_E_PER_DN[plan.detector]
    model = datamodels.IFUImageModel()
    model.data = (rate_e / gain).astype(np.float32)
    model.var_poisson = (var_poisson_e / gain**2).astype(np.float32)
    model.var_rnoise = (var_rnoise_e / gain**2).astype(np.float32)
    model.err = np.sqrt(model.var_poisson + model.var_rnoise).astype(np.float32)
    model.dq = dq.astype(np.uint32)
    meta = model.meta
    meta.filename = path.name
    meta.telescope = "JWST"
    meta.instrument.name = "NIRSPEC"
    meta.instrument.detector = plan.detector
    meta.instrument.grating = scenario.grating
    meta.instrument.filter = scenario.filter
    meta.exposure.type = "NRS_IFU"
    meta.exposure.readpatt = scenario.readout
    meta.exposure.nints = 1
    meta.exposure.ngroups = scenario.ngroups
    meta.exposure.group_time = scenario.group_time_s
    meta.exposure.exposure_time = scenario.effective_exposure_time
    meta.exposure.effective_exposure_time = scenario.effective_exposure_time
    meta.exposure.start_time = 60000.0 + plan.exposure * 0.02
    meta.observation.date = "2026-01-01"
    meta.observation.exposure_number = str(plan.exposure)
    meta.subarray.name = "FULL"
    meta.subarray.xstart = meta.subarray.ystart = 1
    meta.subarray.xsize = meta.subarray.ysize = 2048
    # read directions of NIRSpec's detectors in DMS orientation (as in every rate file)
    meta.subarray.fastaxis, meta.subarray.slowaxis = (2, 1) if plan.detector == "NRS1" else (-2, -1)
    meta.aperture.name = "NRS_FULL_IFU"
    meta.dither.position_number = plan.exposure
    meta.dither.total_points = len(scenario.dithers)
    meta.dither.primary_type = dither_primary_type(scenario.dither_pattern)
    meta.dither.x_offset = plan.dither_offset[0]
    meta.dither.y_offset = plan.dither_offset[1]
    meta.wcsinfo.ra_ref = plan.commanded.ra_deg
    meta.wcsinfo.dec_ref = plan.commanded.dec_deg
    meta.wcsinfo.roll_ref = plan.commanded.pa_deg
    meta.target.ra = scenario.target_ra
    meta.target.dec = scenario.target_dec
    meta.target.source_type = ("POINT" if scenario.sources[0].kind == "point" else "EXTENDED")
    meta.bunit_data = "DN/s"
    meta.bunit_err = "DN/s"
    meta.calibration_software_name = "ifuqa"
    meta.calibration_software_version = __version__
    model.save(path)
    model.close()
    disperser = get_disperser(scenario.grating, scenario.filter)
    lo, hi = scenario.wavelength_range_um or (disperser.wavelength_min_um,
                                              disperser.wavelength_max_um)
    add_primary_keywords(path, {"IFQ_PSF": str(scenario.psf), "IFQ_WLO": float(lo),
                                "IFQ_WHI": float(hi)})
