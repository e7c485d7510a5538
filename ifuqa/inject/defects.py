"""The defects ``ifuqa inject`` knows: what each re-creates, in which product, in which unit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFECTS", "DefectKind", "Injection"]


@dataclass(frozen=True)
class DefectKind:
    """One kind of injectable defect.

    Attributes
    ----------
    name : str
        As given to ``ifuqa inject --defect``.
    issue : str
        The known issue whose symptom it reproduces.
    product : {"s3d", "x1d"}
        The product it is injected into (``x1d`` from an ``s3d`` for ``extraction_offset``).
    unit : str
        Unit of the injection size.
    size_meaning : str
        What the size is.
    parameters : dict
        The other parameters and their defaults (the injection's "position").
    """

    name: str
    issue: str
    product: str
    unit: str
    size_meaning: str
    parameters: dict[str, Any] = field(default_factory=dict)


DEFECTS: dict[str, DefectKind] = {kind.name: kind for kind in (
    DefectKind("hole", "NS-IFU01", "s3d", "%",
               "depth of the hole at the PSF peak, % of the peak spaxel's source flux",
               {"band_um": None}),
    DefectKind("drift", "NS-IFU06", "s3d", "mas",
               "centroid drift from the first to the last plane",
               {"angle_deg": 0.0}),
    DefectKind("spaxel_wiggle", "NS-IFU05", "s3d", "%",
               "amplitude of the sinusoidal modulation of the peak spaxel",
               {"cycles_per_um": 10.0, "phase_rad": 0.0}),
    DefectKind("undulation", "NS-IFU03", "x1d", "%",
               "amplitude of a low-frequency sinusoid added to the flux, % of its median",
               {"cycles_per_um": 3.0, "phase_rad": 0.0}),
    DefectKind("negative_offset", "NS-IFU03", "x1d", "%",
               "constant subtracted from the flux, % of its median", {}),
    DefectKind("extraction_offset", "NS-IFU04", "x1d", "mas",
               "distance of the extraction aperture from the source centroid (an x1d made from "
               "the cube)", {"angle_deg": 0.0, "radius_fwhm": 2.0}),
)}
"""Every injectable defect, by name."""


@dataclass(frozen=True)
class Injection:
    """A defect of a given kind and size, at a given position (its parameters).

    Attributes
    ----------
    kind : str
        A key of :data:`DEFECTS`.
    size : float
        In the kind's unit.
    params : tuple of (str, value)
        Parameters overriding the kind's defaults.
    """

    kind: str
    size: float
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in DEFECTS:
            raise ValueError(f"unknown defect {self.kind!r}; choose from {', '.join(DEFECTS)}")
        unknown = sorted(set(dict(self.params)) - set(DEFECTS[self.kind].parameters))
        if unknown:
            raise ValueError(f"defect {self.kind!r} has no parameter {', '.join(unknown)} "
                             f"(it has: {', '.join(DEFECTS[self.kind].parameters) or 'none'})")

    @property
    def defect(self) -> DefectKind:
        """The kind of defect."""
        return DEFECTS[self.kind]

    @property
    def parameters(self) -> dict[str, Any]:
        """All parameters, defaults filled in."""
        return {**self.defect.parameters, **dict(self.params)}

    def describe(self) -> str:
        """``"hole 30 % (band_um=None)"``: what was injected, in words."""
        extra = ", ".join(f"{k}={v}" for k, v in self.parameters.items())
        return f"{self.kind} {self.size:g} {self.defect.unit}" + (f" ({extra})" if extra else "")

    def header_keywords(self, original: str) -> dict[str, Any]:
        """The primary-header keywords a copy with this injection carries."""
        return {"IFQ_INJ": self.kind, "IFQ_INJS": f"{self.size:g} {self.defect.unit}",
                "IFQ_INJI": self.defect.issue,
                "IFQ_INJP": json.dumps(self.parameters, sort_keys=True),
                "IFQ_ORIG": original,
                "HISTORY": [f"ifuqa inject: {self.describe()} ({self.defect.size_meaning}) "
                            f"into a copy of {original}"]}
