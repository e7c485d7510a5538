"""jwst 2.0.x's ``ifu_autocen`` centring: what differs from the 3.0.x line (see
:mod:`ifuqa.process.jwst_api.extract_1d`, which holds the common code).

jwst 2.0.x accepts photutils 2.x (``>=2.1,<3``), whose ``DAOStarFinder`` names the centroid
columns ``xcentroid``/``ycentroid``; photutils renamed them ``x_centroid``/``y_centroid`` after
2.3.0. ``extract_ifu`` picks the name with ``minversion(photutils, "2.3.1.dev")``; this module
makes the same switch (so with the photutils 2.x jwst 2.0.x installs with, ``xcentroid``).
"""

from __future__ import annotations

from ifuqa.process.jwst_api._api import ApiSpec

__all__ = ["AUTOCEN_CENTROID_FINGERPRINT", "REQUIRED_API", "centroid_columns"]

_EXTRACT_MOD = "jwst.extract_1d.ifu"

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    (_EXTRACT_MOD, "photutils"): None,
    (_EXTRACT_MOD, "minversion"): None,
}
"""The module-level names jwst 2.0.x's column switch uses."""

PHOTUTILS_RENAMED = "2.3.1.dev"
"""The photutils version from which jwst 2.0.x reads ``x_centroid`` (its ``minversion``)."""

AUTOCEN_CENTROID_FINGERPRINT = (
    f'if minversion(photutils, "{PHOTUTILS_RENAMED}"):',
    'sources[indx]["x_centroid"], sources[indx]["y_centroid"]',
    'sources[indx]["xcentroid"], sources[indx]["ycentroid"]',
)
"""The lines of ``extract_ifu`` that choose and read the centroid columns (2.0.x)."""


def centroid_columns() -> tuple[str, str]:
    """The centroid columns jwst 2.0.x reads from ``DAOStarFinder``'s table with the installed
    photutils.

    Returns
    -------
    (str, str)
    """
    import photutils
    from astropy.utils import minversion

    if minversion(photutils, PHOTUTILS_RENAMED):
        return "x_centroid", "y_centroid"
    return "xcentroid", "ycentroid"
