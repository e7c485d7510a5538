"""Synthetic builds as pure, content-keyed tasks (for a task scheduler such as Dask).

A build (scenario + processing configuration + software versions → products) is split into the
tasks it shares with other builds and its own: the simulation of the scene (shared by every
processing of the same scenario and seed), the noiseless simulation and the reference cube
(shared by the builds whose processing differs only by defects the reference cannot see), and the
build itself. Each task is a plain function of picklable arguments whose result lands in the
build cache under its content key, atomically (:mod:`ifuqa.util.atomic_folder`): a task killed
half-way leaves a temporary folder that no later run trusts, and running a task twice (a retry
after a worker died, or two runs at once) gives the same folder, made once under its file lock.

:func:`build_plan` lists the tasks of a set of builds with their dependencies, cheapest first
within their kind, so a scheduler starts the simulations first and the shared intermediate
products once; :func:`run_task` runs one of them and returns a :class:`TaskOutcome`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ifuqa.builds.synthetic import (
    SyntheticSpec,
    build_folder,
    build_synthetic,
    is_built,
    reference_dir,
    reference_folder,
    simulation_dir,
    simulation_path,
)

__all__ = ["BuildTask", "TaskOutcome", "build_costs", "build_plan", "critical_path", "run_task"]

KINDS = ("simulate", "simulate-noiseless", "reference", "build")


@dataclass(frozen=True)
class BuildTask:
    """One task of a build plan.

    Attributes
    ----------
    key : str
        Content key (unique in the plan; the name of the cache entry it makes).
    kind : {"simulate", "simulate-noiseless", "reference", "build"}
    spec : SyntheticSpec
        The build it belongs to (for shared tasks: the first build that needs it).
    label : str
        What progress shows (the dataset label for builds).
    deps : tuple of str
        Keys of the tasks it needs first.
    """

    key: str
    kind: str
    spec: SyntheticSpec
    label: str
    deps: tuple[str, ...] = ()


@dataclass
class TaskOutcome:
    """What running a task did.

    Attributes
    ----------
    key, kind, label : str
        As in :class:`BuildTask`.
    made : bool
        True when this call made the result, False when it was already in the cache.
    seconds : float
        Wall time of the call.
    timings : dict
        Seconds per stage (builds made here).
    folder : str
        Where the result is.
    host : str
        Host name and process id that ran it.
    """

    key: str
    kind: str
    label: str
    made: bool
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    folder: str = ""
    host: str = ""

    def describe(self) -> str:
        """One line: the label, what was done, the time and the stage timings."""
        if not self.made:
            return f"{self.label}: cached ({self.folder})"
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items() if v >= 0.05)
        return (f"{self.label}: {self.kind} in {self.seconds:.1f} s"
                + (f" ({stages})" if stages else "") + f" on {self.host}")


def _reference_key(spec: SyntheticSpec, root: Path) -> str:
    return reference_folder(spec, simulation_path(spec, root, noiseless=True)).name


def build_plan(specs: Iterable[SyntheticSpec], cache_root: Path) -> list[BuildTask]:
    """The tasks that make ``specs`` (each shared task once), dependencies first.

    Parameters
    ----------
    specs : iterable of SyntheticSpec
        The builds (duplicates are dropped).
    cache_root : path
        The build cache.

    Returns
    -------
    list of BuildTask
        Simulations, then noiseless simulations, then references, then builds (those with
        the extra products first, as they take longest).
    """
    root = Path(cache_root)
    tasks: dict[str, BuildTask] = {}
    builds = []
    for spec in dict.fromkeys(specs):
        sim = simulation_path(spec, root).name
        tasks.setdefault(sim, BuildTask(sim, "simulate", spec, Path(spec.scenario).stem))
        deps = [sim]
        if spec.with_reference:
            clean = simulation_path(spec, root, noiseless=True).name
            tasks.setdefault(clean, BuildTask(clean, "simulate-noiseless", spec,
                                              f"{Path(spec.scenario).stem} (noiseless)"))
            ref = _reference_key(spec, root)
            tasks.setdefault(ref, BuildTask(ref, "reference", spec,
                                            f"{Path(spec.scenario).stem} (reference cube)",
                                            (clean,)))
            deps.append(ref)
        builds.append(BuildTask(build_folder(spec, root).name, "build", spec, spec.label,
                                tuple(deps)))
    builds.sort(key=lambda t: (not t.spec.with_scales, not t.spec.with_reference))
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(tasks.values(), key=lambda t: order[t.kind]) + builds


def run_task(task: BuildTask, cache_root: str | os.PathLike[str], *deps: object) -> TaskOutcome:
    """Run one task of a build plan (its dependencies' outcomes are passed only to order it).

    Parameters
    ----------
    task : BuildTask
        The task.
    cache_root : path
        The build cache (on storage every worker sees at the same path).
    *deps
        Outcomes of its dependencies (unused).

    Returns
    -------
    TaskOutcome
    """
    del deps
    root = Path(cache_root)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    spec = task.spec
    if task.kind == "build":
        made = not is_built(spec, root)
        build_synthetic(spec, root, timings=timings)
        folder = build_folder(spec, root)
    elif task.kind in ("simulate", "simulate-noiseless"):
        noiseless = task.kind == "simulate-noiseless"
        folder = simulation_dir(spec, root, noiseless=noiseless, timings=timings)
        made = bool(timings)
    else:
        done_before = _reference_done(spec, root)
        folder = reference_dir(spec, root)  # type: ignore[assignment]
        made = not done_before
    seconds = time.perf_counter() - start
    return TaskOutcome(task.key, task.kind, task.label, made, seconds, timings, str(folder),
                       f"{socket.gethostname()}:{os.getpid()}")


def _reference_done(spec: SyntheticSpec, root: Path) -> bool:
    clean = simulation_path(spec, root, noiseless=True)
    return (reference_folder(spec, clean) / "done").is_file()


def _cost(task: BuildTask) -> float:
    """A rough cost of a task, in seconds of one core (calibrated on the catalogue's builds,
    2026-12-07: about 1.2 s per simulated frame, 0.85 s per frame and group with ramps, 4 s
    plus 3.5 s per frame to process, 3 s per frame for the spaxel-scale study, 3 s per frame
    more for NS-IFU01's per-exposure outlier detection): enough to start the long chains
    first and to place the longest builds first."""
    from ifuqa.instrument.dispersers import get_disperser
    from ifuqa.scenario.load import load_scenario
    from ifuqa.simulate.exposures import detectors_for

    scenario = load_scenario(task.spec.scenario)
    detectors = detectors_for(scenario, get_disperser(scenario.grating, scenario.filter))
    dithers = max(1, len(scenario.dithers))
    frames = dithers * max(1, len(detectors))
    if task.kind == "simulate":
        return frames * (0.85 * scenario.ngroups if scenario.noise.ramps else 1.2)
    if task.kind == "simulate-noiseless":
        return frames * 0.7
    if task.kind == "reference":
        return frames * 1.6
    if "NS-IFU05" in task.spec.defects:  # one dither position goes into the cube
        frames = max(1, frames // dithers)
    seconds = 4.0 + 3.5 * frames
    if task.spec.with_scales:
        seconds += 3.0 * frames
    if "NS-IFU01" in task.spec.defects:  # outlier detection once per exposure, not per set
        seconds += 3.0 * frames
    return seconds


def build_costs(specs: Iterable[SyntheticSpec], cache_root: Path
                ) -> dict[SyntheticSpec, tuple[float, dict[str, float]]]:
    """The rough relative cost of each build, split into its own task and the tasks it shares
    with other builds (simulations, the reference cube), for a scheduler that places whole
    builds: the longest first, and not two builds at once that wait for the same shared task.

    Parameters
    ----------
    specs : iterable of SyntheticSpec
        The builds.
    cache_root : path
        The build cache (the shared tasks' keys are their cache folder names).

    Returns
    -------
    dict
        spec -> (cost of its own build task, {shared task key: its cost}); costs in the
        relative units of :func:`critical_path`.
    """
    plan = build_plan(specs, cache_root)
    shared = {t.key: t for t in plan if t.kind != "build"}
    out: dict[SyntheticSpec, tuple[float, dict[str, float]]] = {}
    for task in plan:
        if task.kind != "build":
            continue
        keys = set(task.deps)
        for dep in task.deps:
            keys.update(shared[dep].deps)
        out[task.spec] = (_cost(task), {k: _cost(shared[k]) for k in sorted(keys)})
    return out


def critical_path(tasks: list[BuildTask]) -> dict[str, float]:
    """Each task's priority for a scheduler: its cost plus the longest chain of tasks that
    wait for it (so the chains that decide the end of the run start first)."""
    cost = {t.key: _cost(t) for t in tasks}
    dependents: dict[str, list[str]] = {t.key: [] for t in tasks}
    for t in tasks:
        for d in t.deps:
            dependents[d].append(t.key)
    rank: dict[str, float] = {}
    for t in reversed(tasks):  # the plan lists dependencies first
        rank[t.key] = cost[t.key] + max((rank[k] for k in dependents[t.key]), default=0.0)
    return rank
