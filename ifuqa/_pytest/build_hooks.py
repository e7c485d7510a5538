"""Synthetic builds in a pytest run: one progress line per build as it starts and ends (with its
stage timings, also from pytest-xdist workers), and ``--ifuqa-dask=ADDRESS``, which makes the
run's builds on a Dask cluster before the checks run.

Without ``--ifuqa-dask`` nothing changes: each dataset is built on first use by the fixture
(:func:`build_with_progress`), in the process that runs the test. With it, the builds of the
selected tests (or, under xdist, of every dataset of the run) are planned as tasks
(:mod:`ifuqa.builds.tasks`: simulations and reference cubes shared, each made once) and run on
the cluster (:mod:`ifuqa.cluster.builds`) — ``local`` starts a ``LocalCluster``; the
fixtures then find them in the cache. The checks themselves run in pytest as usual, so results,
baselines and reports are those of a serial run.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from ifuqa._pytest.options import OPTION_DASK, cache_root


def emit(config: pytest.Config, text: str) -> None:
    """Show a line now, past output capturing: on the terminal, or, on an xdist worker, on its
    standard error (which is the controller's terminal), prefixed with the worker id."""
    capman = config.pluginmanager.getplugin("capturemanager")
    workerinput = getattr(config, "workerinput", None)
    with capman.global_and_fixture_disabled() if capman else _nothing():
        if workerinput is not None:
            sys.stderr.write(f"[{workerinput.get('workerid', 'gw?')}] {text}\n")
            sys.stderr.flush()
            return
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(text)
        else:  # pragma: no cover - -p no:terminal
            sys.stdout.write(text + "\n")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def build_with_progress(config: pytest.Config, spec: Any) -> Any:
    """:func:`ifuqa.builds.synthetic.build_synthetic`, with a line as the build starts and one
    as it ends (its stage timings), when it is not cached yet."""
    from ifuqa.builds.synthetic import build_synthetic, is_built

    root = cache_root(config)
    if is_built(spec, root):
        return build_synthetic(spec, root)
    emit(config, f"ifuqa build START {spec.label}")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    dataset = build_synthetic(spec, root, timings=timings)
    seconds = time.perf_counter() - start
    if timings:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if v >= 0.05)
        emit(config, f"ifuqa build DONE  {spec.label} in {seconds:.1f} s ({stages})")
    else:
        emit(config, f"ifuqa build DONE  {spec.label}: made by another process (waited "
                     f"{seconds:.1f} s)")
    return dataset


class DaskBuilds:
    """``--ifuqa-dask``: the run's builds on a cluster before its tests (see the module)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.address = config.getoption(OPTION_DASK)

    def _under_xdist(self) -> bool:
        return self.config.pluginmanager.hasplugin("dsession")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Under xdist (on the controller, which does not collect): build every dataset."""
        if self._under_xdist():
            from ifuqa._pytest.parametrize import dataset_params

            self._build([h for _, h in dataset_params(self.config)])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """In a plain run: build the datasets of the selected tests."""
        if self._under_xdist():
            return
        handles = []
        for item in session.items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "ifuqa_dataset" in callspec.params:
                handles.append(callspec.params["ifuqa_dataset"])
        self._build(handles)

    def _build(self, handles: list[Any]) -> None:
        from ifuqa.builds.synthetic import SyntheticSpec
        from ifuqa.cluster.builds import run_builds
        from ifuqa.cluster.connect import ClusterError, dask_client

        specs = list(dict.fromkeys(h for h in handles if isinstance(h, SyntheticSpec)))
        if not specs:
            return
        root = cache_root(self.config).resolve()
        say = lambda text: emit(self.config, text)  # noqa: E731
        try:
            with dask_client(self.address, say=say) as client:
                run = run_builds(specs, root, client=client,
                                 on_event=lambda event: say(event.line()))
        except ClusterError as exc:
            raise pytest.UsageError(f"{OPTION_DASK}={self.address}: {exc}") from None
        made = sum(o.made for o in run.builds())
        retried = sum(run.retries.values())
        say(f"ifuqa: {len(specs)} builds on Dask ({made} made, {len(specs) - made} cached"
            + (f", {len(run.failures)} tasks FAILED" if run.failures else "")
            + (f", {retried} retries after a worker died" if retried else "")
            + f") in {run.wall_s:.1f} s")
        # a failed build is left to its fixture, which builds it here and fails its tests
        # with the reason, as without --ifuqa-dask
