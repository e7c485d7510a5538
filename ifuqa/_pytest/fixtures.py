"""The fixtures ifuqa offers checks and users' own tests: ``ifuqa_dataset``, ``ifuqa_check``,
``ifuqa_thresholds`` and ``ifuqa_simulate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ifuqa._pytest.options import INI_THRESHOLDS, OPTION_THRESHOLD
from ifuqa._pytest.recorder import CheckRecorder
from ifuqa.simulate.observation import SimulationResult


@pytest.fixture(scope="session")
def ifuqa_dataset(request: pytest.FixtureRequest) -> Any:
    """The dataset a check runs on (synthetic builds are made, or reused, on first use)."""
    handle = request.param
    if handle is None:
        pytest.skip("no ifuqa datasets")
    from ifuqa._pytest.build_hooks import build_with_progress
    from ifuqa.builds.synthetic import SyntheticSpec
    from ifuqa.products.dataset import Dataset

    if isinstance(handle, SyntheticSpec):
        return build_with_progress(request.config, handle)
    assert isinstance(handle, Dataset)
    return handle


@pytest.fixture(scope="session")
def ifuqa_thresholds(pytestconfig: pytest.Config) -> Any:
    """The run's thresholds (command line > ini > pyproject [tool.ifuqa.thresholds] >
    defaults)."""
    from ifuqa.verdicts.thresholds import Thresholds

    return Thresholds(cli=pytestconfig.getoption(OPTION_THRESHOLD),
                      ini=pytestconfig.getini(INI_THRESHOLDS),
                      rootdir=pytestconfig.rootpath)


@pytest.fixture
def ifuqa_check(request: pytest.FixtureRequest) -> CheckRecorder:
    """A :class:`CheckRecorder` for the current check and dataset."""
    dataset = request.getfixturevalue("ifuqa_dataset") if "ifuqa_dataset" in \
        request.fixturenames else None
    return CheckRecorder(request.node, dataset)


@pytest.fixture(scope="session")
def ifuqa_simulate(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., SimulationResult]:
    """Factory that simulates a scenario once per session and returns its files."""
    cache: dict[tuple[Any, ...], SimulationResult] = {}

    def run(name_or_path: str, *, seed: int | None = None,
            noiseless: bool = False) -> SimulationResult:
        key = (str(name_or_path), seed, noiseless)
        if key not in cache:
            from ifuqa.scenario import load_scenario
            from ifuqa.simulate import simulate

            scenario = load_scenario(name_or_path)
            out = tmp_path_factory.mktemp(f"sim-{scenario.name}")
            cache[key] = simulate(scenario, out, seed=seed, noiseless=noiseless)
        return cache[key]

    return run
