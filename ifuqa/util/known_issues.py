"""The NIRSpec IFU known issues ifuqa checks (the instrument team's "NS-IFU" numbering)."""

from __future__ import annotations

__all__ = ["ISSUES", "KNOWN_ISSUES", "marker_name"]

KNOWN_ISSUES: dict[str, str] = {
    "NS-IFU01": "holes at the PSF peak from over-eager outlier rejection",
    "NS-IFU02": "point-source flux that changes with the output spaxel size",
    "NS-IFU03": "1/f noise: banding in count-rate images, undulations in extracted spectra",
    "NS-IFU04": "extraction apertures that miss the source",
    "NS-IFU05": "sinusoidal wiggles in spectra of undersampled point sources",
    "NS-IFU06": "centroids that drift with wavelength",
}
"""Known-issue ID -> what a user sees."""

ISSUES: tuple[str, ...] = tuple(KNOWN_ISSUES)
"""The known-issue IDs, in order."""


def marker_name(issue: str) -> str:
    """The pytest marker of a known issue's checks (``"NS-IFU05"`` -> ``"ns_ifu05"``)."""
    return issue.lower().replace("-", "_")
