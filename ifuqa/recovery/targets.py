"""Which check each injectable defect must make fail, at which size, at which positions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ifuqa.inject import DEFECTS

__all__ = ["POWER_FACTOR", "TARGETS", "Target", "targets_for"]

POWER_FACTOR = 2.5
"""The real-data power matrix injects each defect at this many times its check's threshold."""


@dataclass(frozen=True)
class Target:
    """A defect injected into real products and the check that must catch it.

    Attributes
    ----------
    injection : str
        A kind of :data:`ifuqa.inject.DEFECTS`.
    issue, check : str
        The known issue and the check (function name in ``checks/``) that must fail.
    threshold : str
        The check's threshold whose size the injection is scaled to.
    positions : tuple of dict
        The injection parameters a completeness curve averages over (where in the band, in
        which direction, at which frequency and phase).
    fixed_size : float or None
        An injection size set by the documented symptom instead of the threshold (when the
        threshold is not in the injection's unit).
    size_origin : str
        Where the injected size comes from.
    """

    injection: str
    issue: str
    check: str
    threshold: str
    positions: tuple[dict[str, Any], ...]
    fixed_size: float | None = None
    size_origin: str = f"{POWER_FACTOR:g} x the check's threshold"

    @property
    def product(self) -> str:
        """``"s3d"`` or ``"x1d"``: what the defect is injected into."""
        return DEFECTS[self.injection].product

    @property
    def unit(self) -> str:
        """Unit of the injection size."""
        return DEFECTS[self.injection].unit


TARGETS: tuple[Target, ...] = (
    Target("hole", "NS-IFU01", "test_no_hole_at_psf_peak", "ns_ifu01.psf_peak_hole_depth",
           positions=({"band_fraction": (0.0, 1.0)}, {"band_fraction": (0.0, 0.34)},
                      {"band_fraction": (0.33, 0.67)}, {"band_fraction": (0.66, 1.0)})),
    Target("drift", "NS-IFU06", "test_centroid_drift", "ns_ifu06.centroid_drift",
           positions=tuple({"angle_deg": a} for a in (0.0, 70.0, 150.0, 240.0))),
    Target("spaxel_wiggle", "NS-IFU05", "test_brightest_spaxel_wiggle",
           "ns_ifu05.spaxel_wiggle_amplitude",
           positions=({"cycles_per_um": 8.0, "phase_rad": 0.0},
                      {"cycles_per_um": 15.0, "phase_rad": 1.0},
                      {"cycles_per_um": 25.0, "phase_rad": 2.0},
                      {"cycles_per_um": 40.0, "phase_rad": 3.0})),
    Target("extraction_offset", "NS-IFU04", "test_aperture_on_source",
           "ns_ifu04.extraction_offset",
           positions=tuple({"angle_deg": a} for a in (0.0, 90.0, 180.0, 270.0))),
    Target("undulation", "NS-IFU03", "test_spectrum_free_of_undulation",
           "ns_ifu03.undulation_amplitude",
           positions=({"cycles_per_um": 2.0, "phase_rad": 0.0},
                      {"cycles_per_um": 3.0, "phase_rad": 1.5},
                      {"cycles_per_um": 5.0, "phase_rad": 3.0},
                      {"cycles_per_um": 8.0, "phase_rad": 4.5})),
    Target("negative_offset", "NS-IFU03", "test_spectrum_not_negative",
           "ns_ifu03.negative_flux_fraction", positions=({},), fixed_size=150.0,
           size_origin="the documented symptom: an x1d driven below zero by a 1/f bias "
                       "(the offset is 1.5 x the spectrum's median flux)"),
)
"""Every injection the real-data power matrix makes, with the check it must fail."""


def targets_for(product_kinds: set[str]) -> list[Target]:
    """The targets whose injection the dataset's products allow.

    Parameters
    ----------
    product_kinds : set of str
        ``{"s3d", "x1d"}`` or a subset: what the dataset holds.

    Returns
    -------
    list of Target
    """
    needs = {"extraction_offset": "s3d"}  # an x1d extracted from the cube
    return [t for t in TARGETS if needs.get(t.injection, t.product) in product_kinds]
