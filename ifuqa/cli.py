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
    from ifuqa.builds import simulate_scenario as simulate
    from ifuqa.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    result = simulate(scenario, args.out, seed=args.seed, noiseless=args.noiseless)
    for path in result.rate_files:
        print(f"wrote {path}")
    print(f"wrote {result.truth_file}")
    return 0


def _add_process(parser: argparse.ArgumentParser) -> None:
    from ifuqa.process.config import DEFECTS

    parser.add_argument("input", help="an `ifuqa simulate` output folder, a folder of *_rate.fits, "
                                      "or a scenario name (simulated first into OUT/sim)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--defect", action="append", default=[], metavar="ID",
                        choices=sorted(DEFECTS),
                        help="re-create a known issue (repeatable): "
                             + "; ".join(f"{k}: {v}" for k, v in DEFECTS.items()))
    parser.add_argument("--spaxel-scale", type=float, default=0.1, metavar="ARCSEC",
                        help="output spaxel scale (default 0.1)")
    parser.add_argument("--wave-step", type=float, default=None, metavar="UM",
                        help="cube wavelength step (default: the disperser's pipeline default)")
    parser.add_argument("--weighting", choices=("drizzle", "emsm", "msm"), default="drizzle")
    parser.add_argument("--coord-system", choices=("skyalign", "ifualign"), default="skyalign")
    parser.add_argument("--no-clean", action="store_true", help="skip NSClean 1/f cleaning")
    parser.add_argument("--no-outliers", action="store_true", help="skip outlier detection")
    parser.add_argument("--trace-model", action="store_true",
                        help="oversample the cal images with jwst's adaptive trace model before "
                             "cube building (NS-IFU05 mitigation; off by default)")
    parser.add_argument("--radius-fwhm", type=float, default=2.0,
                        help="extraction radius in PSF FWHM (default 2)")
    parser.add_argument("--center-xy", type=float, nargs=2, default=None, metavar=("X", "Y"),
                        help="extraction centre in cube pixels (0-based)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed when INPUT is a scenario name")


def _run_process(args: argparse.Namespace) -> int:
    from ifuqa.process.chain import process
    from ifuqa.process.config import ProcessingConfig

    config = ProcessingConfig(
        defects=frozenset(args.defect), spaxel_arcsec=args.spaxel_scale,
        wave_step_um=args.wave_step, weighting=args.weighting, coord_system=args.coord_system,
        clean=not args.no_clean, outliers=not args.no_outliers,
        aperture_radius_fwhm=args.radius_fwhm,
        center_xy=tuple(args.center_xy) if args.center_xy else None,
        trace_model=args.trace_model)
    source = Path(args.input)
    if not source.exists():
        from ifuqa.builds import simulate_scenario as simulate
        from ifuqa.scenario import load_scenario

        scenario = load_scenario(args.input)
        source = args.out / "sim"
        simulate(scenario, source, seed=args.seed)
        print(f"simulated {scenario.name} into {source}")
    elif not source.is_dir():
        raise FileNotFoundError(f"{source}: INPUT must be a folder of rate files or a scenario")
    result = process(source, args.out, config)
    for path in [*result.cal_files, result.cube_file, result.x1d_file]:
        print(f"wrote {path}")
    total = sum(result.timings_s.values())
    print("time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())
          + f"; total {total:.1f} s, inside jwst {result.jwst_time_s:.1f} s")
    return 0


def _add_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path,
                        help="product files or folders (rate, cal, s3d, x1d; searched recursively)")
    parser.add_argument("--results", type=Path, default=None,
                        help="write the metrics as JSON (same format as --ifuqa-results)")
    parser.add_argument("--html", type=Path, default=None, help="write an HTML report")
    parser.add_argument("-m", dest="markers", default=None,
                        help="marker expression, e.g. 'ns_ifu05' or 'ns_ifu01 or ns_ifu03'")
    parser.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                        help="override a threshold (repeatable)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="regression gate: compare every metric with this baseline")
    parser.add_argument("--generate-baseline", type=Path, default=None, metavar="PATH",
                        help="write the run's metrics as a baseline")
    parser.add_argument("--tolerance", action="append", default=[], metavar="NAME=SPEC",
                        help="override a regression tolerance (repeatable)")
    parser.add_argument("--batch-size", type=int, default=50, metavar="N",
                        help="datasets per pytest run (default 50): memory stays bounded and "
                             "results are journalled after each batch")
    parser.add_argument("--resume", action="store_true",
                        help="resume an interrupted run: skip the datasets whose records the "
                             "journal of --results already holds (unchanged files only)")
    from ifuqa.cluster.commands import add_cluster_options

    add_cluster_options(parser)


def _run_check(args: argparse.Namespace) -> int:
    """Run the known-issue checks on the given products through pytest (same suite, same
    results format as ``pytest --ifuqa-data``), streamed in batches, here or on a Dask
    cluster (:func:`ifuqa.cluster.commands.run_check`); returns the run's exit status."""
    from ifuqa.cluster.commands import run_check
    from ifuqa.evaluate.shipped_checks import checks_dir

    if args.resume and not args.results:
        print("ifuqa check: error: --resume needs --results (its journal is what resumes)",
              file=sys.stderr)
        return 2
    return run_check(args, checks_dir())


def _add_build(parser: argparse.ArgumentParser) -> None:
    from ifuqa.cluster.commands import add_build

    add_build(parser)


def _run_build(args: argparse.Namespace) -> int:
    """Build synthetic datasets into the cache, here or on a Dask cluster."""
    from ifuqa.cluster.commands import run_build

    return run_build(args)


def _add_compare(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", type=Path, help="reference run: results JSON or baseline")
    parser.add_argument("b", type=Path, help="run to compare with it: results JSON or baseline")
    parser.add_argument("--html", type=Path, default=None, help="also write the table as HTML")
    parser.add_argument("--tolerance", action="append", default=[], metavar="NAME=SPEC",
                        help="override a tolerance, e.g. ns_ifu05.wiggle_amplitude=abs:0.05,"
                             "rel:0.1 (repeatable; over [tool.ifuqa.tolerances] of "
                             "./pyproject.toml)")
    parser.add_argument("--strict", action="store_true",
                        help="also fail on metrics present in one run only")


def _run_compare(args: argparse.Namespace) -> int:
    """Side-by-side table of two runs; 1 on regressions, 2 on unreadable input."""
    from ifuqa.report.compare_page import render_compare_page
    from ifuqa.verdicts.compare import run

    return run(args.a, args.b, html_path=args.html, render_html=render_compare_page,
               tolerance=args.tolerance,
               strict=args.strict)


def _add_list(parser: argparse.ArgumentParser) -> None:
    del parser


def _run_list(args: argparse.Namespace) -> int:
    del args
    from ifuqa.scenario import catalogue_names, load_scenario

    for name in catalogue_names():
        scenario = load_scenario(name)
        print(f"{name:32s} {scenario.grating}/{scenario.filter:7s} {scenario.description}")
    return 0


def _add_explore(parser: argparse.ArgumentParser) -> None:
    from ifuqa.explore.command import add_arguments

    add_arguments(parser)


def _run_explore(args: argparse.Namespace) -> int:
    """Search the scene space for breakdowns of the known issues (:mod:`ifuqa.explore`)."""
    from ifuqa.evaluate.shipped_checks import checks_dir
    from ifuqa.explore.command import run

    return run(args, checks_dir=checks_dir())


def _add_inject(parser: argparse.ArgumentParser) -> None:
    from ifuqa.inject import DEFECTS

    parser.add_argument("input", type=Path,
                        help="the original product (s3d, or x1d for undulation and "
                             "negative_offset); read, never written")
    parser.add_argument("--out", required=True, type=Path, help="the copy to write")
    parser.add_argument("--defect", required=True, choices=sorted(DEFECTS),
                        help="; ".join(f"{k} ({d.issue}, {d.unit}): {d.size_meaning}"
                                       for k, d in DEFECTS.items()).replace("%", "%%"))
    parser.add_argument("--size", required=True, type=float,
                        help="the injected size, in the defect's unit")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a defect parameter (its position), e.g. angle_deg=45, "
                             "cycles_per_um=12, band_um=18.0,19.0")


def _parse_param(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    if not value:
        raise ValueError(f"--param {text!r}: expected NAME=VALUE")
    parts = [v.strip() for v in value.split(",")]
    numbers = [float(v) for v in parts] if all(_is_number(v) for v in parts) else None
    if numbers is None:
        return name.strip(), value
    return name.strip(), numbers[0] if len(numbers) == 1 else tuple(numbers)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _run_inject(args: argparse.Namespace) -> int:
    """Write a copy of a product with one known defect injected."""
    from ifuqa.inject import Injection, inject_product
    from ifuqa.inject.files import InjectionError
    from ifuqa.products import ProductError

    try:
        injection = Injection(args.defect, args.size,
                              tuple(_parse_param(p) for p in args.param))
        out = inject_product(args.input, args.out, injection)
    except (InjectionError, ProductError, ValueError) as exc:
        print(f"ifuqa inject: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: {injection.describe()} into a copy of {args.input.name}")
    return 0


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "simulate": ("render a scenario into rate files and truth.json", _add_simulate, _run_simulate),
    "process": ("run the processing chain (with the fixes, or re-creating a known defect)",
                _add_process, _run_process),
    "check": ("run the known-issue checks on products (e.g. from `ifuqa process`)",
              _add_check, _run_check),
    "build": ("simulate and process scenarios or catalogues into the build cache (here, or on "
              "a Dask cluster with --dask)", _add_build, _run_build),
    "list": ("list the embedded scenario catalogue", _add_list, _run_list),
    "compare": ("compare two runs (results JSON or baselines) side by side; exit 1 on "
                "regressions", _add_compare, _run_compare),
    "inject": ("write a copy of a real product with one known defect injected "
               "(injection-recovery)", _add_inject, _run_inject),
    "explore": ("search the scene space for scenes on which a known issue's checks fail; "
                "write the minimal one; exit 1 when one is found", _add_explore, _run_explore),
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
    from ifuqa.cluster.connect import ClusterError
    from ifuqa.process.config import ProcessingConfigError
    from ifuqa.process.rate_inputs import ProcessingError
    from ifuqa.scenario import ScenarioError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except (ScenarioError, ProcessingError, ProcessingConfigError, FileNotFoundError,
            OSError, ClusterError) as exc:
        print(f"ifuqa {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
