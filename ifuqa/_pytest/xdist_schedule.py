"""pytest-xdist scheduling of an ``--ifuqa`` run: each dataset's checks on one worker, the
longest builds first.

With xdist's default ``--dist load`` the checks of one dataset are spread over every worker:
each worker that needs a dataset not built yet waits on its build lock while another builds
it (about 110 s of idle workers in the main job, measured 2026-12-07), and the last builds run
while the other worker has nothing left. :class:`DatasetScheduling` hands out work by dataset
instead (xdist's ``loadscope`` machinery, the scope being the dataset): a worker takes all the
checks of one dataset, so each build is made by the worker that runs its checks; the next
dataset a free worker takes is the one with the largest remaining cost
(:func:`ifuqa.builds.tasks.build_costs`: its build, plus the shared simulations and reference
cube nobody has started yet), skipping datasets that would wait for a shared product another
worker is still making. A dataset that would make a shared product other datasets wait for
ranks by the chain it starts (its cost plus the costliest of those datasets), so that the
datasets waiting for it are not left for the end, when the other worker could only sit idle
while they wait (measured 2026-12-07: the main job's last 14 s, a defect dataset whose scene's
simulation the other worker had just made). Tests without a dataset are a scope each.

It replaces xdist's ``load`` only when ``--dist`` was not given (``-n N`` alone); any explicit
``--dist`` mode is used as asked. Results are those of any other schedule: builds are
content-keyed and deterministic (:mod:`ifuqa.builds.synthetic`). Cheap to import (xdist and
the builds are imported when the scheduler is made).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

__all__ = ["DatasetSchedulingPlugin", "dataset_of", "make_dataset_scheduling"]

TEST_COST = 0.5
"""Rough seconds of one check (the evaluations), added to its dataset's cost."""

NO_DATASET_COST = 5.0
"""Rough seconds of a test without a dataset."""


def dataset_of(nodeid: str, labels: Iterable[str]) -> str | None:
    """The dataset label in a test's parameter id (``check[LABEL]``, ``check[LABEL-x]``,
    ``check[x-LABEL]``), the longest label that matches; None for a test without one.

    Parameters
    ----------
    nodeid : str
        The test's node id.
    labels : iterable of str
        The run's dataset labels.

    Returns
    -------
    str or None
    """
    if "[" not in nodeid or not nodeid.endswith("]"):
        return None
    inner = nodeid[nodeid.index("[") + 1:-1]
    for label in sorted(labels, key=len, reverse=True):
        if (inner == label or inner.startswith(label + "-") or inner.endswith("-" + label)
                or f"-{label}-" in inner):
            return label
    return None


def _explicit_dist(config: pytest.Config) -> bool:
    args = [str(a) for a in config.invocation_params.args]
    return any(a == "--dist" or a.startswith("--dist=") or a == "-d" for a in args)


class DatasetSchedulingPlugin:
    """Registered on the xdist controller of an ``--ifuqa`` run (see the module)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """:class:`DatasetScheduling` in place of the default ``load`` scheduling."""
        if config.getvalue("dist") != "load" or _explicit_dist(config):
            return None
        return make_dataset_scheduling(config, log)


def _dataset_costs(config: pytest.Config) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(label -> cost of its own build, label -> {shared task key: cost}) of the run's
    datasets; user datasets (no build) cost nothing."""
    from ifuqa._pytest.options import cache_root
    from ifuqa._pytest.parametrize import dataset_params
    from ifuqa.builds.synthetic import SyntheticSpec
    from ifuqa.builds.tasks import build_costs

    params = dataset_params(config)
    specs = {label: h for label, h in params if isinstance(h, SyntheticSpec)}
    costs = build_costs(specs.values(), cache_root(config)) if specs else {}
    own = {label: 0.0 for label, _ in params}
    shared: dict[str, dict[str, float]] = {label: {} for label, _ in params}
    for label, spec in specs.items():
        own[label], shared[label] = costs[spec]
    return own, shared


def make_dataset_scheduling(config: pytest.Config, log: Any,
                            costs: tuple[Mapping[str, float],
                                         Mapping[str, Mapping[str, float]]] | None = None
                            ) -> Any:
    """A :class:`DatasetScheduling` (built on xdist's ``LoadScopeScheduling``) for the run.

    Parameters
    ----------
    config : pytest.Config
        The controller's configuration.
    log : xdist log producer
        As passed to ``pytest_xdist_make_scheduler``.
    costs : (mapping, mapping), optional
        (label -> own build cost, label -> {shared task key: cost}); default: the run's
        datasets (:func:`ifuqa.builds.tasks.build_costs`).

    Returns
    -------
    DatasetScheduling
    """
    from xdist.scheduler import LoadScopeScheduling

    own, shared = costs if costs is not None else _dataset_costs(config)

    class DatasetScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """``loadscope`` with the dataset as the scope, placed longest first."""

        def __init__(self) -> None:
            super().__init__(config, log)
            self.own = dict(own)
            self.shared = {k: dict(v) for k, v in shared.items()}
            self.claimed: dict[str, tuple[Any, str]] = {}  # shared key -> (node, scope)

        def _split_scope(self, nodeid: str) -> str:
            label = dataset_of(nodeid, self.own)
            return f"ifuqa-dataset:{label}" if label is not None else nodeid

        def _label(self, scope: str) -> str | None:
            prefix = "ifuqa-dataset:"
            return scope[len(prefix):] if scope.startswith(prefix) else None

        def _remaining_cost(self, scope: str, tests: int) -> float:
            label = self._label(scope)
            if label is None:
                return NO_DATASET_COST
            pending = sum(c for k, c in self.shared.get(label, {}).items()
                          if k not in self.claimed)
            return self.own.get(label, 0.0) + pending + TEST_COST * tests

        def _priority(self, scope: str) -> float:
            """Remaining cost, plus, when the dataset would make shared products that other
            pending datasets need, the costliest of those (the chain it starts)."""
            cost = self._remaining_cost(scope, len(self.workqueue[scope]))
            label = self._label(scope)
            makes = {k for k in self.shared.get(label or "", {}) if k not in self.claimed}
            if not makes:
                return cost
            follow = 0.0
            for other, tests in self.workqueue.items():
                other_label = self._label(other)
                if other == scope or other_label is None:
                    continue
                if makes & set(self.shared.get(other_label, {})):
                    follow = max(follow, self.own.get(other_label, 0.0) + TEST_COST * len(tests))
            return cost + follow

        def _waits(self, scope: str, node: Any) -> bool:
            """Whether the dataset needs a shared product another worker is still making
            (its dataset is assigned there and none of its checks has finished)."""
            label = self._label(scope)
            for key in self.shared.get(label or "", {}):
                owner = self.claimed.get(key)
                if owner is None or owner[0] is node:
                    continue
                unit = self.assigned_work.get(owner[0], {}).get(owner[1])
                if unit is not None and not any(unit.values()):
                    return True
            return False

        def _assign_work_unit(self, node: Any) -> None:
            assert self.workqueue
            ranked = sorted(self.workqueue, key=lambda s: -self._priority(s))
            scope = next((s for s in ranked if not self._waits(s, node)), ranked[0])
            work_unit = self.workqueue.pop(scope)
            for key in self.shared.get(self._label(scope) or "", {}):
                self.claimed.setdefault(key, (node, scope))
            self.assigned_work.setdefault(node, {})[scope] = work_unit
            collection = self.registered_collections[node]
            node.send_runtest_some([collection.index(nodeid)
                                    for nodeid, done in work_unit.items() if not done])

    return DatasetScheduling()
