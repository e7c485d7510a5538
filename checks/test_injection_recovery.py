"""Injection–recovery on the user's own products: each truth-free check fails a copy of them with
its own defect injected (completeness over sizes and positions), and no other issue's check does.

Runs with ``--ifuqa-data … --ifuqa-power-matrix``; the synthetic catalogue has its defect
datasets instead (the power matrix), so there it does not apply.
"""

import pytest

from ifuqa.recovery.targets import TARGETS

pytestmark = pytest.mark.injection_recovery


@pytest.mark.parametrize("injection", [
    pytest.param(t.injection, marks=getattr(pytest.mark, t.issue.lower().replace("-", "_")))
    for t in TARGETS])
def test_injection_recovery(injection, ifuqa_dataset, ifuqa_check, ifuqa_thresholds, request,
                            tmp_path):
    """The check of this defect catches it, injected into copies of these products, in 95 % of
    positions below 2.5 × its threshold, and the defect makes no other issue's check fail."""
    from ifuqa._pytest.options import power_on
    from ifuqa.recovery import injection_recovery
    from ifuqa.recovery.on_products import target_named

    target = target_named(injection)
    if ifuqa_dataset.synthetic:
        pytest.skip(f"{target.issue} injection–recovery: not applicable: the synthetic catalogue "
                    "is tested by its defect datasets (the power matrix)")
    if not power_on(request.config):
        pytest.skip(f"{target.issue} injection–recovery: runs with --ifuqa-power-matrix "
                    "(it re-runs the check on tens of injected copies)")
    ifuqa_check.judge(*ifuqa_check.evaluate(target.issue, injection_recovery, ifuqa_dataset,
                                            injection, ifuqa_thresholds, tmp_path))
