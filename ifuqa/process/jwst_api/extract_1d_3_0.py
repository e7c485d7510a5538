"""jwst 3.0.x's ``ifu_autocen`` centring: what differs from the 2.0.x line (see
:mod:`ifuqa.process.jwst_api.extract_1d`, which holds the common code).

jwst 3.0 requires photutils ≥ 3 (#10471) and reads the ``x_centroid``/``y_centroid`` columns of
``DAOStarFinder``'s table unconditionally.
"""

from __future__ import annotations

from ifuqa.process.jwst_api._api import ApiSpec

__all__ = ["AUTOCEN_CENTROID_FINGERPRINT", "REQUIRED_API", "centroid_columns"]

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {}
"""Nothing beyond the common symbols of :mod:`ifuqa.process.jwst_api.extract_1d`."""

AUTOCEN_CENTROID_FINGERPRINT = (
    'sources[indx]["x_centroid"], sources[indx]["y_centroid"]',
)
"""The line of ``extract_ifu`` that reads the centroid (3.0.x)."""


def centroid_columns() -> tuple[str, str]:
    """The centroid columns jwst 3.0.x reads from ``DAOStarFinder``'s table.

    Returns
    -------
    (str, str)
    """
    return "x_centroid", "y_centroid"
