"""Simulation: undersampled NIRSpec IFU scenes with known truth, written as rate files.

Owns the scene's sources (:mod:`~ifuqa.simulate.scene`), their pixel-integrated rendering
(:mod:`~ifuqa.simulate.render`), detector noise (:mod:`~ifuqa.simulate.noise`), artefacts
(:mod:`~ifuqa.simulate.artefacts`), ramps (:mod:`~ifuqa.simulate.ramps`), the exposures and their
rate files (:mod:`~ifuqa.simulate.exposures`), the truth contract read by the checks
(:mod:`~ifuqa.simulate.truth`) and the simulation of a whole scenario
(:mod:`~ifuqa.simulate.observation`). May import :mod:`ifuqa.scenario`, :mod:`ifuqa.instrument`
and :mod:`ifuqa.util`; never the processing: the jwst ramp-fitting stage is handed in
(``simulate(..., ramp_fitter=...)``).
"""

from __future__ import annotations

from ifuqa.simulate.observation import SimulationError, SimulationResult, simulate

__all__ = ["SimulationError", "SimulationResult", "simulate"]
