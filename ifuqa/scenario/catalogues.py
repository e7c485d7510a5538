"""Scenario catalogues: the embedded default catalogue (``ifuqa/scenario/catalogue/``), the
opt-in release catalogue (``ifuqa/scenario/release/``: about 50 scenes spanning gratings,
detectors, source positions, fluxes and dithers, the workload a release gate runs on a cluster)
and any folder of scenario TOML files.
"""

from __future__ import annotations

from pathlib import Path

from ifuqa.scenario.load import catalogue_names
from ifuqa.scenario.schema import ScenarioError

__all__ = ["CATALOGUES", "catalogue_scenarios", "release_dir"]

CATALOGUES = ("default", "release")
"""Names :func:`catalogue_scenarios` accepts besides a folder."""


def release_dir() -> Path:
    """Folder of the release catalogue."""
    return Path(__file__).resolve().parent / "release"


def catalogue_scenarios(catalogue: str | Path) -> list[str]:
    """The scenarios of a catalogue, as :func:`ifuqa.scenario.load_scenario` takes them.

    Parameters
    ----------
    catalogue : str or path
        ``"default"`` (the embedded catalogue: its names), ``"release"`` or a folder of
        ``*.toml`` scenario files (their paths, sorted).

    Returns
    -------
    list of str

    Raises
    ------
    ScenarioError
        When the folder does not exist or holds no scenario file.

    Examples
    --------
    >>> len(catalogue_scenarios("release")) >= 50
    True
    """
    if str(catalogue) == "default":
        return catalogue_names()
    folder = release_dir() if str(catalogue) == "release" else Path(catalogue)
    if not folder.is_dir():
        raise ScenarioError(f"{catalogue}: not a catalogue ({', '.join(CATALOGUES)}) nor a "
                            "folder of scenario files")
    paths = sorted(str(p) for p in folder.glob("*.toml"))
    if not paths:
        raise ScenarioError(f"{folder}: no scenario files (*.toml) in this folder")
    return paths
