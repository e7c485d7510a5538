"""The search: draw scenes for a known issue, build and check each, and let Hypothesis shrink
the first failing one to a minimal scene.

:func:`explore_issue` runs :func:`hypothesis.find` over :func:`issue_strategy` (the
:mod:`ifuqa.strategies` scenes bounded by the issue's
:class:`~ifuqa.builds.exploration.ExplorationProfile`) with the predicate "the issue's checks
fail on this scene" (:func:`ifuqa.evaluate.shipped_checks.run_checks` on
:func:`ifuqa.builds.exploration.build_exploration`). Every outcome is cached by content (the
scene's TOML, the issue, the defects, the thresholds, the versions), so a scene met again — in
shrinking, or replayed from Hypothesis's example database in a later run — costs a file read.
Failing scenes are kept in that database (one key per issue and defects) and replayed first
next time; a scene that no longer fails is dropped from it by Hypothesis. A seeded search
(``seed``) is reproducible instead: Hypothesis then uses no database.

Shrinking costs one build per candidate. After the first failure at most ``shrink_budget`` new
scenes are built; later candidates are reported to Hypothesis as not failing without being
built (counted as ``not built``), which ends the shrink. The scene returned is always one that
was built and failed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from random import Random
from typing import Any

from ifuqa.builds.exploration import (
    PROFILES,
    build_exploration,
    full_chain_scenario,
)
from ifuqa.evaluate.shipped_checks import FAILING, CheckRun, run_checks
from ifuqa.explore.outcomes import Example, IssueExploration
from ifuqa.explore.steering import closeness, steer
from ifuqa.scenario.schema import Scenario
from ifuqa.scenario.write import scenario_toml
from ifuqa.util.atomic import atomic_write
from ifuqa.util.known_issues import ISSUES
from ifuqa.verdicts.record import Record

__all__ = ["DEFAULT_SHRINK_BUDGET", "build_root", "database_key", "explore_issue",
           "issue_strategy", "replay"]

DEFAULT_SHRINK_BUDGET = 12
"""New scenes built while shrinking (each costs a build: ~10-15 s)."""

STRATEGY_VERSION = "1"
"""Part of the example-database key: bump when :func:`issue_strategy` draws differently, so
that stored choice sequences are not replayed into other scenes."""


def issue_strategy(issue: str) -> Any:
    """The scenes a search of ``issue`` draws: :func:`ifuqa.strategies.scenarios` bounded by
    the issue's exploration profile.

    Parameters
    ----------
    issue : str
        Known issue.

    Returns
    -------
    SearchStrategy of Scenario
    """
    from hypothesis import strategies as st

    from ifuqa.strategies import dither_patterns, scenarios

    profile = PROFILES[issue]
    kinds = st.sampled_from(profile.kinds) if len(profile.kinds) > 1 else profile.kinds[0]
    return scenarios(kind=kinds,
                     dithers=dither_patterns(min_positions=profile.min_dithers,
                                             max_positions=profile.max_dithers,
                                             custom=profile.custom_dithers),
                     **profile.strategy_arguments())


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    from ifuqa import __version__

    return {"ifuqa": __version__, "jwst": version("jwst"), "hypothesis": version("hypothesis")}


class _Search:
    """The predicate of the search, with its outcome cache and shrink budget."""

    def __init__(self, issue: str, *, cache_root: Path, checks_dir: Path,
                 defects: tuple[str, ...], thresholds: Any, shrink_budget: int,
                 log: Callable[[str], None], keep_builds: bool = False) -> None:
        self.issue = issue
        self.cache_root = Path(cache_root)
        self.checks_dir = Path(checks_dir)
        self.defects = tuple(sorted(defects))
        self.thresholds = thresholds
        self.shrink_budget = shrink_budget
        self.log = log
        self.keep_builds = keep_builds
        self.examples: list[Example] = []
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.found = False
        self.shrink_builds = 0
        self.warned: list[str] = []
        self.failing_runs: dict[str, CheckRun] = {}  # key -> checks of a failing scene built now

    def key(self, text: str) -> str:
        blob = json.dumps({"issue": self.issue, "defects": self.defects,
                           "thresholds": sorted((k, repr(v)) for k, v in
                                                self.thresholds.values.items()),
                           "versions": _versions()}, sort_keys=True)
        return hashlib.sha256((text + blob).encode()).hexdigest()[:20]

    def _outcome_file(self, key: str) -> Path:
        return self.cache_root / "explore-outcomes" / f"{key}.json"

    def build_and_check(self, scenario: Scenario, key: str) -> tuple[CheckRun, str]:
        """Build the scene (in its own folder, removed afterwards unless ``keep_builds``: a
        4-dither build is ~0.7 GB, and the outcome cache is what makes a replay free) and run
        the issue's checks; a build that raises is a finding too (recorded as an ``error`` of
        the pseudo-check ``build``)."""
        import shutil

        from ifuqa.builds.exploration import scene_file

        path = scene_file(scenario, self.cache_root)
        root = build_root(self.cache_root, key)
        try:
            try:
                dataset = build_exploration(scenario, self.issue, root, defects=self.defects)
            except Exception as exc:
                run = CheckRun(self.issue, scenario.name)
                run.records.append(Record.unmeasured(
                    self.issue, "build", "error", f"{type(exc).__name__}: {exc}"[:2000],
                    check="build", dataset=scenario.name, seed=scenario.seed))
                return run, str(path)
            return run_checks(self.issue, dataset, self.thresholds, self.checks_dir), str(path)
        finally:
            if not self.keep_builds:
                shutil.rmtree(root, ignore_errors=True)

    def build_and_check_noting_warnings(self, scenario: Scenario,
                                        key: str) -> tuple[CheckRun, str, list[str]]:
        """:meth:`build_and_check`, with the warnings it raised (distinct, one line each):
        recorded with the scene rather than turned into errors or printed, so that a search
        behaves the same under pytest's warning filters and on the command line."""
        seen: list[str] = []
        with _noting_warnings(seen):
            run, path = self.build_and_check(scenario, key)
        return run, path, seen

    def __call__(self, scenario: Scenario) -> bool:
        text = scenario_toml(scenario)
        key = self.key(text)
        phase = "shrink" if self.found else "search"
        start = time.perf_counter()
        outcome = self.outcomes.get(key)
        status = "cached"
        if outcome is None and self._outcome_file(key).is_file():
            outcome = json.loads(self._outcome_file(key).read_text())
        if outcome is None:
            if self.found and self.shrink_builds >= self.shrink_budget:
                self.examples.append(Example(scenario.name, phase, "not built", False, 0.0))
                steer(self.issue, ())
                return False
            run, path, warned = self.build_and_check_noting_warnings(scenario, key)
            if run.failed:  # kept (with its plot data): the minimal scene needs no rebuild
                self.failing_runs[key] = run
            outcome = {"failed": run.failed, "scene_file": path, "warnings": warned,
                       "records": [r.to_json() for r in run.records]}
            atomic_write(self._outcome_file(key), lambda fh: fh.write(json.dumps(outcome)))
            status = "built"
            if self.found:
                self.shrink_builds += 1
        self.outcomes[key] = outcome
        records = [Record.from_json(r) for r in outcome["records"]]
        failing = [f"{r.check}/{r.metric}: {r.message}" for r in records
                   if r.verdict in FAILING]
        example = Example(scenario.name, phase, status, bool(outcome["failed"]),
                          round(time.perf_counter() - start, 2), failing,
                          outcome.get("scene_file", ""), list(outcome.get("warnings", [])),
                          closeness(records))
        self.examples.append(example)
        n = len(self.examples)
        verdict = "FAIL " + "; ".join(failing)[:300] if example.failed else "pass"
        self.log(f"[{self.issue}] {phase} #{n} {scenario.name} ({status}, "
                 f"{example.seconds:.1f} s, closeness {example.closeness:.2f}): {verdict}")
        for text in example.warnings if status == "built" else ():
            if text not in self.warned:
                self.warned.append(text)
                self.log(f"[{self.issue}]     warning (first seen here): {text}")
        if example.failed:
            self.found = True
        steer(self.issue, records)
        return example.failed


@contextmanager
def _build_folders(keep: bool) -> Iterator[Callable[[Path], Path]]:
    """Hands out build folders (``folders(path)`` returns ``path``) and removes them when the
    block ends, unless ``keep``: a 4-dither build is ~0.7 GB of full-frame products."""
    import shutil

    made: list[Path] = []

    def folder(path: Path) -> Path:
        made.append(Path(path))
        return Path(path)

    try:
        yield folder
    finally:
        if not keep:
            for path in made:
                shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _noting_warnings(seen: list[str]) -> Iterator[None]:
    """Collect the distinct warnings of the block (one line each) into ``seen`` instead of
    letting the caller's filters print them or turn them into errors."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}"
        if text not in seen:
            seen.append(text)


def build_root(cache_root: Path, key: str) -> Path:
    """The folder a search builds one scene in (its simulations, stage cache and products)."""
    return Path(cache_root) / "explore-builds" / key


def _database(database_dir: Path | None, cache_root: Path) -> Any:
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(str(database_dir or Path(cache_root) / "hypothesis"))


def database_key(issue: str, defects: Iterable[str] = ()) -> bytes:
    """The example-database key of a search (one per issue and defect set).

    Parameters
    ----------
    issue : str
    defects : iterable of str

    Returns
    -------
    bytes
    """
    return (f"ifuqa-explore/{STRATEGY_VERSION}/{issue}/"
            f"{'+'.join(sorted(defects)) or 'fixed'}").encode()


def explore_issue(issue: str, *, max_examples: int, cache_root: Path, checks_dir: Path,
                  defects: Iterable[str] = (), seed: int | None = None,
                  shrink_budget: int = DEFAULT_SHRINK_BUDGET,
                  database_dir: Path | None = None, thresholds: Any = None,
                  confirm: bool = False, keep_builds: bool = False,
                  log: Callable[[str], None] = print) -> IssueExploration:
    """Search the scene space of one known issue for a scene its checks fail on.

    Parameters
    ----------
    issue : str
        Known issue (``"NS-IFU04"``).
    max_examples : int
        At most this many scenes are drawn (before shrinking).
    cache_root : path
        Build and outcome cache (also holds the example database by default).
    checks_dir : path
        The checks folder (:func:`ifuqa._pytest.options.checks_dir`).
    defects : iterable of str
        Process with these defect switches (the search should then fail fast: its power).
    seed : int, optional
        Seed of Hypothesis's random draws (default: a fresh one each run). A seeded search is
        reproducible and, as in Hypothesis (:func:`hypothesis.seed`), neither replays nor
        saves examples in the database.
    shrink_budget : int
        New scenes built while shrinking.
    database_dir : path, optional
        Hypothesis's example database (default ``cache_root/hypothesis``).
    thresholds : Thresholds, optional
        Check thresholds (default :meth:`ifuqa.verdicts.thresholds.Thresholds.defaults`).
    confirm : bool
        Also check the minimal scene with the physics the fast mode replaced (full 1/f noise
        and NSClean).
    keep_builds : bool
        Keep every scene's build (default: each is removed once checked; the outcomes are
        cached, and a finding's scenario file reproduces it).
    log : callable
        Receives one line per scene.

    Returns
    -------
    IssueExploration
    """
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis.errors import NoSuchExample

    from ifuqa.verdicts.thresholds import Thresholds

    if issue not in ISSUES:
        raise ValueError(f"unknown known issue {issue!r}; choose from {', '.join(ISSUES)}")
    if max_examples < 1:
        raise ValueError("max_examples must be at least 1")
    thresholds = thresholds or Thresholds.defaults()
    defects = tuple(sorted(defects))
    search = _Search(issue, cache_root=Path(cache_root), checks_dir=Path(checks_dir),
                     defects=defects, thresholds=thresholds, shrink_budget=shrink_budget,
                     log=log, keep_builds=keep_builds)
    result = IssueExploration(issue, defects, max_examples)
    config = settings(max_examples=max_examples, deadline=None,
                      database=_database(database_dir, cache_root),
                      phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target,
                              Phase.shrink),
                      suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                      print_blob=False)
    start = time.perf_counter()
    try:
        minimal = find(issue_strategy(issue), search, settings=config,
                       random=Random(seed) if seed is not None else None,
                       database_key=database_key(issue, defects))
    except NoSuchExample:
        minimal = None
    result.examples = search.examples
    if minimal is not None:
        result.minimal = minimal
        key = search.key(scenario_toml(minimal))
        seen: list[str] = []
        result.minimal_run = search.failing_runs.get(key)
        if result.minimal_run is None:
            # its outcome was cached (a replay from the example database): rebuilt for the
            # figures' plot data, and removed afterwards unless keep_builds
            with _noting_warnings(seen), _build_folders(keep_builds) as folders:
                dataset = build_exploration(minimal, issue,
                                            folders(build_root(cache_root, key)),
                                            defects=defects)
                result.minimal_run = run_checks(issue, dataset, thresholds, checks_dir)
            if not result.minimal_run.failed:
                log(f"[{issue}] warning: {minimal.name} passes when rebuilt (flaky build?)")
        if confirm:
            full = full_chain_scenario(minimal, PROFILES[issue])
            log(f"[{issue}] confirming {minimal.name} with the whole chain (full 1/f noise, "
                "NSClean)")
            with _noting_warnings(seen), _build_folders(keep_builds) as folders:
                dataset = build_exploration(
                    full, issue, folders(build_root(cache_root, key + "-full-chain")),
                    defects=defects, full_chain=True)
                result.confirmation = run_checks(issue, dataset, thresholds, checks_dir)
    result.seconds = time.perf_counter() - start
    return result


def replay(scenario: Scenario, issue: str, *, cache_root: Path, checks_dir: Path,
           defects: Iterable[str] = (), thresholds: Any = None,
           full_chain: bool = False, keep_builds: bool = False) -> CheckRun:
    """Build a scene in the exploration mode of ``issue`` (or with the whole chain) and run the
    issue's checks on it: what ``ifuqa explore --replay`` does with a finding's TOML.

    Parameters
    ----------
    scenario : Scenario
        The scene (e.g. loaded from ``minimal.toml``).
    issue : str
        Known issue.
    cache_root, checks_dir : path
        As for :func:`explore_issue`.
    defects : iterable of str
        Processing defects.
    thresholds : Thresholds, optional
        Default: the defaults.
    full_chain : bool
        Process with every stage (NSClean on) instead of the exploration mode.
    keep_builds : bool
        Keep the build (default: removed once checked).

    Returns
    -------
    CheckRun
    """
    from ifuqa.verdicts.thresholds import Thresholds

    thresholds = thresholds or Thresholds.defaults()
    search = _Search(issue, cache_root=Path(cache_root), checks_dir=Path(checks_dir),
                     defects=tuple(defects), thresholds=thresholds, shrink_budget=0,
                     log=print)
    key = search.key(scenario_toml(scenario)) + ("-full-chain" if full_chain else "")
    seen: list[str] = []
    with _noting_warnings(seen), _build_folders(keep_builds) as folders:  # as in the search
        dataset = build_exploration(scenario, issue, folders(build_root(cache_root, key)),
                                    defects=tuple(defects), full_chain=full_chain)
        return run_checks(issue, dataset, thresholds, checks_dir)
