"""What runs around every evaluation, in pytest and outside it: the dataset's screening first
(unusable products → an error, a known issue that does not apply → a skip), then the evaluation,
whose :class:`~ifuqa.evaluate.NotApplicable` becomes a skip and whose
:class:`~ifuqa.products.ProductError` an error. The pytest recorder
(:class:`ifuqa._pytest.recorder.CheckRecorder`) and the runner of the shipped checks outside
pytest (:mod:`ifuqa.evaluate.shipped_checks`) both go through it, so a check concludes the same
in both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Unmeasured", "call_evaluation", "screen_for"]


@dataclass(frozen=True)
class Unmeasured:
    """Why an evaluation measured nothing.

    Attributes
    ----------
    verdict : {"skip", "error"}
        ``skip``: the evaluation does not apply; ``error``: a product cannot be used.
    message : str
        Why, naming the file where there is one.
    """

    verdict: str
    message: str


def screen_for(issue: str, dataset: Any) -> tuple[Any, Unmeasured | None]:
    """Screen ``dataset`` before an evaluation of ``issue`` runs on it.

    Parameters
    ----------
    issue : str
        Known issue of the evaluation.
    dataset : Dataset or None
        The dataset (its ``problems``, if any, come from discovery).

    Returns
    -------
    (Screening or None, Unmeasured or None)
        The screening (:func:`ifuqa.products.applicability.screen`; None when the dataset
        already has problems or is None) and, when the evaluation must not run, why.
    """
    problems = list(getattr(dataset, "problems", None) or [])
    screening = None
    if not problems and dataset is not None:
        from ifuqa.products.applicability import screen

        screening = screen(dataset)
        problems = list(screening.unsupported)
        applies = screening.applicability.get(issue)
        if not problems and applies and applies["status"] == "not applicable":
            return screening, Unmeasured("skip", f"not applicable: {applies['reason']}")
    if problems:
        return screening, Unmeasured("error", "; ".join(problems))
    return screening, None


def call_evaluation(func: Callable, *args: Any, **kwargs: Any) -> tuple[Any, Unmeasured | None]:
    """Call an evaluation.

    Parameters
    ----------
    func : callable
        The evaluation (:mod:`ifuqa.evaluate`).
    *args, **kwargs
        Its arguments.

    Returns
    -------
    (object, Unmeasured or None)
        What it returned, or None and why it measured nothing (``NotApplicable``: a skip;
        ``ProductError``: an error).
    """
    from ifuqa.evaluate import NotApplicable
    from ifuqa.products import ProductError

    try:
        return func(*args, **kwargs), None
    except NotApplicable as exc:
        return None, Unmeasured("skip", str(exc))
    except ProductError as exc:
        return None, Unmeasured("error", str(exc))
