"""The ifuqa pytest plugin (entry point ``pytest11: ifuqa``).

Cheap to import: no numpy, astropy or jwst at load time; those are imported by the fixtures
that need them.

Options
-------
``--ifuqa-scenario NAME`` (repeatable; ini ``ifuqa_scenarios``)
    Catalogue scenarios (or TOML paths) the ``ifuqa_scenario_name`` fixture is parametrised over;
    default: the whole catalogue.

Fixtures
--------
``ifuqa_simulate``
    A session-scoped factory ``ifuqa_simulate(name_or_path, *, seed=None, noiseless=False)``
    that simulates a scenario once per session (cached by its arguments) and returns the
    :class:`ifuqa.simulate.SimulationResult`.
``ifuqa_scenario_name``
    Parametrised over the selected scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ifuqa.simulate import SimulationResult

OPTION_SCENARIO = "--ifuqa-scenario"
INI_SCENARIOS = "ifuqa_scenarios"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ifuqa's command-line options and ini keys."""
    group = parser.getgroup("ifuqa", "NIRSpec IFU quality assurance")
    group.addoption(OPTION_SCENARIO, action="append", default=None, metavar="NAME",
                    help="scenario (catalogue name or TOML path) to run; repeatable "
                         "(default: the whole catalogue)")
    parser.addini(INI_SCENARIOS, type="linelist", default=[],
                  help="default scenarios when --ifuqa-scenario is not given")


def selected_scenarios(config: pytest.Config) -> list[str]:
    """Scenarios chosen on the command line, else in the ini file, else the whole catalogue."""
    chosen = config.getoption(OPTION_SCENARIO) or config.getini(INI_SCENARIOS)
    if chosen:
        return list(chosen)
    from ifuqa.scenario import catalogue_names

    return catalogue_names()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``ifuqa_scenario_name`` over the selected scenarios."""
    if "ifuqa_scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("ifuqa_scenario_name", selected_scenarios(metafunc.config))


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
