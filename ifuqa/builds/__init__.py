"""Synthetic builds: a scenario simulated and processed with a configuration, cached on disk.

Owns the build specification and its content-keyed cache (:mod:`~ifuqa.builds.synthetic`), the
defect datasets of the power matrix (:mod:`~ifuqa.builds.power_rows`) and small exact s3d/x1d
products for tests and benchmarks (:mod:`~ifuqa.builds.analytic_products`). This is where the
simulator is handed jwst's ramp-fitting stage (:func:`simulate_scenario`). May import
:mod:`ifuqa.process`, :mod:`ifuqa.products`, :mod:`ifuqa.simulate`, :mod:`ifuqa.scenario`,
:mod:`ifuqa.verdicts` (the power-row type) and the layers below.
"""

from __future__ import annotations

from ifuqa.builds.simulation import simulate_scenario
from ifuqa.builds.synthetic import SyntheticSpec, build_synthetic

__all__ = ["SyntheticSpec", "build_synthetic", "simulate_scenario"]
