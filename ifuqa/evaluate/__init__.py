"""Known-issue evaluations: each module turns a :class:`ifuqa.products.Dataset` into metric
results for one NS-IFU issue. The pytest checks in ``checks/`` judge these results; the project's
power-matrix tests call the same functions on defect datasets. Raises :class:`NotApplicable`
when the dataset lacks what the evaluation needs.

May import :mod:`ifuqa.products` (reading the dataset's files), :mod:`ifuqa.simulate.truth` (the
truth of synthetic datasets), :mod:`ifuqa.metrics`, :mod:`ifuqa.verdicts` (threshold
definitions), :mod:`ifuqa.instrument` and :mod:`ifuqa.util`; never the builds or pytest."""

from __future__ import annotations

__all__ = ["EVALUATIONS", "NotApplicable"]


class NotApplicable(Exception):
    """The evaluation cannot run on this dataset; the message says why."""


EVALUATIONS = {
    "NS-IFU01": "ifuqa.evaluate.ns_ifu01",
    "NS-IFU02": "ifuqa.evaluate.ns_ifu02",
    "NS-IFU03": "ifuqa.evaluate.ns_ifu03",
    "NS-IFU04": "ifuqa.evaluate.ns_ifu04",
    "NS-IFU05": "ifuqa.evaluate.ns_ifu05",
    "NS-IFU06": "ifuqa.evaluate.ns_ifu06",
}
