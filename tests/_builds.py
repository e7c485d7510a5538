"""Shared synthetic builds for the project's own tests (power matrix, processing against truth).

Builds go to the same cache as ``pytest --ifuqa`` (pytest's cache folder), guarded by file
locks, so xdist workers and repeated runs share them.
"""

from __future__ import annotations

import pytest

from ifuqa._pytest.options import cache_root
from ifuqa.builds.synthetic import SyntheticSpec, build_synthetic
from ifuqa.products.dataset import Dataset
from ifuqa.scenario import variants


def build(config: pytest.Config, spec: SyntheticSpec) -> Dataset:
    """Build (or reuse) a synthetic dataset."""
    return build_synthetic(spec, cache_root(config))


def scenario_variant(config: pytest.Config, base: str, name: str, **changes: object) -> str:
    """Write a variant of a catalogue scenario (top-level keys, or ``source_*`` keys of the
    first source) into the cache and return its path; the same variant keeps the same file
    (see :func:`ifuqa.scenario.variants.scenario_variant`)."""
    return variants.scenario_variant(cache_root(config), base, name, **changes)
