"""Running the shipped checks on a dataset outside pytest (through the one runner,
:mod:`ifuqa.evaluate.shipped_checks`), and building injected copies of a dataset."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifuqa.evaluate.shipped_checks import CheckRun
from ifuqa.evaluate.shipped_checks import run_checks as run_shipped_checks
from ifuqa.inject import Injection, inject_product, reference_x1d
from ifuqa.products import Dataset, read_cube
from ifuqa.recovery.targets import Target
from ifuqa.verdicts.record import Record

__all__ = ["Outcome", "injected_dataset", "prepared_dataset", "run_check", "run_checks"]

_ORDER = {"error": 4, "fail": 3, "undecided": 2, "pass": 1, "skip": 0}


@dataclass(frozen=True)
class Outcome:
    """What one check concluded on one dataset.

    Attributes
    ----------
    check : str
        The check (function name in ``checks/``).
    issue : str
        Its known issue.
    verdict : {"pass", "fail", "undecided", "skip", "error"}
        The worst verdict of its metrics (``skip``: not applicable, with the reason).
    message : str
        The deciding metric's description, or why it did not run.
    values : dict
        Metric name -> (value, uncertainty).
    """

    check: str
    issue: str
    verdict: str
    message: str
    values: dict[str, tuple[float, float | None]] = field(default_factory=dict)


def _outcomes(run: CheckRun) -> dict[str, Outcome]:
    """One :class:`Outcome` per check of a :class:`~ifuqa.evaluate.shipped_checks.CheckRun`."""
    by_check: dict[str, list[Record]] = {}
    for record in run.records:
        by_check.setdefault(record.check, []).append(record)
    described = {(check, result.metric): result.describe() for check, result in run.results}
    out = {}
    for check, records in by_check.items():
        worst = max(records, key=lambda r: _ORDER[r.verdict])
        message = described.get((check, worst.metric), worst.message)
        values = {r.metric: (float(r.value), r.uncertainty) for r in records
                  if r.value is not None}
        out[check] = Outcome(check, worst.issue, worst.verdict, message, values)
    return out


def run_check(check: str, dataset: Dataset, thresholds: Any) -> Outcome:
    """Run one shipped check on a dataset, as the pytest check would
    (:func:`ifuqa.evaluate.shipped_checks.run_checks`).

    Parameters
    ----------
    check : str
        A check's function name in ``checks/``.
    dataset : Dataset
        The products.
    thresholds : Thresholds
        The thresholds.

    Returns
    -------
    Outcome
    """
    return _outcomes(run_shipped_checks(None, dataset, thresholds, only=[check]))[check]


def run_checks(dataset: Dataset, thresholds: Any) -> dict[str, Outcome]:
    """Every shipped check on a dataset: check name -> :class:`Outcome` (those that need a
    synthetic scene's truth, rate files or a noiseless reference say so as a skip)."""
    return _outcomes(run_shipped_checks(None, dataset, thresholds))


def prepared_dataset(dataset: Dataset, workdir: Path) -> Dataset:
    """The dataset as the power matrix judges it: a cube without an x1d gets one extracted by
    ifuqa (:func:`ifuqa.inject.reference_x1d`) so that the checks comparing the two can run (say
    so in the results: that x1d's agreement with its cube is by construction)."""
    if dataset.s3d and not dataset.x1d:
        cube = Path(dataset.s3d[0])
        stem = cube.name.split("_s3d")[0]
        folder = Path(workdir) / "clean"
        folder.mkdir(parents=True, exist_ok=True)
        x1d = reference_x1d(cube, folder / f"{stem}_x1d.fits")
        return Dataset(name=dataset.name, s3d=list(dataset.s3d), x1d=[x1d])
    return Dataset(name=dataset.name, s3d=list(dataset.s3d), x1d=list(dataset.x1d),
                   rate=list(dataset.rate), cleaned=list(dataset.cleaned), cal=list(dataset.cal))


def _parameters(target: Target, params: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    """Turn position parameters that depend on the product (a fraction of the band) into the
    injection's parameters."""
    out = dict(params)
    if "band_fraction" in out:
        lo, hi = out.pop("band_fraction")
        wave = read_cube(dataset.s3d[0]).wavelength_um
        w0, w1 = float(wave.min()), float(wave.max())
        out["band_um"] = None if (lo, hi) == (0.0, 1.0) else (w0 + lo * (w1 - w0),
                                                              w0 + hi * (w1 - w0))
    return out


def injected_dataset(dataset: Dataset, target: Target, size: float, params: dict[str, Any],
                     workdir: Path) -> tuple[Dataset, Injection]:
    """A copy of ``dataset`` with ``target``'s defect injected at ``size`` (and ``params``).

    A cube defect makes a new cube and a new x1d extracted from it (so the x1d checks see the
    injected cube); ``extraction_offset`` a new x1d off the source of the original cube; an x1d
    defect a new x1d next to the original cube, if any. The originals are never written.

    Returns
    -------
    (Dataset, Injection)
    """
    injection = Injection(target.injection, float(size),
                          tuple(sorted(_parameters(target, params, dataset).items())))
    tag = "_".join([target.injection, f"{size:g}"]
                   + [f"{k}{v}" for k, v in sorted(params.items())]).replace(" ", "")
    tag = "".join(c if c.isalnum() or c in "._-" else "_" for c in tag)
    folder = Path(workdir) / tag
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if target.product == "s3d":
        source = Path(dataset.s3d[0])
        stem = source.name.split("_s3d")[0]
        cube = inject_product(source, folder / f"{stem}_s3d.fits", injection)
        x1d = reference_x1d(cube, folder / f"{stem}_x1d.fits")
        return Dataset(name=f"{dataset.name}[{injection.describe()}]", s3d=[cube],
                       x1d=[x1d]), injection
    if target.injection == "extraction_offset":
        source = Path(dataset.s3d[0])
        stem = source.name.split("_s3d")[0]
        x1d = inject_product(source, folder / f"{stem}_x1d.fits", injection)
        return Dataset(name=f"{dataset.name}[{injection.describe()}]", s3d=[source],
                       x1d=[x1d]), injection
    source = Path(dataset.x1d[0])
    x1d = inject_product(source, folder / source.name.replace(".gz", ""), injection)
    return Dataset(name=f"{dataset.name}[{injection.describe()}]", s3d=list(dataset.s3d),
                   x1d=[x1d]), injection
