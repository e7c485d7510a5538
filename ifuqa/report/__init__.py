"""The HTML QA report: figures per metric and the report's tables.

Owns how results look to a person: :mod:`ifuqa.report.figures` (PNG figures of the metrics and
the power matrix) and :mod:`ifuqa.report.html` (the summary, applicability and power-matrix
tables). May import :mod:`ifuqa.verdicts`, :mod:`ifuqa.util`, numpy and matplotlib (lazily:
importing this package stays cheap); never the builds, processing or simulation.
"""
