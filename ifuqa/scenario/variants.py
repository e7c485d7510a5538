"""Variants of catalogue scenarios, written as TOML files into a cache folder.

A variant changes a few top-level keys of a catalogue scenario (or, with a ``source_`` prefix,
keys of its first source), e.g. a larger injected centroid drift for the NS-IFU06 row of the
power matrix. The same variant always gets the same file (path and text), so synthetic builds of
it are cached like those of catalogue scenarios — and shared between ``pytest --ifuqa`` and the
project's own tests.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ifuqa.util.atomic import atomic_write

__all__ = ["scenario_variant", "to_toml"]


def scenario_variant(cache_root: Path, base: str, name: str, **changes: object) -> str:
    """Write a variant of a catalogue scenario and return its path.

    Parameters
    ----------
    cache_root : path
        Build cache folder; the variant goes to ``cache_root / "variants" / f"{name}.toml"``.
    base : str
        Catalogue scenario the variant starts from.
    name : str
        The variant's scenario name (also its file stem and dataset label).
    **changes
        Top-level keys to set, or ``source_KEY`` for ``KEY`` of the first source.

    Returns
    -------
    str
        Path of the TOML file (rewritten only when its text changes, atomically, so that
        pytest-xdist workers may call this concurrently).

    Examples
    --------
    >>> path = scenario_variant(tmp, "drift_point_g235m", "drift_20mas",
    ...                         source_drift_mas=[12.0, 16.0])  # doctest: +SKIP
    """
    from ifuqa.scenario import catalogue_dir

    data = tomllib.loads((catalogue_dir() / f"{base}.toml").read_text())
    data["name"] = name
    for key, value in changes.items():
        if key.startswith("source_"):
            data["sources"][0][key.removeprefix("source_")] = value
        else:
            data[key] = value
    folder = Path(cache_root) / "variants"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    text = to_toml(data)
    if not path.is_file() or path.read_text() != text:
        atomic_write(path, lambda fh: fh.write(text))
    return str(path)


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def to_toml(data: dict) -> str:
    """The scenario dictionary as TOML text (the subset of TOML scenarios use)."""
    lines = []
    tables = {}
    for key, value in data.items():
        if isinstance(value, dict):
            tables[key] = value
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables[key] = value
        else:
            lines.append(f"{key} = {_value(value)}")
    for key, value in tables.items():
        if isinstance(value, dict):
            lines.append(f"\n[{key}]")
            lines.extend(f"{k} = {_value(v)}" for k, v in value.items())
        else:
            for item in value:
                lines.append(f"\n[[{key}]]")
                lines.extend(f"{k} = {_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"
