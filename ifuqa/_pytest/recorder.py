"""Running one check's evaluations and recording what they measured: one
:class:`~ifuqa.verdicts.record.Record` per metric (or per evaluation that skipped or errored),
in the test report's ``user_properties`` as JSON, so that xdist workers hand them to the
controller (:mod:`ifuqa._pytest.collector`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ifuqa._pytest import gate_hooks as gate
from ifuqa.verdicts.record import Record

RECORD_KEY = "ifuqa_record"
APPLICABILITY_KEY = "ifuqa_applicability"
plots_key = pytest.StashKey[list]()
"""Per test item: ``(record, plot)`` of every metric it recorded (for the HTML report)."""


class CheckRecorder:
    """Runs evaluations for one check and records what they measured.

    Parameters
    ----------
    item : pytest.Item
        The check's test item.
    dataset : object
        The dataset it runs on (:class:`ifuqa.products.Dataset`; anything with a ``name`` and
        optionally a ``truth`` with a ``seed``).
    """

    def __init__(self, item: pytest.Item, dataset: Any) -> None:
        self.item = item
        self.dataset = dataset
        self.dataset_name = getattr(dataset, "name", "?")

    @property
    def check(self) -> str:
        """The check's test function name (without its parameters)."""
        return getattr(self.item, "originalname", None) or self.item.name

    @property
    def seed(self) -> int | None:
        """The scenario seed of a synthetic dataset (None for a user's products)."""
        truth = getattr(self.dataset, "truth", None)
        return truth.seed if truth is not None else None

    def _emit(self, record: Record, plot: dict | None = None) -> Record:
        gate.annotate(self.item, record)  # regression gate (--ifuqa-baseline), if on
        self.item.user_properties.append((RECORD_KEY, json.dumps(record.to_json(),
                                                                 default=float)))
        if plot is not None:
            self.item.stash.setdefault(plots_key, []).append((record, plot))
        return record

    def record_unmeasured(self, issue: str, name: str, verdict: str, message: str) -> Record:
        """Record that an evaluation measured nothing (it skipped or errored).

        Parameters
        ----------
        issue : str
            Known issue.
        name : str
            The evaluation's name.
        verdict : {"skip", "error"}
        message : str
            Why.

        Returns
        -------
        Record
        """
        return self._emit(Record.unmeasured(issue, name, verdict, message, check=self.check,
                                            dataset=self.dataset_name, seed=self.seed))

    def evaluate(self, issue: str, func: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call an evaluation; a missing prerequisite becomes a recorded skip, a bad product a
        recorded error (the test fails with the file and the reason).

        Parameters
        ----------
        issue : str
            Known issue the evaluation belongs to.
        func : callable
            The evaluation (:mod:`ifuqa.evaluate`).
        *args, **kwargs
            Its arguments.

        Returns
        -------
        object
            What the evaluation returns (metric results).
        """
        from ifuqa.evaluate.guard import call_evaluation, screen_for

        screening, unmeasured = screen_for(issue, self.dataset)
        if screening is not None:
            self.item.user_properties.append((APPLICABILITY_KEY, json.dumps(
                {"dataset": self.dataset_name, "issues": screening.applicability})))
        if unmeasured is None:
            value, unmeasured = call_evaluation(func, *args, **kwargs)
            if unmeasured is None:
                return value
        self.record_unmeasured(issue, func.__name__, unmeasured.verdict, unmeasured.message)
        outcome = f"{issue} {func.__name__}: {unmeasured.message}"
        if unmeasured.verdict == "skip":
            pytest.skip(outcome)
        pytest.fail(outcome, pytrace=False)

    def record(self, result: Any) -> Any:
        """Record a :class:`ifuqa.metrics.MetricResult` without judging it.

        Parameters
        ----------
        result : MetricResult
            What a metric measured.

        Returns
        -------
        MetricResult
            ``result``.
        """
        self._emit(Record.from_result(result, check=self.check, dataset=self.dataset_name,
                                      seed=self.seed), plot=result.plot)
        return result

    def judge(self, *results: Any) -> None:
        """Record the results and judge them: the test fails with every failing metric's
        description (and every metric the regression gate fails); when none fails but a metric
        could not decide (its uncertainty straddles the limit), the test is skipped with that
        metric's description — recorded as ``undecided``, never passed.

        Parameters
        ----------
        *results : MetricResult
            What the check's evaluations measured.
        """
        for result in results:
            self.record(result)
        bad = ([r.describe() for r in results if r.verdict in ("fail", "error")]
               + gate.take_failures(self.item))
        if bad:
            pytest.fail("\n".join(bad), pytrace=False)
        undecided = [r.describe() for r in results if r.verdict == "undecided"]
        if undecided:
            pytest.skip("\n".join(undecided))
