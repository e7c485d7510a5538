"""NIRSpec IFU grating/filter combinations: wavelength ranges, dispersion and throughput.

Approximations (documented here because every check inherits them):

* **Gratings** (M and H) have a *linear* dispersion. The M gratings put their whole range on
  NRS1; the H gratings spread it over NRS1, the ~17.8" gap (modelled as ``GAP_COLUMNS`` detector
  columns) and NRS2, as on the real instrument. The dispersion is chosen so that the nominal range
  fills the usable columns, which gives a pixel width within ~15 % of the real instrument's.
* **PRISM** has the real, strongly non-linear behaviour: the resolving power falls from ~80 at
  0.6 µm to ~30 at 1.2 µm and rises to ~300 at 5.3 µm; with 2.2 pixels per resolution element the
  spectrum covers ~430 columns of NRS1.
* **Throughput** (photon-to-electron conversion efficiency, telescope included) is a smooth
  function of wavelength per disperser. The same function is the "photom reference" used by the
  processing chain, so flux calibration is exact by construction and any flux error a check finds
  comes from the algorithms, not from calibration.
* Each slice's spectrum is shifted in the dispersion direction by a few columns
  (``slice_column_shift``), as the slices of the real IFU sit at different field positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = [
    "DETECTOR_COLUMNS",
    "DISPERSERS",
    "FIRST_USABLE_COLUMN",
    "GAP_COLUMNS",
    "LAST_USABLE_COLUMN",
    "TELESCOPE_AREA_M2",
    "Disperser",
    "get_disperser",
]

DETECTOR_COLUMNS = 2048
"""Columns (and rows) of one NIRSpec H2RG detector."""

FIRST_USABLE_COLUMN = 8
LAST_USABLE_COLUMN = 2039
"""First and last columns that receive light (4 reference columns plus a small margin)."""

GAP_COLUMNS = 170
"""Width of the NRS1–NRS2 gap in detector columns (~17.8" on the sky along the dispersion)."""

TELESCOPE_AREA_M2 = 25.4
"""Collecting area of JWST's primary mirror."""

_PRISM_R_NODES = ((0.6, 80.0), (0.9, 45.0), (1.2, 30.0), (2.0, 60.0), (3.0, 120.0),
                  (4.0, 190.0), (5.3, 300.0))
_PIXELS_PER_RESOLUTION_ELEMENT = 2.2


@dataclass(frozen=True)
class Disperser:
    """One grating/filter combination.

    Parameters
    ----------
    grating, filter : str
        Names as in the GRATING and FILTER header keywords.
    wavelength_min_um, wavelength_max_um : float
        Nominal wavelength range (µm).
    resolving_power : float
        Nominal resolving power (for PRISM, a representative value; see ``prism_r``).
    cube_step_um : float
        Default wavelength step of cubes built from this disperser (µm), as in jwst's
        cube-building parameter reference file.
    detectors : tuple of str
        Detectors that receive light.
    start_column : int
        For PRISM only: NRS1 column of the blue end of the spectrum.
    """

    grating: str
    filter: str
    wavelength_min_um: float
    wavelength_max_um: float
    resolving_power: float
    cube_step_um: float
    detectors: tuple[str, ...]
    start_column: int = FIRST_USABLE_COLUMN

    @property
    def name(self) -> str:
        """``GRATING/FILTER`` string."""
        return f"{self.grating}/{self.filter}"

    @property
    def is_prism(self) -> bool:
        """Whether this is the low-resolution prism."""
        return self.grating == "PRISM"

    # ------------------------------------------------------------------ dispersion
    @property
    def wavelength_range_um(self) -> tuple[float, float]:
        """(min, max) wavelength of the disperser (µm)."""
        return (self.wavelength_min_um, self.wavelength_max_um)

    @cached_property
    def _prism_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Wavelength grid and the virtual column of each wavelength for PRISM."""
        lam = np.linspace(self.wavelength_min_um, self.wavelength_max_um, 4001)
        nodes = np.array(_PRISM_R_NODES)
        r = np.interp(lam, nodes[:, 0], nodes[:, 1])
        # du/dlambda = pixels per micron = 2.2 R / lambda
        dudl = _PIXELS_PER_RESOLUTION_ELEMENT * r / lam
        u = np.concatenate([[0.0], np.cumsum(0.5 * (dudl[1:] + dudl[:-1]) * np.diff(lam))])
        return lam, u + self.start_column

    @property
    def virtual_column_span(self) -> tuple[float, float]:
        """Virtual columns (NRS1 columns, continuing through the gap onto NRS2) of the range."""
        if self.is_prism:
            _, u = self._prism_table
            return float(u[0]), float(u[-1])
        last = LAST_USABLE_COLUMN
        if "NRS2" in self.detectors:
            last = DETECTOR_COLUMNS + GAP_COLUMNS + LAST_USABLE_COLUMN
        return float(FIRST_USABLE_COLUMN), float(last)

    def virtual_column(self, detector: str, column: np.ndarray | float) -> np.ndarray:
        """Convert a detector column to the virtual column that runs across both detectors."""
        column = np.asarray(column, dtype=float)
        if detector == "NRS2":
            return column + DETECTOR_COLUMNS + GAP_COLUMNS
        return column

    def wavelength_of_virtual_column(self, u: np.ndarray | float) -> np.ndarray:
        """Wavelength (µm) at virtual column ``u``; NaN outside the disperser's range."""
        u = np.asarray(u, dtype=float)
        u0, u1 = self.virtual_column_span
        if self.is_prism:
            lam_grid, u_grid = self._prism_table
            lam = np.interp(u, u_grid, lam_grid)
        else:
            lam = self.wavelength_min_um + (u - u0) * self.dispersion_um_per_px
        return np.where((u >= u0) & (u <= u1), lam, np.nan)

    def virtual_column_of_wavelength(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """Inverse of :meth:`wavelength_of_virtual_column`."""
        lam = np.asarray(wavelength_um, dtype=float)
        if self.is_prism:
            lam_grid, u_grid = self._prism_table
            return np.interp(lam, lam_grid, u_grid)
        u0, _ = self.virtual_column_span
        return u0 + (lam - self.wavelength_min_um) / self.dispersion_um_per_px

    @property
    def dispersion_um_per_px(self) -> float:
        """Linear dispersion of a grating (µm per pixel); for PRISM the mean value."""
        u0, u1 = self.virtual_column_span
        return (self.wavelength_max_um - self.wavelength_min_um) / (u1 - u0)

    def pixel_width_um(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """Wavelength width of one detector pixel (µm) at ``wavelength_um``."""
        lam = np.asarray(wavelength_um, dtype=float)
        if not self.is_prism:
            return np.full_like(lam, self.dispersion_um_per_px)
        nodes = np.array(_PRISM_R_NODES)
        r = np.interp(lam, nodes[:, 0], nodes[:, 1])
        return lam / (_PIXELS_PER_RESOLUTION_ELEMENT * r)

    def prism_r(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """Resolving power of PRISM at ``wavelength_um``."""
        nodes = np.array(_PRISM_R_NODES)
        return np.interp(np.asarray(wavelength_um, dtype=float), nodes[:, 0], nodes[:, 1])

    def wavelength_range_on(self, detector: str) -> tuple[float, float]:
        """Wavelength range (µm) that falls on ``detector`` (NaN, NaN if none)."""
        if detector not in self.detectors:
            return (np.nan, np.nan)
        cols = self.virtual_column(detector, np.array([0.0, DETECTOR_COLUMNS - 1.0]))
        lam = self.wavelength_of_virtual_column(np.clip(cols, *self.virtual_column_span))
        return float(np.nanmin(lam)), float(np.nanmax(lam))

    # ------------------------------------------------------------------ throughput
    def throughput(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """Photon-to-electron conversion efficiency (telescope + instrument + detector).

        A smooth, positive curve: 0.30 at the blue end of the range rising to 0.45 at the red
        end, with a gentle quadratic bow. Zero outside the nominal range.
        """
        lam = np.asarray(wavelength_um, dtype=float)
        t = (lam - self.wavelength_min_um) / (self.wavelength_max_um - self.wavelength_min_um)
        eff = 0.30 + 0.15 * t + 0.04 * t * (1.0 - t)
        inside = (t >= 0.0) & (t <= 1.0)
        return np.where(inside, eff, 0.0)


DISPERSERS: dict[str, Disperser] = {
    d.name: d
    for d in (
        Disperser("G140M", "F070LP", 0.70, 1.27, 1000.0, 6.36e-4, ("NRS1",)),
        Disperser("G140M", "F100LP", 0.97, 1.89, 1000.0, 6.36e-4, ("NRS1",)),
        Disperser("G235M", "F170LP", 1.66, 3.17, 1000.0, 1.06e-3, ("NRS1",)),
        Disperser("G395M", "F290LP", 2.87, 5.27, 1000.0, 1.79e-3, ("NRS1",)),
        Disperser("G140H", "F070LP", 0.70, 1.27, 2700.0, 2.35e-4, ("NRS1", "NRS2")),
        Disperser("G140H", "F100LP", 0.97, 1.89, 2700.0, 2.35e-4, ("NRS1", "NRS2")),
        Disperser("G235H", "F170LP", 1.66, 3.17, 2700.0, 3.96e-4, ("NRS1", "NRS2")),
        Disperser("G395H", "F290LP", 2.87, 5.27, 2700.0, 6.65e-4, ("NRS1", "NRS2")),
        Disperser("PRISM", "CLEAR", 0.60, 5.30, 100.0, 5.0e-3, ("NRS1",), start_column=820),
    )
}
"""The supported grating/filter combinations, keyed by ``"GRATING/FILTER"``."""


def get_disperser(grating: str, filter: str) -> Disperser:
    """Look up a grating/filter combination.

    Parameters
    ----------
    grating, filter : str
        Case-insensitive names, e.g. ``"G395H"`` and ``"F290LP"``.

    Returns
    -------
    Disperser

    Raises
    ------
    ValueError
        If the combination is not a NIRSpec IFU configuration; the message lists the valid ones.
    """
    key = f"{grating.upper()}/{filter.upper()}"
    try:
        return DISPERSERS[key]
    except KeyError:
        valid = ", ".join(sorted(DISPERSERS))
        raise ValueError(
            f"{key} is not a NIRSpec IFU grating/filter combination; valid: {valid}"
        ) from None
