"""The embedded scenario catalogue (TOML files in ``ifuqa/scenario/catalogue/``) and loading a
scenario by catalogue name or file path.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ifuqa.scenario.parse import parse_scenario
from ifuqa.scenario.schema import Scenario, ScenarioError


def catalogue_dir() -> Path:
    """Folder of the embedded scenario catalogue (``ifuqa/scenario/catalogue/``)."""
    folder = Path(__file__).resolve().parent / "catalogue"
    if not folder.is_dir():
        raise FileNotFoundError(f"the ifuqa scenario catalogue ({folder}) is not installed")
    return folder


def catalogue_names() -> list[str]:
    """Names (file stems) of the catalogue scenarios, sorted."""
    return sorted(p.stem for p in catalogue_dir().glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario from a catalogue name or a TOML file path.

    Parameters
    ----------
    name_or_path : str or path
        A name from :func:`catalogue_names` or the path of a ``.toml`` file.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If the file does not exist, is not valid TOML, or fails validation.
    """
    path = Path(name_or_path)
    if not path.suffix == ".toml" or not path.exists():
        candidate = catalogue_dir() / f"{path.stem if path.suffix == '.toml' else path}.toml"
        if candidate.exists() and not path.exists():
            path = candidate
    if not path.exists():
        names = ", ".join(catalogue_names())
        raise ScenarioError(f"{name_or_path}: no such scenario file or catalogue name "
                            f"(catalogue: {names})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return parse_scenario(data, name=path.stem, origin=str(path))
