"""The IFU slicer and its image on the detectors: slices, curved traces and pixel maps.

Coordinates
-----------
* **IFU frame** (arcsec, origin at the IFU centre): ``across`` runs across the 30 slices
  (slice ``k`` covers ``across`` in ``[(k - 15) w, (k - 14) w]`` with ``w`` = 0.103"), ``along``
  runs along a slice (``-1.5" … +1.5"``).
* **Detector** (pipeline/DMS orientation, 0-based pixel centres): the dispersion runs along the
  column index ``x``; each slice's spectrum is a band of ~29 rows stacked along ``y``.

The model
---------
* Slice ``k``'s trace centre is ``y_k(x) = y0_k + t_k(x)``. ``t_k`` is quadratic, following the
  measured ESA ground-test IFU trace shipped with jwst (slope −0.015 px/px at the blue end falling
  to −0.004 px/px 1464 columns later: the trace moves ~14 px over those columns); the slope is
  scaled by ±10 % from slice to slice, and ``y0_k`` carries a slice-specific sub-pixel phase, so
  different slices cross detector rows at different places — the origin of the NS-IFU05 wiggles.
* A pixel of slice ``k`` at ``(x, y)`` sees ``along = (y - y_k(x)) × 0.105"`` with a footprint of
  one pixel along the slice (clipped to the slice ends) and the full slice width across it; the
  tilt of the trace within one pixel (< 0.015 px) is neglected.
* Wavelength depends on the column only: ``λ = λ_disperser(x + shift_k)`` where ``shift_k`` is a
  slice-specific offset of a few columns (the slices sit at different field positions). Spectral
  line tilt along the slice is neglected.
* Pixels more than ``UNILLUMINATED_MARGIN`` rows from every slice band, outside the reference
  pixels, are unilluminated: the mask NSClean fits its background model to.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ifuqa.instrument.dispersers import (
    DETECTOR_COLUMNS,
    FIRST_USABLE_COLUMN,
    LAST_USABLE_COLUMN,
    Disperser,
)

__all__ = [
    "ALONG_SLICE_PIXEL_ARCSEC",
    "FIELD_HALF_ARCSEC",
    "N_SLICES",
    "SLICE_LENGTH_ARCSEC",
    "SLICE_WIDTH_ARCSEC",
    "DetectorPixelMap",
    "pixel_map",
    "slice_across_edges",
    "slice_column_shift",
    "trace_center",
    "unilluminated_mask",
]

N_SLICES = 30
SLICE_WIDTH_ARCSEC = 0.103
ALONG_SLICE_PIXEL_ARCSEC = 0.105
SLICE_LENGTH_ARCSEC = 3.0
FIELD_HALF_ARCSEC: tuple[float, float] = (N_SLICES * SLICE_WIDTH_ARCSEC / 2.0,
                                          SLICE_LENGTH_ARCSEC / 2.0)
"""Half size of the IFU field of view (across the slices, along them): 1.545", 1.5"."""
REFERENCE_PIXELS = 4

SLICE_PITCH_ROWS = 56
"""Rows between the trace centres of adjacent slices: 29 illuminated rows plus a ~27-row
unilluminated gap, so the slice stack spans most of the detector height and every detector
column has unilluminated pixels throughout (what NSClean fits its background model to)."""

FIRST_SLICE_CENTRE_ROW = 212.0
"""Trace-centre row of slice 0 at the reference column."""

UNILLUMINATED_MARGIN = 3
"""Rows beyond a slice band's illuminated rows that still count as (scattered-light) illuminated."""

_TRACE_REFERENCE_COLUMN = 1024.0
_TRACE_SLOPE_BLUE = -0.015  # px/px at the first usable column
_TRACE_SLOPE_CHANGE = 0.011 / 1464.0  # px/px per column


def slice_across_edges(k: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Across-slice edges (arcsec, IFU frame) of slice ``k`` (0-based)."""
    k = np.asarray(k, dtype=float)
    lo = (k - N_SLICES / 2) * SLICE_WIDTH_ARCSEC
    return lo, lo + SLICE_WIDTH_ARCSEC


def slice_column_shift(k: np.ndarray | int) -> np.ndarray:
    """Shift (columns) of slice ``k``'s spectrum along the dispersion."""
    k = np.asarray(k, dtype=float)
    return 6.0 * np.sin(0.9 * k)


def _slope_scale(k: np.ndarray) -> np.ndarray:
    return 1.0 + 0.1 * (k - (N_SLICES - 1) / 2) / ((N_SLICES - 1) / 2)


def _trace_displacement(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Displacement of the trace from its row at the reference column (pixels)."""
    def integral(c: np.ndarray) -> np.ndarray:
        d = c - FIRST_USABLE_COLUMN
        return _TRACE_SLOPE_BLUE * d + 0.5 * _TRACE_SLOPE_CHANGE * d * d

    return _slope_scale(k) * (integral(x) - integral(np.asarray(_TRACE_REFERENCE_COLUMN)))


def trace_center(x: np.ndarray | float, k: np.ndarray | int) -> np.ndarray:
    """Row of slice ``k``'s trace centre (``along = 0``) at column ``x``.

    Parameters
    ----------
    x : array_like
        Detector column(s) (0-based, pixel centres).
    k : array_like of int
        Slice index 0…29.

    Returns
    -------
    numpy.ndarray
        Row coordinate (0-based, fractional).
    """
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    phase = (0.37 * k) % 1.0  # slice-specific sub-pixel phase
    return FIRST_SLICE_CENTRE_ROW + SLICE_PITCH_ROWS * k + phase + _trace_displacement(x, k)


@dataclass(frozen=True)
class DetectorPixelMap:
    """Every illuminated pixel of one detector, with its IFU-frame footprint and wavelength.

    All attributes are 1-D arrays of equal length (one entry per illuminated pixel).

    Attributes
    ----------
    x, y : numpy.ndarray of int
        Detector column and row.
    slice_index : numpy.ndarray of int
        Slice 0…29.
    along_lo, along_hi : numpy.ndarray
        Along-slice extent of the pixel footprint (arcsec, IFU frame).
    across_lo, across_hi : numpy.ndarray
        Across-slice extent (the slice edges, arcsec, IFU frame).
    wavelength_um, dwave_um : numpy.ndarray
        Wavelength of the pixel centre and the pixel's wavelength width (µm).
    """

    detector: str
    disperser: Disperser
    x: np.ndarray
    y: np.ndarray
    slice_index: np.ndarray
    along_lo: np.ndarray
    along_hi: np.ndarray
    across_lo: np.ndarray
    across_hi: np.ndarray
    wavelength_um: np.ndarray
    dwave_um: np.ndarray

    @property
    def along(self) -> np.ndarray:
        """Along-slice coordinate of the footprint centre (arcsec)."""
        return 0.5 * (self.along_lo + self.along_hi)

    @property
    def across(self) -> np.ndarray:
        """Across-slice coordinate of the footprint centre (arcsec)."""
        return 0.5 * (self.across_lo + self.across_hi)

    @property
    def size(self) -> int:
        """Number of illuminated pixels."""
        return int(self.x.size)

    def to_image(self, values: np.ndarray, fill: float = 0.0,
                 shape: tuple[int, int] = (DETECTOR_COLUMNS, DETECTOR_COLUMNS)) -> np.ndarray:
        """Scatter per-pixel ``values`` into a full detector image."""
        image = np.full(shape, fill, dtype=np.result_type(values, np.float32))
        image[self.y, self.x] = values
        return image

    def select(self, keep: np.ndarray) -> DetectorPixelMap:
        """A map restricted to the pixels where ``keep`` is true."""
        return DetectorPixelMap(
            self.detector, self.disperser,
            *(getattr(self, name)[keep] for name in (
                "x", "y", "slice_index", "along_lo", "along_hi", "across_lo", "across_hi",
                "wavelength_um", "dwave_um")),
        )


def pixel_map(
    disperser: Disperser,
    detector: str,
    wavelength_window_um: tuple[float, float] | None = None,
) -> DetectorPixelMap:
    """Map every illuminated pixel of ``detector`` to its slice, footprint and wavelength.

    Parameters
    ----------
    disperser : Disperser
        Grating/filter combination.
    detector : {"NRS1", "NRS2"}
        Detector name.
    wavelength_window_um : (float, float), optional
        Keep only pixels whose wavelength lies in this window (used by reduced-range scenarios).

    Returns
    -------
    DetectorPixelMap
        Empty when the disperser puts no light on ``detector``.
    """
    if detector not in ("NRS1", "NRS2"):
        raise ValueError(f"detector must be NRS1 or NRS2, not {detector!r}")
    columns = np.arange(FIRST_USABLE_COLUMN, LAST_USABLE_COLUMN + 1, dtype=float)
    half_rows = SLICE_LENGTH_ARCSEC / 2 / ALONG_SLICE_PIXEL_ARCSEC
    parts: list[tuple[np.ndarray, ...]] = []
    if detector in disperser.detectors:
        for k in range(N_SLICES):
            u = disperser.virtual_column(detector, columns) + slice_column_shift(k)
            lam = disperser.wavelength_of_virtual_column(u)
            ok = np.isfinite(lam)
            if wavelength_window_um is not None:
                ok &= (lam >= wavelength_window_um[0]) & (lam <= wavelength_window_um[1])
            if not ok.any():
                continue
            xc, lam = columns[ok], lam[ok]
            yc = trace_center(xc, k)
            rows = np.arange(np.floor(yc.min() - half_rows) - 1, np.ceil(yc.max() + half_rows) + 2)
            xx, yy = np.meshgrid(xc, rows)
            ll = np.broadcast_to(lam, xx.shape)
            centre = np.broadcast_to(yc, xx.shape)
            along_c = (yy - centre) * ALONG_SLICE_PIXEL_ARCSEC
            inside = np.abs(along_c) <= SLICE_LENGTH_ARCSEC / 2
            inside &= (yy >= REFERENCE_PIXELS) & (yy < DETECTOR_COLUMNS - REFERENCE_PIXELS)
            half = 0.5 * ALONG_SLICE_PIXEL_ARCSEC
            a_lo = np.maximum(along_c - half, -SLICE_LENGTH_ARCSEC / 2)[inside]
            a_hi = np.minimum(along_c + half, SLICE_LENGTH_ARCSEC / 2)[inside]
            c_lo, c_hi = slice_across_edges(k)
            n = a_lo.size
            lam_in = ll[inside]
            parts.append((
                xx[inside].astype(np.int32), yy[inside].astype(np.int32),
                np.full(n, k, dtype=np.int16), a_lo, a_hi,
                np.full(n, float(c_lo)), np.full(n, float(c_hi)),
                lam_in, disperser.pixel_width_um(lam_in),
            ))
    if not parts:
        empty_i = np.zeros(0, dtype=np.int32)
        empty_f = np.zeros(0)
        return DetectorPixelMap(detector, disperser, empty_i, empty_i,
                                np.zeros(0, dtype=np.int16), *([empty_f] * 6))
    arrays = [np.concatenate(column) for column in zip(*parts, strict=True)]
    return DetectorPixelMap(detector, disperser, *arrays)


def unilluminated_mask(disperser: Disperser, detector: str) -> np.ndarray:
    """Pixels that receive no light (True), excluding reference pixels: NSClean's fit mask.

    Parameters
    ----------
    disperser : Disperser
        Grating/filter combination.
    detector : {"NRS1", "NRS2"}
        Detector name.

    Returns
    -------
    numpy.ndarray of bool, shape (2048, 2048)
        A new array (callers may change it); the mask itself is computed once per disperser
        and detector in each process (0.1 s each time, and the cleaning and the banding check
        ask for it once per exposure).
    """
    return _unilluminated_mask(disperser, detector).copy()


@functools.lru_cache(maxsize=8)
def _unilluminated_mask(disperser: Disperser, detector: str) -> np.ndarray:
    full = pixel_map(disperser, detector)
    mask = np.ones((DETECTOR_COLUMNS, DETECTOR_COLUMNS), dtype=bool)
    if full.size:
        # every row within the margin of an illuminated pixel, column by column
        lit = np.zeros_like(mask)
        lit[full.y, full.x] = True
        grown = lit.copy()
        for shift in range(1, UNILLUMINATED_MARGIN + 1):
            grown[shift:] |= lit[:-shift]
            grown[:-shift] |= lit[shift:]
        mask &= ~grown
    r = REFERENCE_PIXELS
    mask[:r] = mask[-r:] = False
    mask[:, :r] = mask[:, -r:] = False
    return mask
