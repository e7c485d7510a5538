"""Running the shipped checks (``checks/test_ns_ifu0N_*.py``) on one dataset outside pytest: the
one runner of ``ifuqa explore`` (every drawn scene) and of the real-data power matrix and
completeness curves (:mod:`ifuqa.recovery`: every injected copy of a product).

The check functions are the very ones ``pytest --ifuqa`` runs: each is called with
``ifuqa_dataset``, ``ifuqa_thresholds`` and an ``ifuqa_check`` recorder that behaves like the
plugin's (:class:`ifuqa._pytest.recorder.CheckRecorder`): the product screening first, an
evaluation that does not apply recorded as a skip, a bad product as an error, every metric
judged. A check that raises anything else is recorded as an error with the exception — a bug
of ifuqa's or a breakdown of the chain, which a search reports like a failing metric. Which
checks need the truth of a synthetic scene is not listed anywhere: on products without it their
evaluations say so (a skip), as in pytest.
"""

from __future__ import annotations

import importlib.util
import inspect
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ifuqa.evaluate.guard import call_evaluation, screen_for
from ifuqa.util.known_issues import ISSUES, marker_name
from ifuqa.verdicts.record import Record

__all__ = ["FAILING", "CheckRun", "checks_dir", "issue_checks", "run_checks", "shipped_checks"]

FAILING = ("fail", "error")
"""Verdicts that make a scene a finding (as they fail the check's test in pytest)."""


def checks_dir() -> Path:
    """The folder of the known-issue checks (the repository's ``checks/`` or the installed
    copy inside the package)."""
    package = Path(__file__).resolve().parent.parent
    repo = package.parent / "checks"
    return repo if repo.is_dir() else package / "_checks"


class _Stop(Exception):
    """Ends a check early (what ``pytest.skip``/``pytest.fail`` do in the plugin)."""


@dataclass
class CheckRun:
    """What the checks of one issue measured on one dataset.

    Attributes
    ----------
    issue : str
        Known issue.
    dataset : str
        Dataset label.
    records : list of Record
        One per metric (or per evaluation that skipped or errored), in check order.
    results : list of (str, MetricResult)
        ``(check, result)`` of every measured metric (with its plot data, for figures).
    """

    issue: str
    dataset: str
    records: list[Record] = field(default_factory=list)
    results: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def failing(self) -> list[Record]:
        """The records whose verdict fails their check."""
        return [r for r in self.records if r.verdict in FAILING]

    @property
    def failed(self) -> bool:
        """Whether any check fails."""
        return bool(self.failing)


class _Recorder:
    """The ``ifuqa_check`` fixture, for one check on one dataset."""

    def __init__(self, run: CheckRun, check: str, dataset: Any) -> None:
        self.run = run
        self.check = check
        self.dataset = dataset
        truth = getattr(dataset, "truth", None)
        self.seed = truth.seed if truth is not None else None

    def unmeasured(self, issue: str, name: str, verdict: str, message: str) -> None:
        self.run.records.append(Record.unmeasured(issue, name, verdict, message,
                                                  check=self.check, dataset=self.run.dataset,
                                                  seed=self.seed))

    def evaluate(self, issue: str, func: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run an evaluation through :mod:`ifuqa.evaluate.guard` (as the plugin's recorder
        does); what it could not measure is recorded and ends the check."""
        _, unmeasured = screen_for(issue, self.dataset)
        if unmeasured is None:
            value, unmeasured = call_evaluation(func, *args, **kwargs)
            if unmeasured is None:
                return value
        self.unmeasured(issue, func.__name__, unmeasured.verdict, unmeasured.message)
        raise _Stop

    def record(self, result: Any) -> Any:
        self.run.records.append(Record.from_result(result, check=self.check,
                                                   dataset=self.run.dataset, seed=self.seed))
        self.run.results.append((self.check, result))
        return result

    def judge(self, *results: Any) -> None:
        for result in results:
            self.record(result)


def _module_of(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"ifuqa_shipped_checks.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the checks module {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _checks_in(folder: str) -> tuple[tuple[str, str, Callable], ...]:
    """``(issue, name, function)`` of every check in the folder, in file order."""
    found = []
    for issue in ISSUES:
        for path in sorted(Path(folder).glob(f"test_{marker_name(issue)}_*.py")):
            module = _module_of(path)
            found += [(issue, name, func) for name, func in vars(module).items()
                      if name.startswith("test_") and inspect.isfunction(func)
                      and func.__module__ == module.__name__]
    return tuple(found)


def shipped_checks(folder: Path | None = None) -> dict[str, tuple[str, Callable]]:
    """Every shipped check: name → ``(issue, function)``, in known-issue and file order.

    Parameters
    ----------
    folder : path, optional
        The checks folder (default :func:`checks_dir`).

    Returns
    -------
    dict
    """
    return {name: (issue, func)
            for issue, name, func in _checks_in(str(Path(folder or checks_dir()).resolve()))}


def issue_checks(issue: str, checks_dir: Path) -> list[tuple[str, Callable]]:
    """The check functions of one known issue, ``(name, function)`` in file order.

    Parameters
    ----------
    issue : str
        Known issue (``"NS-IFU04"``).
    checks_dir : path
        The checks folder (:func:`checks_dir`).

    Returns
    -------
    list of (str, callable)

    Raises
    ------
    LookupError
        When the folder has no check of the issue.
    """
    found = [(name, func) for i, name, func in _checks_in(str(Path(checks_dir).resolve()))
             if i == issue]
    if not found:
        raise LookupError(f"no checks of {issue} in {checks_dir} "
                          f"(expected test_{marker_name(issue)}_*.py)")
    return found


def run_checks(issue: str | None, dataset: Any, thresholds: Any, folder: Path | None = None,
               *, only: Iterable[str] | None = None) -> CheckRun:
    """Run the shipped checks of ``issue`` (None: of every known issue) on ``dataset``.

    Parameters
    ----------
    issue : str or None
        Known issue, or None for all.
    dataset : Dataset
        The dataset.
    thresholds : Thresholds
        :class:`ifuqa.verdicts.thresholds.Thresholds`.
    folder : path, optional
        The checks folder (default :func:`checks_dir`).
    only : iterable of str, optional
        Run only these checks (names).

    Returns
    -------
    CheckRun
    """
    folder = Path(folder) if folder is not None else checks_dir()
    chosen = (shipped_checks(folder) if issue is None
              else {name: (issue, func) for name, func in issue_checks(issue, folder)})
    if only is not None:
        wanted = set(only)
        unknown = wanted - set(chosen)
        if unknown:
            raise LookupError(f"no shipped check named {sorted(unknown)} in {folder}")
        chosen = {name: entry for name, entry in chosen.items() if name in wanted}
    run = CheckRun(issue or "all", getattr(dataset, "name", "?"))
    for name, (check_issue, func) in chosen.items():
        recorder = _Recorder(run, name, dataset)
        fixtures = {"ifuqa_dataset": dataset, "ifuqa_check": recorder,
                    "ifuqa_thresholds": thresholds}
        params = inspect.signature(func).parameters
        missing = [p for p in params if p not in fixtures]
        if missing:
            recorder.unmeasured(check_issue, name, "error",
                                 f"the check needs fixtures this runner does not provide: "
                                 f"{missing}")
            continue
        try:
            func(**{p: fixtures[p] for p in params})
        except _Stop:
            pass
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            recorder.unmeasured(
                check_issue, name, "error",
                f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})")
    return run
