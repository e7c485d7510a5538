"""Injection–recovery on real products: does each truth-free check pass the clean product, fail
the same product with its defect injected, and only that check?

Owns the map from each injectable defect to the check it must make fail
(:mod:`~ifuqa.recovery.targets`), running checks on a dataset outside pytest
(:mod:`~ifuqa.recovery.trials`), the real-data power matrix with its cross-talk
(:mod:`~ifuqa.recovery.matrix`) and completeness curves over injection sizes and positions
(:mod:`~ifuqa.recovery.completeness`), and both as a check on a user's products
(:mod:`~ifuqa.recovery.on_products`). May import :mod:`ifuqa.inject`, :mod:`ifuqa.evaluate`,
:mod:`ifuqa.products`, :mod:`ifuqa.verdicts`, :mod:`ifuqa.metrics` and the layers below.
"""

from __future__ import annotations

from ifuqa.recovery.completeness import CompletenessCurve, completeness
from ifuqa.recovery.matrix import PowerEntry, real_power_matrix
from ifuqa.recovery.on_products import injection_recovery
from ifuqa.recovery.targets import TARGETS, Target, targets_for

__all__ = ["TARGETS", "CompletenessCurve", "PowerEntry", "Target", "completeness",
           "injection_recovery", "real_power_matrix", "targets_for"]
