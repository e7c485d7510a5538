"""Simulating a scenario with the processing layer's ramp-fitting stage wired in."""

from __future__ import annotations

from pathlib import Path

from ifuqa.process.jwst_api.ramp_fitting import fit_ramps
from ifuqa.scenario import Scenario
from ifuqa.simulate import SimulationResult, simulate

__all__ = ["simulate_scenario"]


def simulate_scenario(scenario: Scenario, out_dir: str | Path, *, seed: int | None = None,
                      noiseless: bool = False) -> SimulationResult:
    """:func:`ifuqa.simulate.simulate` with jwst's jump and ramp-fit steps as the ramp fitter.

    Parameters
    ----------
    scenario : Scenario
        What to simulate.
    out_dir : path
        Output folder.
    seed : int, optional
        Overrides the scenario's seed.
    noiseless : bool
        Switch off every noise term and artefact.

    Returns
    -------
    SimulationResult
    """
    return simulate(scenario, out_dir, seed=seed, noiseless=noiseless, ramp_fitter=fit_ramps)
