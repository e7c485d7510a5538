"""Shared synthetic builds for the project's own tests (power matrix, processing against truth).

Builds go to the same cache as ``pytest --ifuqa`` (pytest's cache folder), guarded by file
locks, so xdist workers and repeated runs share them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ifuqa.datasets import Dataset, SyntheticSpec, build_synthetic
from ifuqa.scenario import catalogue_dir


def cache_root(config: pytest.Config) -> Path:
    """The build cache of this pytest run."""
    from ifuqa.plugin import _cache_root

    return _cache_root(config)


def build(config: pytest.Config, spec: SyntheticSpec) -> Dataset:
    """Build (or reuse) a synthetic dataset."""
    return build_synthetic(spec, cache_root(config))


def scenario_variant(config: pytest.Config, base: str, name: str, **changes: object) -> str:
    """Write a variant of a catalogue scenario (top-level keys, or ``source_*`` keys of the
    first source) into the cache and return its path; the same variant keeps the same file."""
    data = tomllib.loads((catalogue_dir() / f"{base}.toml").read_text())
    data["name"] = name
    for key, value in changes.items():
        if key.startswith("source_"):
            data["sources"][0][key.removeprefix("source_")] = value
        else:
            data[key] = value
    folder = cache_root(config) / "variants"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    text = _to_toml(data)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
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


def _to_toml(data: dict) -> str:
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
