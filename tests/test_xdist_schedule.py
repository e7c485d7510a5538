"""The xdist scheduling of an ``--ifuqa`` run (ifuqa._pytest.xdist_schedule): each dataset's
checks on one worker, the longest builds first, never two workers on one shared product."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ifuqa._pytest.xdist_schedule import dataset_of, make_dataset_scheduling
from tests._xdist_fakes import FakeNode, fake_config

pytest.importorskip("xdist")


def test_dataset_of_reads_the_dataset_label_from_the_parameter_id() -> None:
    labels = ["bright", "bright[NS-IFU01]", "faint"]
    assert dataset_of("checks/t.py::test_a[bright]", labels) == "bright"
    assert dataset_of("checks/t.py::test_a[bright[NS-IFU01]]", labels) == "bright[NS-IFU01]"
    assert dataset_of("checks/t.py::test_r[bright[NS-IFU01]-hole]", labels) == \
        "bright[NS-IFU01]"
    assert dataset_of("checks/t.py::test_r[hole-faint]", labels) == "faint"
    assert dataset_of("checks/t.py::test_r[other]", labels) is None
    assert dataset_of("tests/t.py::test_plain", labels) is None


def test_longest_dataset_first_and_no_worker_waits_for_a_shared_simulation() -> None:
    """Four datasets: ``big`` and ``big_defect`` share a simulation; ``mid`` and ``small``
    share nothing. The first worker takes ``big``; the second takes ``mid`` rather than
    ``big_defect`` (which would wait for ``big``'s simulation); every test runs once, each
    dataset's tests on one worker."""
    own = {"big": 30.0, "big_defect": 28.0, "mid": 20.0, "small": 5.0}
    shared = {"big": {"sim-big": 10.0}, "big_defect": {"sim-big": 10.0},
              "mid": {"sim-mid": 5.0}, "small": {"sim-small": 1.0}}
    collection = [f"checks/t.py::test_{c}[{d}]" for d in own for c in "abcd"]
    collection.append("checks/t.py::test_without_dataset")
    sched = make_dataset_scheduling(fake_config(), SimpleNamespace(loadscopesched=lambda *a: None),
                                    costs=(own, shared))
    nodes = [FakeNode("gw0"), FakeNode("gw1")]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    sched.schedule()
    first = {node.name: dataset_of(collection[node.sent[0]], own) for node in nodes}
    assert first == {"gw0": "big", "gw1": "mid"}
    ran: dict[str, list[str]] = {}
    while sched.has_pending:  # finish tests in turn on each node, as workers report them
        progressed = False
        for node in nodes:
            pending = [i for i in node.sent if collection[i] not in ran]
            if pending:
                ran[collection[pending[0]]] = [node.name]
                sched.mark_test_complete(node, pending[0])
                progressed = True
        assert progressed
    assert sorted(ran) == sorted(collection)
    for label in own:
        workers = {ran[nid][0] for nid in collection if dataset_of(nid, own) == label}
        assert len(workers) == 1, label


def test_the_plugin_keeps_an_explicit_dist_mode() -> None:
    """``--dist`` given on the command line is used as asked."""
    from ifuqa._pytest.xdist_schedule import DatasetSchedulingPlugin

    option = SimpleNamespace(dist="load")
    config = SimpleNamespace(getvalue=lambda name: getattr(option, name),
                             invocation_params=SimpleNamespace(args=("-n", "2", "--dist=load")))
    assert DatasetSchedulingPlugin(config).pytest_xdist_make_scheduler(config, None) is None
    option.dist = "worksteal"
    config.invocation_params = SimpleNamespace(args=("-n", "2"))
    assert DatasetSchedulingPlugin(config).pytest_xdist_make_scheduler(config, None) is None


def test_a_real_xdist_run_keeps_each_dataset_on_one_worker(tmp_path: Path) -> None:
    """``pytest --ifuqa-data DIR -n 2``: every check of a dataset runs on the same worker (with
    xdist's own ``load`` they are dealt out to both), and ``--dist load`` given explicitly is
    kept."""
    import os
    import re
    import subprocess
    import sys

    from ifuqa.builds.analytic_products import PointCubeSpec, write_point_cube, write_point_x1d

    spec = PointCubeSpec(shape=(120, 21, 21), center_xy=(10.0, 10.0))
    for name in ("jw00001001001_first", "jw00002001001_second", "jw00003001001_third"):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        write_point_cube(folder / f"{name}_s3d.fits", spec)
        write_point_x1d(folder / f"{name}_x1d.fits", spec)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def workers_per_dataset(*extra: str) -> dict[str, set[str]]:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--ifuqa-data", str(tmp_path / "data"), "-n", "2",
             "-v", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *extra],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=600)
        seen: dict[str, set[str]] = {}
        for line in proc.stdout.splitlines():
            m = re.match(r"\[(gw\d)\] .*? (?:PASSED|FAILED|SKIPPED|XFAIL|XPASS|ERROR) "
                         r"\S+::\w+\[(?P<id>[^\]]+)\]", line)
            if m:
                seen.setdefault(m["id"], set()).add(m[1])
        assert len(seen) >= 3, proc.stdout[-3000:] + proc.stderr[-2000:]
        return seen

    assert all(len(w) == 1 for w in workers_per_dataset().values())
    assert any(len(w) == 2 for w in workers_per_dataset("--dist", "load").values())
