"""Running one check's evaluations and recording what they measured (one record per metric, in
the test report's ``user_properties``, so that xdist workers hand them to the controller).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ifuqa._pytest import gate_hooks as gate

RECORD_KEY = "ifuqa_record"
APPLICABILITY_KEY = "ifuqa_applicability"
plots_key = pytest.StashKey[list]()


class CheckRecorder:
    """Runs evaluations for one check and records what they measured."""

    def __init__(self, item: pytest.Item, dataset: Any) -> None:
        self.item = item
        self.dataset = dataset
        self.dataset_name = getattr(dataset, "name", "?")

    def _record(self, issue: str, metric: str, value: Any, unit: str, threshold: Any,
                verdict: str, message: str, plot: dict | None = None,
                sense: str | None = None) -> None:
        record = {"issue": issue, "check": self.item.originalname if hasattr(
            self.item, "originalname") else self.item.name, "dataset": self.dataset_name,
                  "metric": metric, "value": value, "unit": unit, "threshold": threshold,
                  "verdict": verdict, "message": message}
        truth = getattr(self.dataset, "truth", None)
        record.update(sense=sense, seed=truth.seed if truth is not None else None)
        gate.annotate(self.item, record)  # regression gate (--ifuqa-baseline), if on
        self.item.user_properties.append((RECORD_KEY, json.dumps(record, default=float)))
        if plot is not None:
            self.item.stash.setdefault(plots_key, []).append((record, plot))

    def evaluate(self, issue: str, func: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call an evaluation; a missing prerequisite becomes a recorded skip, a bad product a
        recorded error (the test fails with the file and the reason)."""
        from ifuqa.evaluate import NotApplicable
        from ifuqa.products import ProductError

        problems = list(getattr(self.dataset, "problems", None) or [])
        if not problems and self.dataset is not None:
            from ifuqa.products.applicability import screen

            screening = screen(self.dataset)
            self.item.user_properties.append((APPLICABILITY_KEY, json.dumps(
                {"dataset": self.dataset_name, "issues": screening.applicability})))
            problems = list(screening.unsupported)
            applies = screening.applicability.get(issue)
            if not problems and applies and applies["status"] == "not applicable":
                message = f"not applicable: {applies['reason']}"
                self._record(issue, func.__name__, None, "", None, "skip", message)
                pytest.skip(f"{issue} {func.__name__}: {message}")
        if problems:
            message = "; ".join(problems)
            self._record(issue, func.__name__, None, "", None, "error", message)
            pytest.fail(f"{issue} {func.__name__}: {message}", pytrace=False)
        try:
            return func(*args, **kwargs)
        except NotApplicable as exc:
            self._record(issue, func.__name__, None, "", None, "skip", str(exc))
            pytest.skip(f"{issue} {func.__name__}: {exc}")
        except ProductError as exc:
            self._record(issue, func.__name__, None, "", None, "error", str(exc))
            pytest.fail(f"{issue} {func.__name__}: {exc}", pytrace=False)

    def record(self, result: Any) -> Any:
        """Record a :class:`ifuqa.metrics.MetricResult` without judging it."""
        value = float(result.value)
        self._record(result.issue, result.metric, None if value != value else value,
                     result.unit, float(result.threshold), result.verdict, result.message,
                     plot=result.plot, sense=result.sense)
        return result

    def judge(self, *results: Any) -> None:
        """Record the results and fail the test with every failing metric's description (and
        every metric the regression gate fails)."""
        for result in results:
            self.record(result)
        bad = [r.describe() for r in results if not r.passed] + gate.take_failures(self.item)
        if bad:
            pytest.fail("\n".join(bad), pytrace=False)
