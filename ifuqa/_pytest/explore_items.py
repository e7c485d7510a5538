"""``pytest --ifuqa-explore=N``: one test per known issue that searches the scene space for a
scene its checks fail on (:func:`ifuqa.explore.search.explore_issue`), fails with the minimal
failing scene when one is found, and writes the finding (``--ifuqa-explore-out``, default
``reports/explore``: the minimal scenario TOML, its records and HTML page).

The tests are named ``ifuqa-explore[NS-IFU0N]`` and marked with the issue's marker, so
``-m ns_ifu04`` picks one; ``--ifuqa-defect ID`` processes with that defect (and searches the
defect's issues). Without ``--ifuqa``/``--ifuqa-data`` and without test paths only the searches
run. Hypothesis is imported when a search runs, never when the plugin loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ifuqa._pytest.options import (
    INI_THRESHOLDS,
    OPTION_DEFECT,
    OPTION_THRESHOLD,
    active,
    cache_root,
)
from ifuqa.evaluate.shipped_checks import checks_dir
from ifuqa.util.known_issues import ISSUES, marker_name

__all__ = ["OPTION_EXPLORE", "OPTION_EXPLORE_OUT", "OPTION_EXPLORE_SEED", "ExploreItem",
           "addoption", "explore_only_key", "modify_items"]

OPTION_EXPLORE = "--ifuqa-explore"
OPTION_EXPLORE_OUT = "--ifuqa-explore-out"
OPTION_EXPLORE_SEED = "--ifuqa-explore-seed"
EXPLORE_KEY = "ifuqa_explore"
"""``user_properties`` key of a search's summary (JSON)."""

explore_only_key = pytest.StashKey[bool]()
"""Set when the run was started with ``--ifuqa-explore`` and nothing else to collect."""


def addoption(group: Any) -> None:
    """Register the exploration options in the ``ifuqa`` option group."""
    group.addoption(OPTION_EXPLORE, type=int, default=None, metavar="N",
                    help="search the scene space of each known issue (select with -m) for a "
                         "scene its checks fail on, drawing up to N scenes; the test fails "
                         "with the minimal failing scene")
    group.addoption(OPTION_EXPLORE_OUT, default=None, metavar="DIR",
                    help="where --ifuqa-explore writes its findings (default reports/explore "
                         "in the root folder)")
    group.addoption(OPTION_EXPLORE_SEED, type=int, default=None, metavar="N",
                    help="seed of --ifuqa-explore's random draws, for a reproducible "
                         "search (it then uses no example database)")


class ExploreFailure(Exception):
    """A search found a failing scene."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class ExploreItem(pytest.Item):
    """The search of one known issue."""

    def __init__(self, *, issue: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.issue = issue
        self.add_marker(marker_name(issue))

    def runtest(self) -> None:
        from ifuqa.explore.output import write_finding
        from ifuqa.explore.search import explore_issue
        from ifuqa.verdicts.thresholds import Thresholds

        config = self.config
        out = Path(config.getoption(OPTION_EXPLORE_OUT)
                   or Path(config.rootpath) / "reports" / "explore")
        thresholds = Thresholds(cli=config.getoption(OPTION_THRESHOLD),
                                ini=config.getini(INI_THRESHOLDS), rootdir=config.rootpath)
        result = explore_issue(
            self.issue, max_examples=int(config.getoption(OPTION_EXPLORE)),
            cache_root=cache_root(config), checks_dir=checks_dir(),
            defects=tuple(config.getoption(OPTION_DEFECT)),
            seed=config.getoption(OPTION_EXPLORE_SEED), thresholds=thresholds,
            confirm=True, log=lambda line: print(line, flush=True))
        page = write_finding(result, out)
        summary = result.summary()
        self.user_properties.append((EXPLORE_KEY, json.dumps(summary)))
        if result.found:
            lines = [f"{self.issue}: the checks fail on {summary['minimal']} (after "
                     f"{summary['drawn']} scenes drawn and {summary['shrink_steps']} shrink "
                     f"steps)", *[f"  {f}" for f in summary["failing"]]]
            if summary["confirmed_by_full_chain"] is not None:
                lines.append("  with the whole chain (full 1/f noise, NSClean): " + (
                    "still fails" if summary["confirmed_by_full_chain"] else "passes"))
            if page is not None:
                lines += [f"  minimal scene: {page.parent / 'minimal.toml'}", f"  page: {page}"]
            raise ExploreFailure(lines)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ExploreFailure):
            return "\n".join(excinfo.value.lines)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"ifuqa explore {self.issue}"


def _issues(config: pytest.Config) -> list[str]:
    defects = config.getoption(OPTION_DEFECT)
    return sorted(set(defects)) if defects else list(ISSUES)


def modify_items(session: pytest.Session, config: pytest.Config,
                 items: list[pytest.Item]) -> None:
    """Add the searches to the collected items (replacing them when the run only explores)."""
    if config.getoption(OPTION_EXPLORE) is None:
        return
    if config.getoption(OPTION_EXPLORE) < 1:
        raise pytest.UsageError(f"{OPTION_EXPLORE}=N needs N >= 1")
    searches = [ExploreItem.from_parent(session, name=f"ifuqa-explore[{issue}]", issue=issue)
                for issue in _issues(config)]
    if config.stash.get(explore_only_key, False) and not active(config):
        config.hook.pytest_deselected(items=list(items))
        items[:] = searches
    else:
        items.extend(searches)
