"""Running a build plan (:func:`ifuqa.builds.tasks.build_plan`) in this process or on a Dask
cluster, reporting each task as it starts and ends.

On a cluster every task is submitted under its content key with its dependencies, so the
simulations run first, each shared intermediate product (a simulation, a reference cube) is made
once, and the scheduler keeps every worker busy. A worker that dies mid-task is replaced by its
nanny and the scheduler runs the task again elsewhere (up to ``distributed.scheduler.allowed-
failures`` times, 3 by default); the run reports each such retry (the scheduler's count of
workers lost while running the task), and a task that kills too many workers
(``KilledWorker``) or raises is reported as failed, with the builds that needed it.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifuqa.builds.synthetic import SyntheticSpec
from ifuqa.builds.tasks import BuildTask, TaskOutcome, build_plan, critical_path, run_task

__all__ = ["BuildEvent", "BuildRun", "run_builds"]


@dataclass
class BuildEvent:
    """A task started, ended or failed.

    Attributes
    ----------
    what : {"start", "end", "fail"}
    task : BuildTask
    outcome : TaskOutcome, optional
        For ``end``.
    message : str
        Why it failed (``fail``); where it runs (``start``).
    retries : int
        Times the task was started again because its worker died.
    pid : int, optional
        The worker process running it (``start`` on a cluster).
    """

    what: str
    task: BuildTask
    outcome: TaskOutcome | None = None
    message: str = ""
    retries: int = 0
    pid: int | None = None

    def line(self) -> str:
        """A line for a person following the run."""
        retried = (f" [retried {self.retries}× after its worker died]" if self.retries else "")
        if self.what == "start":
            return f"ifuqa {self.task.kind} START {self.task.label}{self.message}"
        if self.what == "fail":
            return f"ifuqa {self.task.kind} FAILED {self.task.label}: {self.message}{retried}"
        assert self.outcome is not None
        return f"ifuqa {self.task.kind} DONE  {self.outcome.describe()}{retried}"


@dataclass
class BuildRun:
    """What a run of a build plan did."""

    tasks: list[BuildTask]
    outcomes: dict[str, TaskOutcome] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Every task succeeded."""
        return not self.failures

    def builds(self) -> list[TaskOutcome]:
        """The outcomes of the build tasks, in plan order."""
        return [self.outcomes[t.key] for t in self.tasks
                if t.kind == "build" and t.key in self.outcomes]


def run_builds(specs: Iterable[SyntheticSpec], cache_root: Path, *, client: Any = None,
               on_event: Callable[[BuildEvent], object] | None = None,
               poll_s: float = 0.5) -> BuildRun:
    """Make the builds of ``specs`` (reusing the cache).

    Parameters
    ----------
    specs : iterable of SyntheticSpec
        The builds.
    cache_root : path
        The build cache (absolute; on a cluster, on storage every worker sees).
    client : distributed.Client, optional
        Run on this cluster; None: serially in this process.
    on_event : callable, optional
        Called with each :class:`BuildEvent`.
    poll_s : float
        How often the cluster is asked which tasks have started.

    Returns
    -------
    BuildRun
    """
    root = Path(cache_root).resolve()
    tasks = build_plan(specs, root)
    run = BuildRun(tasks)
    emit = on_event or (lambda event: None)
    start = time.perf_counter()
    if client is None:
        for task in tasks:
            failed = [d for d in task.deps if d in run.failures]
            if failed:
                run.failures[task.key] = f"not run: {failed[0]} failed"
                emit(BuildEvent("fail", task, message=run.failures[task.key]))
                continue
            emit(BuildEvent("start", task))
            try:
                outcome = run_task(task, root)
            except Exception as exc:
                run.failures[task.key] = f"{type(exc).__name__}: {exc}"
                emit(BuildEvent("fail", task, message=run.failures[task.key]))
                continue
            run.outcomes[task.key] = outcome
            emit(BuildEvent("end", task, outcome))
    else:
        _run_on_cluster(run, root, client, emit, poll_s)
    run.wall_s = time.perf_counter() - start
    return run


def suspicious_counts(keys: list[str], dask_scheduler: Any = None) -> dict[str, int]:
    """On the scheduler: how many workers died while running each task."""
    tasks = dask_scheduler.tasks
    return {k: int(getattr(tasks[k], "suspicious", 0)) for k in keys if k in tasks}


TOPIC = "ifuqa-builds"
"""Dask event topic on which workers announce the tasks they start."""


def _run_on_worker(task: BuildTask, root: str, *deps: object) -> TaskOutcome:
    """On a worker: announce the start (:data:`TOPIC`), then run the task."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(TOPIC, {"key": f"ifuqa-{task.kind}-{task.key}",
                             "where": f"{worker.address} (pid {os.getpid()})",
                             "pid": os.getpid()})
    return run_task(task, root, *deps)


def _run_on_cluster(run: BuildRun, root: Path, client: Any, emit: Callable, poll_s: float) -> None:
    from distributed import wait

    from ifuqa.cluster.connect import check_cache_visible

    check_cache_visible(client, root)
    events: queue.SimpleQueue = queue.SimpleQueue()
    client.subscribe_topic(TOPIC, lambda event: events.put(event[1]))
    futures: dict[str, Any] = {}
    by_dask_key: dict[str, BuildTask] = {}
    priority = critical_path(run.tasks)
    for task in run.tasks:
        dask_key = f"ifuqa-{task.kind}-{task.key}"
        futures[task.key] = client.submit(_run_on_worker, task, str(root),
                                          *[futures[d] for d in task.deps], key=dask_key,
                                          pure=False, priority=round(priority[task.key], 3))
        by_dask_key[dask_key] = task
    pending = {f.key: f for f in futures.values()}
    order = {key: i for i, key in enumerate(pending)}
    started: set[str] = set()
    while pending:
        try:
            done, _ = wait(list(pending.values()), timeout=poll_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        while not events.empty():
            begun = events.get()
            key = begun.get("key")
            if key in pending and key not in started:
                started.add(key)
                emit(BuildEvent("start", by_dask_key[key], message=f" on {begun['where']}",
                                pid=begun.get("pid")))
        if not done:
            continue
        counts = client.run_on_scheduler(suspicious_counts, [f.key for f in done])
        for fut in sorted(done, key=lambda f: order[f.key]):
            task = by_dask_key[fut.key]
            pending.pop(fut.key)
            if fut.key not in started:  # finished between two polls
                started.add(fut.key)
                emit(BuildEvent("start", task))
            retries = counts.get(fut.key, 0)
            if retries:
                run.retries[task.key] = retries
            if fut.status == "finished":
                outcome = fut.result()
                run.outcomes[task.key] = outcome
                emit(BuildEvent("end", task, outcome, retries=retries))
                continue
            failed = [d for d in task.deps if d in run.failures]
            if failed:
                message = f"not run: {failed[0]} failed"
            else:
                exc = fut.exception()
                message = f"{type(exc).__name__}: {exc}"
            run.failures[task.key] = message
            emit(BuildEvent("fail", task, message=message, retries=retries))
    for fut in futures.values():
        fut.release()
