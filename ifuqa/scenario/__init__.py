"""Scenarios: what a synthetic NIRSpec IFU observation is, read from TOML.

Owns the scenario schema (:mod:`~ifuqa.scenario.schema`), its parsing and validation
(:mod:`~ifuqa.scenario.parse`), the embedded catalogue of TOML files and loading by name or path
(:mod:`~ifuqa.scenario.load`), and variants of catalogue scenarios written into a cache
(:mod:`~ifuqa.scenario.variants`). May import :mod:`ifuqa.instrument` (to validate gratings and
filters) and :mod:`ifuqa.util`; nothing above.

The format is documented in the README ("Scenario format").
"""

from __future__ import annotations

from ifuqa.scenario.load import catalogue_dir, catalogue_names, load_scenario
from ifuqa.scenario.parse import parse_scenario
from ifuqa.scenario.schema import (
    DITHER_PATTERNS,
    READOUT_GROUP_TIME_S,
    LineSpec,
    NoiseSpec,
    Scenario,
    ScenarioError,
    SourceSpec,
)

__all__ = [
    "DITHER_PATTERNS",
    "READOUT_GROUP_TIME_S",
    "LineSpec",
    "NoiseSpec",
    "Scenario",
    "ScenarioError",
    "SourceSpec",
    "catalogue_dir",
    "catalogue_names",
    "load_scenario",
    "parse_scenario",
]
