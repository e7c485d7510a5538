"""Shared synthetic builds for the project's own tests (power matrix, processing against truth).

Builds go to the same cache as ``pytest --ifuqa`` (pytest's cache folder), guarded by file
locks, so xdist workers and repeated runs share them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ifuqa import variants
from ifuqa.datasets import Dataset, SyntheticSpec, build_synthetic


def cache_root(config: pytest.Config) -> Path:
    """The build cache of this pytest run."""
    from ifuqa.plugin import _cache_root

    return _cache_root(config)


def build(config: pytest.Config, spec: SyntheticSpec) -> Dataset:
    """Build (or reuse) a synthetic dataset."""
    return build_synthetic(spec, cache_root(config))


def scenario_variant(config: pytest.Config, base: str, name: str, **changes: object) -> str:
    """Write a variant of a catalogue scenario (top-level keys, or ``source_*`` keys of the
    first source) into the cache and return its path; the same variant keeps the same file
    (see :func:`ifuqa.variants.scenario_variant`)."""
    return variants.scenario_variant(cache_root(config), base, name, **changes)
