"""The main job's xdist schedule (issue 17, item 5): a dataset that makes a shared simulation
ranks by the chain it starts, so the datasets waiting for that simulation are not left for the
end of the run while the other worker sits idle.

The scheduler (:mod:`ifuqa._pytest.xdist_schedule`) runs here against fake workers in a small
discrete-event model: each worker runs its tests in order, the first test of a dataset makes
its build (and the shared products nobody made yet, or waits for the other worker's), each test
takes a fixed time, and every finished test is reported to the scheduler as xdist does.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ifuqa._pytest.xdist_schedule import dataset_of, make_dataset_scheduling
from tests._xdist_fakes import FakeNode, fake_config

pytest.importorskip("xdist")


def _run(own: dict[str, float], shared: dict[str, dict[str, float]], *, tests: int,
         test_s: float) -> tuple[float, dict[str, list[str]]]:
    """(makespan, datasets in the order each worker built them) of a modelled run."""
    config = fake_config()
    collection = [f"checks/t.py::test_{i}[{d}]" for d in own for i in range(tests)]
    sched = make_dataset_scheduling(config, SimpleNamespace(loadscopesched=lambda *a: None),
                                    costs=(own, shared))
    nodes = [FakeNode("gw0"), FakeNode("gw1")]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    sched.schedule()
    ready_at: dict[str, float] = {}
    clock = {node.name: 0.0 for node in nodes}
    done = {node.name: 0 for node in nodes}
    order: dict[str, list[str]] = {node.name: [] for node in nodes}
    while True:
        busy = [n for n in nodes if done[n.name] < len(n.sent)]
        if not busy:
            break
        node = min(busy, key=lambda n: clock[n.name])
        index = node.sent[done[node.name]]
        done[node.name] += 1
        label = dataset_of(collection[index], own)
        assert label is not None
        t = clock[node.name]
        if label not in order["gw0"] + order["gw1"]:
            order[node.name].append(label)
            for key, cost in shared[label].items():
                if key in ready_at:
                    t = max(t, ready_at[key])  # made (or being made) by a worker: wait for it
                else:
                    t += cost
                    ready_at[key] = t
            t += own[label]
        clock[node.name] = t + test_s
        sched.mark_test_complete(node, index)
    assert sorted(order["gw0"] + order["gw1"]) == sorted(own)
    return max(clock.values()), order


OWN = {"ramps": 40.0, "bright": 20.0, "drift_point": 45.0, "bright[01]": 20.0,
       "bright[02]": 22.0, "cr_2groups": 10.0, "drift_20mas": 16.0, "prism": 15.0,
       "pointing": 12.0, "extended": 11.0, "autocen": 11.0, "faint": 8.0, "faint[03]": 6.6,
       "pointing[04]": 6.4, "bright[05]": 2.6}
"""Own build seconds of the main job's 15 datasets (2026-12-07, fresh run, 2 shared cores)."""

SHARED = {"ramps": {"sim-ramps": 19.0}, "bright": {"sim-b": 11.0, "ref-b": 10.0},
          "bright[01]": {"sim-b": 11.0, "ref-b": 10.0}, "bright[02]": {"sim-b": 11.0},
          "bright[05]": {"sim-b": 11.0}, "drift_point": {"sim-d": 4.0, "ref-d": 6.0},
          "cr_2groups": {"sim-2g": 12.0}, "drift_20mas": {"sim-d20": 5.0},
          "prism": {"sim-p": 4.0}, "pointing": {"sim-po": 4.0}, "pointing[04]": {"sim-po": 4.0},
          "extended": {"sim-e": 5.0}, "autocen": {"sim-a": 3.0}, "faint": {"sim-f": 2.5},
          "faint[03]": {"sim-f": 2.5}}
"""Their simulations and reference cubes, shared by the datasets of one scene."""


def test_the_main_jobs_datasets_end_together() -> None:
    """The 15 builds of the main job, 24 checks each: the two workers end within a few
    seconds of each other and of half the work (the ranking by remaining cost alone, before
    chains, ended the same model 11 s apart: 255.6 s against 244.5 s)."""
    tests, test_s = 24, 0.45
    makespan, order = _run(OWN, SHARED, tests=tests, test_s=test_s)
    unique = {k: c for costs in SHARED.values() for k, c in costs.items()}
    half = (sum(OWN.values()) + sum(unique.values()) + len(OWN) * tests * test_s) / 2
    assert makespan <= half + 5.0, (makespan, half, order)
    first = {worker: labels[0] for worker, labels in order.items()}
    assert set(first.values()) <= {"ramps", "bright", "drift_point"}  # the longest first


def test_a_chain_starts_before_a_standalone_dataset_of_about_the_same_cost() -> None:
    """``maker`` shares its simulation with ``waiter``; ``alone`` costs a little more than
    ``maker`` but starts no chain. Beside the long ``big``, the second worker takes ``maker``
    (the chain of 30 s it starts), not ``alone``; ``waiter`` follows on the same worker, which
    made the simulation it needs, and nothing waits."""
    own = {"big": 50.0, "alone": 13.0, "maker": 10.0, "waiter": 10.0}
    shared = {"big": {"sim-big": 1.0}, "alone": {"sim-alone": 2.0},
              "maker": {"sim-chain": 4.0}, "waiter": {"sim-chain": 4.0}}
    makespan, order = _run(own, shared, tests=4, test_s=1.0)
    assert order["gw0"][0] == "big" and order["gw1"][0] == "maker", order
    assert order["gw1"].index("waiter") > 0
    assert makespan == pytest.approx(1.0 + 50.0 + 4 * 1.0)  # the long build alone sets the end
