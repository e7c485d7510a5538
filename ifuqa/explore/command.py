"""The ``ifuqa explore`` sub-command: its arguments and what it runs (the CLI layer registers
it and hands over the checks folder). Cheap to import: Hypothesis, numpy and jwst are imported
when it runs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["DEFAULT_MAX_EXAMPLES", "add_arguments", "run"]

DEFAULT_MAX_EXAMPLES = 20
"""Scenes drawn per known issue when ``--max-examples`` is not given."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the arguments of ``ifuqa explore``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    from ifuqa.process.config import DEFECTS
    from ifuqa.util.known_issues import ISSUES

    parser.add_argument("--issue", action="append", default=[], metavar="ID", choices=ISSUES,
                        help="known issue to search (repeatable; default: all, or the issues "
                             "of --defect)")
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, metavar="N",
                        help=f"scenes drawn per issue before shrinking (default "
                             f"{DEFAULT_MAX_EXAMPLES})")
    parser.add_argument("--defect", action="append", default=[], metavar="ID",
                        choices=sorted(DEFECTS),
                        help="process with this known defect (repeatable): the search must "
                             "then find a failing scene within a few examples")
    parser.add_argument("--out", type=Path, default=Path("reports") / "explore",
                        help="where findings are written (default reports/explore)")
    parser.add_argument("--cache", type=Path, default=Path(".ifuqa-cache"),
                        help="build and outcome cache (default .ifuqa-cache)")
    parser.add_argument("--database", type=Path, default=None, metavar="DIR",
                        help="Hypothesis example database (default CACHE/hypothesis): failing "
                             "scenes are kept there and replayed first next time")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the random draws, for a reproducible search (default: "
                             "fresh each run; a seeded search, as in Hypothesis, does not use "
                             "the example database)")
    parser.add_argument("--shrink-budget", type=int, default=None, metavar="N",
                        help="new scenes built while shrinking a failure (default 12)")
    parser.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                        help="override a check threshold (repeatable)")
    parser.add_argument("--no-confirm", dest="confirm", action="store_false",
                        help="do not rebuild a finding with the whole chain (full 1/f noise, "
                             "NSClean)")
    parser.add_argument("--keep-builds", action="store_true",
                        help="keep the builds (simulations and products; default: each is "
                             "removed once checked, ~0.7 GB for 4 dithers; the outcomes are "
                             "cached and a finding's TOML reproduces it)")
    parser.add_argument("--replay", type=Path, default=None, metavar="TOML",
                        help="build this scenario as the search does and run the --issue "
                             "checks on it (no search)")
    parser.add_argument("--full-chain", action="store_true",
                        help="with --replay: process with every stage (NSClean on)")


def _issues(args: argparse.Namespace) -> list[str]:
    from ifuqa.util.known_issues import ISSUES

    if args.issue:
        return list(dict.fromkeys(args.issue))
    if args.defect:
        return sorted(set(args.defect))
    return list(ISSUES)


def _replay(args: argparse.Namespace, checks_dir: Path, thresholds: object) -> int:
    from ifuqa.explore.search import replay
    from ifuqa.scenario import load_scenario

    if len(args.issue) != 1:
        print("ifuqa explore: error: --replay needs exactly one --issue", flush=True)
        return 2
    scenario = load_scenario(args.replay)
    run = replay(scenario, args.issue[0], cache_root=args.cache, checks_dir=checks_dir,
                 defects=tuple(args.defect), thresholds=thresholds, full_chain=args.full_chain,
                 keep_builds=args.keep_builds)
    for r in run.records:
        value = "-" if r.value is None else f"{r.value:.4g} {r.unit}"
        print(f"{r.verdict.upper():9s} {r.check} / {r.metric}: {value} — {r.message}")
    print(f"{args.issue[0]} on {scenario.name}: "
          + ("FAILS" if run.failed else "passes"))
    return 1 if run.failed else 0


def run(args: argparse.Namespace, *, checks_dir: Path) -> int:
    """Run ``ifuqa explore``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments (:func:`add_arguments`).
    checks_dir : path
        The checks folder.

    Returns
    -------
    int
        0: no failing scene; 1: a failing scene was found (or a replayed one fails); 2: bad
        arguments.
    """
    from ifuqa.explore.output import summary_lines, write_finding, write_summary
    from ifuqa.explore.search import DEFAULT_SHRINK_BUDGET, explore_issue
    from ifuqa.verdicts.thresholds import Thresholds

    thresholds = Thresholds(cli=args.threshold)
    if args.replay is not None:
        return _replay(args, checks_dir, thresholds)
    if args.max_examples < 1:
        print("ifuqa explore: error: --max-examples must be at least 1", flush=True)
        return 2
    results = []
    start = time.perf_counter()
    for issue in _issues(args):
        result = explore_issue(
            issue, max_examples=args.max_examples, cache_root=args.cache,
            checks_dir=checks_dir, defects=tuple(args.defect), seed=args.seed,
            shrink_budget=(DEFAULT_SHRINK_BUDGET if args.shrink_budget is None
                           else args.shrink_budget),
            database_dir=args.database, thresholds=thresholds, confirm=args.confirm,
            keep_builds=args.keep_builds, log=lambda line: print(line, flush=True))
        page = write_finding(result, args.out)
        if page is not None:
            print(f"[{issue}] wrote {page.parent / 'minimal.toml'} and {page}", flush=True)
        results.append(result)
    summary = write_summary(results, args.out)
    print(f"\nifuqa explore ({time.perf_counter() - start:.0f} s; {summary})")
    for line in summary_lines(results):
        print(line)
    return 1 if any(r.found for r in results) else 0
