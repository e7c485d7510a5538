"""IFU frame ↔ tangent plane ↔ sky (RA, Dec).

The IFU frame (``across``, ``along`` in arcsec, see :mod:`ifuqa.instrument.layout`) is placed on
the sky by a pointing: the RA/Dec of the IFU centre and the position angle of the ``along`` axis
(degrees east of north). At position angle 0 ``along`` points north and ``across`` points west,
so that a cube displayed north-up has east to the left. The sky is reached through a gnomonic
(TAN) projection about the pointing, computed with astropy's projection models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEG = np.pi / 180.0

__all__ = [
    "Pointing",
    "ifu_to_tangent",
    "sky_to_tangent",
    "tangent_to_ifu",
    "tangent_to_sky",
]

ARCSEC_PER_DEG = 3600.0


@dataclass(frozen=True)
class Pointing:
    """Where the IFU centre points and how the IFU is rotated.

    Attributes
    ----------
    ra_deg, dec_deg : float
        RA/Dec of the IFU centre (degrees).
    pa_deg : float
        Position angle of the IFU ``along`` axis, degrees east of north.
    """

    ra_deg: float
    dec_deg: float
    pa_deg: float = 0.0

    def ifu_to_sky(self, across: np.ndarray, along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """IFU-frame offsets (arcsec) to RA/Dec (degrees)."""
        xi, eta = ifu_to_tangent(across, along, self.pa_deg)
        return tangent_to_sky(xi, eta, self.ra_deg, self.dec_deg)

    def sky_to_ifu(self, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RA/Dec (degrees) to IFU-frame offsets (arcsec)."""
        xi, eta = sky_to_tangent(ra, dec, self.ra_deg, self.dec_deg)
        return tangent_to_ifu(xi, eta, self.pa_deg)

    def offset_by_ifu(self, d_across: float, d_along: float) -> Pointing:
        """The pointing whose IFU centre lies at IFU-frame offset (d_across, d_along)."""
        ra, dec = self.ifu_to_sky(np.array(d_across), np.array(d_along))
        return Pointing(float(ra), float(dec), self.pa_deg)


def ifu_to_tangent(across: np.ndarray, along: np.ndarray,
                   pa_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate IFU-frame offsets to tangent-plane offsets (xi east, eta north; arcsec)."""
    theta = np.deg2rad(pa_deg)
    c, s = np.cos(theta), np.sin(theta)
    across = np.asarray(across, dtype=float)
    along = np.asarray(along, dtype=float)
    return -across * c + along * s, across * s + along * c


def tangent_to_ifu(xi: np.ndarray, eta: np.ndarray,
                   pa_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`ifu_to_tangent`."""
    theta = np.deg2rad(pa_deg)
    c, s = np.cos(theta), np.sin(theta)
    xi = np.asarray(xi, dtype=float)
    eta = np.asarray(eta, dtype=float)
    return -xi * c + eta * s, xi * s + eta * c


def tangent_to_sky(xi: np.ndarray, eta: np.ndarray, ra0: float,
                   dec0: float) -> tuple[np.ndarray, np.ndarray]:
    """Tangent-plane offsets (arcsec, xi east, eta north) about (ra0, dec0) to RA/Dec (deg).

    The gnomonic (TAN) projection in closed form (Calabretta & Greisen 2002), identical to
    astropy's ``Pix2Sky_Gnomonic | RotateNative2Celestial(ra0, dec0, 180)`` (a test checks) and
    ~20x faster on millions of pixel corners.
    """
    x = np.asarray(xi, dtype=float) / ARCSEC_PER_DEG * DEG
    y = np.asarray(eta, dtype=float) / ARCSEC_PER_DEG * DEG
    d0 = np.deg2rad(dec0)
    denom = np.cos(d0) - y * np.sin(d0)
    ra = np.rad2deg(np.arctan2(x, denom)) + ra0
    dec = np.rad2deg(np.arctan2(np.sin(d0) + y * np.cos(d0), np.hypot(x, denom)))
    return np.asarray(ra) % 360.0, np.asarray(dec)


def sky_to_tangent(ra: np.ndarray, dec: np.ndarray, ra0: float,
                   dec0: float) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec (deg) to tangent-plane offsets (arcsec, xi east, eta north) about (ra0, dec0)."""
    a = np.deg2rad(np.asarray(ra, dtype=float) - ra0)
    d = np.deg2rad(np.asarray(dec, dtype=float))
    d0 = np.deg2rad(dec0)
    cos_c = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a)
    x = np.cos(d) * np.sin(a) / cos_c
    y = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a)) / cos_c
    return x / DEG * ARCSEC_PER_DEG, y / DEG * ARCSEC_PER_DEG
