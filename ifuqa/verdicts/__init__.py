"""Verdicts: from metric results to records, results files, baselines and the gate.

Owns the record of one metric (:mod:`~ifuqa.verdicts.record`), the thresholds and tolerances
(:mod:`~ifuqa.verdicts.thresholds`, :mod:`~ifuqa.verdicts.tolerances`) with their one layered
settings reader (:mod:`~ifuqa.verdicts.settings`), the results JSON
(:mod:`~ifuqa.verdicts.results`), baselines (:mod:`~ifuqa.verdicts.baseline`), the one status
engine (:mod:`~ifuqa.verdicts.status`) shared by the regression gate
(:mod:`~ifuqa.verdicts.gate`, :mod:`~ifuqa.verdicts.gate_summary`) and ``ifuqa compare``
(:mod:`~ifuqa.verdicts.compare`), and the power matrix (:mod:`~ifuqa.verdicts.power`). Pure data
handling: may import :mod:`ifuqa.metrics` (the result type) and :mod:`ifuqa.util`; never pytest,
the builds or the processing.
"""
