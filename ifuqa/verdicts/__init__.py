"""Verdicts: from metric results to records, results files, baselines and the gate.

Owns the thresholds and tolerances with their layered settings, the record of one metric, the
results JSON, baselines and the status rules shared by the regression gate and ``ifuqa
compare``, and the power matrix. Pure data handling: may import :mod:`ifuqa.metrics` (the
result type) and :mod:`ifuqa.util`; never pytest, the builds or the processing.
"""
