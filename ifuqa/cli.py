"""The ``ifuqa`` command line.

Sub-commands are registered in :data:`COMMANDS`; each has a ``add_arguments(parser)`` and a
``run(args) -> int`` function, so the top level stays small.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main"]


def _add_simulate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="catalogue name (see `ifuqa list`) or path to a TOML file")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--noiseless", action="store_true",
                        help="switch off Poisson, read and 1/f noise and cosmic rays")


def _run_simulate(args: argparse.Namespace) -> int:
    from ifuqa.scenario import load_scenario
    from ifuqa.simulate import simulate

    scenario = load_scenario(args.scenario)
    result = simulate(scenario, args.out, seed=args.seed, noiseless=args.noiseless)
    for path in result.rate_files:
        print(f"wrote {path}")
    print(f"wrote {result.truth_file}")
    return 0


def _add_list(parser: argparse.ArgumentParser) -> None:
    del parser


def _run_list(args: argparse.Namespace) -> int:
    del args
    from ifuqa.scenario import catalogue_names, load_scenario

    for name in catalogue_names():
        scenario = load_scenario(name)
        print(f"{name:32s} {scenario.grating}/{scenario.filter:7s} {scenario.description}")
    return 0


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "simulate": ("render a scenario into rate files and truth.json", _add_simulate, _run_simulate),
    "list": ("list the embedded scenario catalogue", _add_list, _run_list),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="ifuqa", description="QA for JWST NIRSpec IFU data products.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add, _) in COMMANDS.items():
        add(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ifuqa`` console script."""
    from ifuqa.scenario import ScenarioError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except (ScenarioError, FileNotFoundError, OSError) as exc:
        print(f"ifuqa {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
