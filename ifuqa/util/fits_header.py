"""Writing keywords into the primary header of a FITS file ifuqa has just written."""

from __future__ import annotations

from pathlib import Path

__all__ = ["add_primary_keywords"]


def add_primary_keywords(path: Path, keywords: dict[str, object]) -> None:
    """Write ``keywords`` into the primary header of ``path`` (a product ifuqa just wrote).

    A ``"HISTORY"`` entry is a list of lines added as HISTORY cards; every other entry is a
    keyword/value card.
    """
    from astropy.io import fits

    with fits.open(path, mode="update") as hdul:
        for key, value in keywords.items():
            if key == "HISTORY":
                for line in value:  # type: ignore[union-attr]
                    hdul[0].header.add_history(line)
            else:
                hdul[0].header[key] = value
