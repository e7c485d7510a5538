"""The command-line side of ``ifuqa build`` and ``ifuqa check`` (registered in :mod:`ifuqa.cli`):
serially in this process, or on a Dask cluster with ``--dask ADDRESS``; a progress bar with
counts, rate and ETA on a terminal (silent otherwise), and one line per finished build.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

__all__ = ["add_build", "add_cluster_options", "run_build", "run_check"]

DEFAULT_CACHE = Path(".pytest_cache") / "d" / "ifuqa-builds"
"""Where ``ifuqa build`` caches builds by default: the folder ``pytest --ifuqa`` uses when run
from the same folder (so the builds are shared)."""


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--dask ADDRESS`` and ``--workers N``."""
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="run on a Dask cluster: 'local' (a LocalCluster on this machine) or "
                             "tcp://HOST:PORT (a running scheduler)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="workers of --dask local (default: one per core)")


@contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    if not args.dask:
        yield None
        return
    from ifuqa.cluster.connect import dask_client

    with dask_client(args.dask, n_workers=args.workers,
                     say=lambda line: print(line, file=sys.stderr, flush=True)) as client:
        yield client


def add_build(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``ifuqa build``."""
    from ifuqa.process.config import DEFECTS

    parser.add_argument("targets", nargs="+", metavar="CATALOGUE|SCENARIO",
                        help="'default' or 'release' (catalogues), a folder of scenario TOML "
                             "files, a catalogue scenario name or a TOML file")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="DIR",
                        help=f"build cache (default {DEFAULT_CACHE}, the one `pytest --ifuqa` "
                             "uses from this folder; on a cluster: shared storage)")
    parser.add_argument("--defect", action="append", default=[], metavar="ID",
                        choices=sorted(DEFECTS), help="process re-creating this known defect")
    parser.add_argument("--power-matrix", action="store_true",
                        help="also build the power matrix's defect datasets of the scenarios")
    add_cluster_options(parser)


def _specs(args: argparse.Namespace) -> list[Any]:
    from ifuqa.builds.power_rows import power_datasets
    from ifuqa.builds.synthetic import catalogue_spec
    from ifuqa.scenario.catalogues import CATALOGUES, catalogue_scenarios

    scenarios: list[str] = []
    for target in args.targets:
        if target in CATALOGUES or Path(target).is_dir():
            scenarios += catalogue_scenarios(target)
        else:
            scenarios.append(str(Path(target).resolve()) if Path(target).is_file() else target)
    specs = [catalogue_spec(name, defects=tuple(sorted(args.defect))) for name in scenarios]
    if args.power_matrix:
        specs += [spec for _, spec in power_datasets(scenarios, args.cache.resolve())]
    return list(dict.fromkeys(specs))


def run_build(args: argparse.Namespace) -> int:
    """``ifuqa build``: 0 when every build is in the cache, 1 when one failed."""
    from ifuqa.cluster.builds import run_builds
    from ifuqa.cluster.progress import progress_bar, write_line

    specs = _specs(args)
    root = args.cache.resolve()
    with _client(args) as client:
        from ifuqa.builds.tasks import build_plan

        total = len(build_plan(specs, root))
        bar = progress_bar(total, "ifuqa build", "task")

        def on_event(event: Any) -> None:
            if event.what != "start":
                bar.update(1)
                write_line(bar, event.line())

        run = run_builds(specs, root, client=client, on_event=on_event)
        bar.close()
    made = sum(o.made for o in run.builds())
    cached = len(run.builds()) - made
    retried = sum(run.retries.values())
    print(f"ifuqa build: {len(specs)} builds in {root} ({made} made, {cached} cached"
          f"{f', {len(run.failures)} tasks FAILED' if run.failures else ''}"
          f"{f', {retried} retries after a worker died' if retried else ''}) "
          f"in {run.wall_s:.1f} s" + (f" on Dask {args.dask}" if args.dask else ""))
    return 0 if run.ok else 1


def check_pytest_args(args: argparse.Namespace) -> list[str]:
    """The options every batch's pytest gets."""
    argv: list[str] = []
    if args.markers:
        argv += ["-m", args.markers]
    argv += [f"--ifuqa-threshold={t}" for t in args.threshold]
    if args.baseline:
        argv.append(f"--ifuqa-baseline={args.baseline.resolve()}")
    argv += [f"--ifuqa-tolerance={t}" for t in args.tolerance]
    return argv


def run_check(args: argparse.Namespace, checks: Path) -> int:
    """``ifuqa check``: the checks on the products under ``args.paths``, streamed in batches
    (:func:`ifuqa.cluster.checks.run_checks`); returns the run's exit status."""
    import tempfile

    from ifuqa.cluster.checks import run_checks
    from ifuqa.cluster.progress import progress_bar
    from ifuqa.products.discovery import iter_datasets

    paths = [Path(p).absolute() for p in args.paths]
    bar_stream = sys.stderr
    total = None
    if bar_stream.isatty():  # a count for the ETA: one cheap walk, nothing kept
        total = sum(1 for _ in iter_datasets(paths))
    bar = progress_bar(total, "ifuqa check", "dataset", stream=bar_stream)
    tmp = None
    results = args.results
    if results is None:
        tmp = tempfile.TemporaryDirectory(prefix="ifuqa-check-")
        results = Path(tmp.name) / "results.json"
    results = Path(results).absolute()

    def on_batch(count: int, run: Any) -> None:
        bar.update(count)
        bar.set_postfix_str(", ".join(f"{v} {k}" for k, v in sorted(run.verdicts.items())))

    try:
        with _client(args) if args.dask else nullcontext(None) as client:
            if client is not None:
                from ifuqa.cluster.connect import check_paths_visible

                check_paths_visible(client, paths)
            run = run_checks(iter_datasets(paths), results,
                             pytest_args=check_pytest_args(args), checks=checks,
                             cwd=Path.cwd(), batch_size=args.batch_size, resume=args.resume,
                             client=client, html=args.html.absolute() if args.html else None,
                             on_batch=on_batch,
                             say=lambda text: print(text, file=sys.stderr, flush=True))
        bar.close()
        for problem in run.problems:
            print(f"ifuqa check: {problem}", file=sys.stderr)
        verdicts = ", ".join(f"{v} {k}" for k, v in sorted(run.verdicts.items()))
        print(f"ifuqa check: {run.datasets} datasets ({run.skipped} already in the journal), "
              f"{run.batches} batches, {verdicts or 'no records'} in {run.wall_s:.1f} s"
              + (f" on Dask {args.dask}" if args.dask else "")
              + (f"; {run.retries} batches retried after a worker died" if run.retries else ""))
        if args.results:
            print(f"ifuqa check: results in {results}")
        if args.generate_baseline and run.returncode in (0, 1) and results.is_file():
            from ifuqa.verdicts.baseline import build_baseline, write_baseline
            from ifuqa.verdicts.results import read_records, read_results

            write_baseline(args.generate_baseline,
                           build_baseline(read_records(results),
                                          read_results(results)["versions"]))
            print(f"ifuqa check: baseline written to {args.generate_baseline}")
        return run.returncode
    finally:
        if tmp is not None:
            tmp.cleanup()
