"""Which dither positions' IFU fields cover the source: the guard against field-edge bias.

jwst's cube_build drizzle sets each spaxel to the overlap-weighted mean surface brightness of the
detector pixels that overlap it, from every exposure that reaches it. A spaxel that an exposure
covers only in part receives that exposure's surface brightness *of the covered part*, as if it
held for the whole spaxel. Where an exposure's field edge crosses the PSF core, the covered part
is systematically fainter (source just beyond the edge) or brighter (source just inside) than
the spaxel mean, and the cube's flux and peak move with it. Measured 2026-12-07 on
``rel_g395h_f290lp_nrs1_edge`` (G395H, 3.38-3.51 um, FWHM 0.137", noiseless, the cube's flux
summed over all spaxels against the truth, with the field edges of two of the four nod positions
at the given distances from the source; the other two positions alone give 0.982):

===========================================  =========  ==========
edges of positions 1, 3 from the source        total      peak
===========================================  =========  ==========
0.11", 0.06" outside (the release scene)       0.947      -2.7 %
0.04", 0.09" inside                            1.015      +4.8 %
0.19", 0.24" inside                            0.989      +0.1 %
0.26", 0.21" outside                           0.979       0.0 %
===========================================  =========  ==========

This is the algorithm of the real pipeline, not an artefact of the simulation: the same C kernel
(``cube_match_sky_driz``) and the same normalisation (``IFUCubeData.find_spaxel_flux``).
A check that compares a cube's flux or PSF core with the truth or a smooth model cannot tell
that bias from the issue it tests while an exposure's field edge runs through the core, so it
is not applicable there (:func:`require_clear_of_field_edges`).

The field of an exposure is its cal file's ``S_REGION`` polygon (jwst's ``assign_wcs`` writes
it), else, for exposures ifuqa simulated (``IFQ_PSF`` in the primary header), the instrument
model's field (:mod:`ifuqa.instrument.layout`) at the exposure's pointing (``RA_REF``,
``DEC_REF``, ``ROLL_REF``, as processing reads them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.instrument.layout import FIELD_HALF_ARCSEC
from ifuqa.instrument.sky import Pointing, sky_to_tangent

if TYPE_CHECKING:
    from ifuqa.products import Cube
    from ifuqa.products.dataset import Dataset

__all__ = ["EDGE_MARGIN_FWHM", "FieldCoverage", "circle_coverage", "position_fields",
           "require_clear_of_field_edges"]

EDGE_MARGIN_FWHM = 1.5
"""How close (PSF FWHM at the red end of the cube) an exposure's field edge may come to the
source before the drizzle coverage bias matters: edges 0.21-0.26" (1.5-1.9 FWHM) from the source
moved the cube's flux by -0.3 %, edges 0.04-0.11" (0.3-0.8 FWHM) by -3.6 to +3.3 % and its peak
by -2.7 to +4.8 % (the table above)."""


@dataclass(frozen=True)
class FieldCoverage:
    """How the dither positions' fields cover a circle on the sky.

    Attributes
    ----------
    full, edge, outside : tuple of int
        Dither positions (``PATT_NUM``) whose field holds the whole circle, whose field edge
        crosses it, and whose field misses it.
    radius_arcsec : float
        The circle's radius.
    known_from : str
        Where the fields were read from.
    """

    full: tuple[int, ...]
    edge: tuple[int, ...]
    outside: tuple[int, ...]
    radius_arcsec: float
    known_from: str

    def evidence(self) -> dict[str, Any]:
        """The record of the coverage for a result's evidence."""
        return {"positions_covering": list(self.full), "positions_edge_crossing": list(self.edge),
                "positions_outside": list(self.outside),
                "edge_margin_arcsec": self.radius_arcsec, "fields_from": self.known_from}


def _s_region_polygon(value: str) -> tuple[np.ndarray, np.ndarray] | None:
    """RA/Dec vertices (deg) of an ``S_REGION`` ``POLYGON [frame] ra dec ...`` string."""
    words = str(value).split()
    if not words or words[0].upper() != "POLYGON":
        return None
    numbers = []
    for word in words[1:]:
        try:
            numbers.append(float(word))
        except ValueError:
            continue  # the frame name (ICRS)
    if len(numbers) < 6 or len(numbers) % 2:
        return None
    xy = np.asarray(numbers).reshape(-1, 2)
    return xy[:, 0], xy[:, 1]


def _model_field(header: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The instrument model's field corners on the sky for an ifuqa-simulated exposure."""
    if header.get("RA_REF") is None or header.get("DEC_REF") is None:
        return None
    pointing = Pointing(float(header["RA_REF"]), float(header["DEC_REF"]),
                        float(header.get("ROLL_REF") or 0.0))
    a, b = FIELD_HALF_ARCSEC
    ra, dec = pointing.ifu_to_sky(np.array([-a, a, a, -a]), np.array([-b, -b, b, b]))
    return np.asarray(ra), np.asarray(dec)


def position_fields(cal_files: list[Path]) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]],
                                                      str] | None:
    """The field polygon (RA, Dec vertices in degrees) of every dither position of the cal files.

    Parameters
    ----------
    cal_files : list of path
        The exposures combined into the cube (only their headers are read).

    Returns
    -------
    (dict, str) or None
        Position number (``PATT_NUM``) → field polygon, and where the fields came from; None
        when any file lacks its position number or a field (no ``S_REGION`` and not simulated
        by ifuqa).
    """
    from ifuqa.products.probe import probe_fits

    fields: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    sources = set()
    for path in cal_files:
        headers = probe_fits(Path(path))
        merged: dict[str, Any] = {}
        for header in reversed(headers):  # the primary header wins
            merged.update({k: header[k] for k in header if k})
        if merged.get("PATT_NUM") is None:
            return None
        polygon = None
        if merged.get("S_REGION"):
            polygon, source = _s_region_polygon(merged["S_REGION"]), "S_REGION of the cal files"
        elif "IFQ_PSF" in headers[0]:
            polygon, source = _model_field(merged), ("ifuqa's IFU field at RA_REF/DEC_REF/"
                                                     "ROLL_REF of the cal files")
        if polygon is None:
            return None
        sources.add(source)
        fields.setdefault(int(merged["PATT_NUM"]), polygon)
    if not fields:
        return None
    return fields, "; ".join(sorted(sources))


def _boundary_distance(x: np.ndarray, y: np.ndarray) -> tuple[bool, float]:
    """(origin inside, distance from the origin to the boundary) of a polygon (arcsec)."""
    x0, y0 = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    dx, dy = x1 - x0, y1 - y0
    length2 = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
    t = np.clip(-(x0 * dx + y0 * dy) / length2, 0.0, 1.0)
    distance = float(np.min(np.hypot(x0 + t * dx, y0 + t * dy)))
    crossing = ((y0 > 0) != (y1 > 0)) & (0 < x0 + (0 - y0) * dx / np.where(dy == 0, 1.0, dy))
    return bool(np.count_nonzero(crossing) % 2), distance


def circle_coverage(cal_files: list[Path], ra_deg: float, dec_deg: float,
                    radius_arcsec: float) -> FieldCoverage | None:
    """Which dither positions' fields hold, cut or miss a circle on the sky.

    Parameters
    ----------
    cal_files : list of path
        The exposures combined into the cube.
    ra_deg, dec_deg : float
        The circle's centre.
    radius_arcsec : float
        Its radius.

    Returns
    -------
    FieldCoverage or None
        None when the fields are unknown (:func:`position_fields`).
    """
    found = position_fields(cal_files)
    if found is None:
        return None
    fields, known_from = found
    full, edge, outside = [], [], []
    for position, (ra, dec) in sorted(fields.items()):
        x, y = sky_to_tangent(ra, dec, ra_deg, dec_deg)
        inside, distance = _boundary_distance(x, y)
        if distance < radius_arcsec:
            edge.append(position)
        else:
            (full if inside else outside).append(position)
    return FieldCoverage(tuple(full), tuple(edge), tuple(outside), float(radius_arcsec),
                         known_from)


def require_clear_of_field_edges(dataset: Dataset, cube: Cube, center_xy: tuple[float, float],
                                 *, what: str) -> FieldCoverage | None:
    """NotApplicable when a dither position's field edge passes within
    :data:`EDGE_MARGIN_FWHM` PSF FWHM of the source in ``cube``.

    Parameters
    ----------
    dataset : Dataset
        Its cal files are the exposures of the cube.
    cube : Cube
        The cube (its WCS puts ``center_xy`` on the sky; its PSF FWHM sets the margin).
    center_xy : (float, float)
        The source position in the cube (0-based spaxels).
    what : str
        What the caller measures, for the reason.

    Returns
    -------
    FieldCoverage or None
        The coverage when no edge is near (None when the fields are unknown: no decision).

    Raises
    ------
    NotApplicable
        When an edge crosses the circle.
    """
    from ifuqa.instrument.psf import cube_fwhm_arcsec

    if not dataset.cal or not all(np.isfinite(center_xy)):
        return None
    fwhm = float(np.nanmax(cube_fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    mid = np.array([float(np.nanmedian(cube.wavelength_um))])
    ra, dec = cube.pixel_to_sky(np.array([center_xy[0]]), np.array([center_xy[1]]), mid)
    coverage = circle_coverage(list(dataset.cal), float(ra[0]), float(dec[0]),
                               EDGE_MARGIN_FWHM * fwhm)
    if coverage is None or not coverage.edge:
        return coverage
    edges = ", ".join(str(p) for p in coverage.edge)
    raise NotApplicable(
        f"the IFU field edge of dither position(s) {edges} (of "
        f"{len(coverage.full) + len(coverage.edge) + len(coverage.outside)}) passes within "
        f"{coverage.radius_arcsec:.2f}\" ({EDGE_MARGIN_FWHM:g} FWHM) of the source: drizzle "
        "averages each spaxel over the exposures that overlap it, so where a field edge runs "
        "through the PSF core the cube's flux and peak move by a few % (measured -3.6 to "
        f"+3.3 % in flux, -2.7 to +4.8 % at the peak), which {what} cannot tell from the issue "
        f"it tests ({coverage.known_from})")
