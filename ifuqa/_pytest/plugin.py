"""The ifuqa pytest plugin (entry point ``pytest11: ifuqa`` = :mod:`ifuqa._pytest.plugin`).

Cheap to import: no numpy, astropy or jwst at load time; those are imported by the fixtures
that need them.

Running the checks
------------------
``pytest --ifuqa``
    Run the known-issue checks (``checks/``) on the synthetic catalogue, processed with every
    fix. ``--ifuqa-scenario NAME`` (repeatable; ini ``ifuqa_scenarios``) picks scenarios;
    ``--ifuqa-defect ID`` (repeatable) processes them re-creating known defects instead.
``pytest --ifuqa-data PATH [PATH ...]``
    Run the checks on a user's own products (files or folders, searched recursively).
``--ifuqa-results PATH``
    Write every metric as JSON (see :mod:`ifuqa.verdicts.results`).
``--ifuqa-threshold NAME=VALUE``
    Override a threshold (see :mod:`ifuqa.verdicts.thresholds` for names and precedence).
``--ifuqa-generate-baseline PATH`` / ``--ifuqa-baseline PATH``
    Regression gate: write the run's metrics as a baseline, or compare every metric with one
    (a metric worse than its tolerance, or missing from the baseline, fails its test; an
    unusable baseline or one that compares nothing fails the run). See
    :mod:`ifuqa._pytest.gate_hooks`.
``--ifuqa-tolerance NAME=SPEC``
    Override a regression tolerance (ini ``ifuqa_tolerances``, ``[tool.ifuqa.tolerances]``;
    see :mod:`ifuqa.verdicts.tolerances`).
``--ifuqa-cache DIR``
    Where synthetic builds are cached (default: pytest's cache folder).
``--ifuqa-dask ADDRESS``
    Make the run's synthetic builds on a Dask cluster first (``local``: a LocalCluster;
    ``tcp://HOST:PORT``: a running scheduler whose workers see ``--ifuqa-cache``); see
    :mod:`ifuqa._pytest.build_hooks`.
``--ifuqa-catalogue NAME|DIR``
    The scenarios of ``--ifuqa``: ``default``, ``release`` (about 50 scenes) or a folder.
``--ifuqa-explore N``
    Search each known issue's scene space (Hypothesis, up to N scenes drawn) for a scene its
    checks fail on; each search is a test ``ifuqa-explore[NS-IFU0N]`` that fails with the
    minimal failing scene (``--ifuqa-explore-out DIR``, ``--ifuqa-explore-seed N``; see
    :mod:`ifuqa._pytest.explore_items`).
``--ifuqa-power-matrix``
    Also run every check on each known issue's defect dataset (ini ``ifuqa_power_matrix``):
    its own issue's checks expected to fail, every other check as a cross-talk probe; show the
    power matrix and the check × defect dataset cross-talk grid in the terminal summary and the
    HTML report (see :mod:`ifuqa.verdicts.power`, :mod:`ifuqa._pytest.power_hooks`).

Under pytest-xdist
------------------
With ``-n N`` (and no ``--dist``) the checks are handed out by dataset: each dataset's checks
run on one worker, which makes its build, the longest builds first and no worker waiting for a
simulation or reference cube another worker is making (see
:mod:`ifuqa._pytest.xdist_schedule`). An explicit ``--dist`` mode is used as asked.

Markers
-------
``ns_ifu01`` … ``ns_ifu06`` select the checks of one known issue (``-m ns_ifu05``).

Fixtures
--------
``ifuqa_dataset``
    Parametrised over the run's datasets (:class:`ifuqa.products.Dataset`).
``ifuqa_check``
    Runs an evaluation, records its metrics for the results file and summary, and judges them.
``ifuqa_thresholds``
    The resolved :class:`ifuqa.verdicts.thresholds.Thresholds`.
``ifuqa_simulate``
    A session-scoped factory ``ifuqa_simulate(name_or_path, *, seed=None, noiseless=False)``
    that simulates a scenario once per session and returns its files.
``ifuqa_scenario_name``
    Parametrised over the selected scenarios.
"""

from __future__ import annotations

import pytest

from ifuqa._pytest import explore_items, gate_hooks, options, parametrize
from ifuqa._pytest.collector import ResultCollector, results_key
from ifuqa._pytest.html_hooks import HtmlReport
from ifuqa._pytest.options import OPTION_DEFECT, OPTION_POWER
from ifuqa._pytest.power_hooks import PowerHooks
from ifuqa.evaluate.shipped_checks import checks_dir
from ifuqa.util.known_issues import ISSUES

pytest_plugins = ["ifuqa._pytest.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ifuqa's command-line options and ini keys (:mod:`ifuqa._pytest.options`)."""
    group = options.addoption(parser)
    gate_hooks.addoption(group, parser)
    explore_items.addoption(group)


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    """With ``--ifuqa``/``--ifuqa-data`` (or only ``--ifuqa-explore``) and no test paths,
    collect the checks folder."""
    known, _ = parser.parse_known_and_unknown_args(args)
    explore_only = getattr(known, "ifuqa_explore", None) is not None and not known.file_or_dir
    early_config.stash[explore_items.explore_only_key] = explore_only
    if not (getattr(known, "ifuqa", False) or getattr(known, "ifuqa_data", None)
            or explore_only):
        return
    if not known.file_or_dir:
        args.append(str(checks_dir()))


def pytest_configure(config: pytest.Config) -> None:
    """Register markers; prepare the results store."""
    if config.getoption(OPTION_POWER) and config.getoption(OPTION_DEFECT):
        raise pytest.UsageError(f"{OPTION_POWER} compares the fixed datasets with each known "
                                f"issue's defect dataset: drop {OPTION_DEFECT}")
    for issue in ISSUES:
        config.addinivalue_line(
            "markers", f"{issue.lower().replace('-', '_')}: checks of known issue {issue}")
    config.addinivalue_line("markers", "injection_recovery: defects injected into copies of a "
                                       "user's products (with --ifuqa-power-matrix)")
    config.stash[results_key] = []
    config.stash[parametrize.datasets_key] = {}
    collector = ResultCollector(config)
    config.pluginmanager.register(collector, "ifuqa-results")
    if options.power_on(config):  # cross-talk probes and the matrix in the terminal summary
        config.pluginmanager.register(PowerHooks(collector), "ifuqa-power")
    config.stash[gate_hooks.gate_key] = gate_hooks.RegressionGate(config, config.stash[results_key])
    config.pluginmanager.register(config.stash[gate_hooks.gate_key], gate_hooks.PLUGIN_NAME)
    if config.pluginmanager.hasplugin("html") and getattr(config.option, "htmlpath", None):
        config.pluginmanager.register(HtmlReport(collector), "ifuqa-html")
    if (getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput")
            and options.active(config)):  # xdist controller: each dataset on one worker
        from ifuqa._pytest.xdist_schedule import DatasetSchedulingPlugin

        config.pluginmanager.register(DatasetSchedulingPlugin(config), "ifuqa-xdist")
    if config.getoption(options.OPTION_DASK) and not hasattr(config, "workerinput"):
        from ifuqa._pytest.build_hooks import DaskBuilds

        config.pluginmanager.register(DaskBuilds(config), "ifuqa-dask")


@pytest.hookimpl(tryfirst=True)  # before -m/-k deselect: the searches carry issue markers
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Add the ``--ifuqa-explore`` searches (:mod:`ifuqa._pytest.explore_items`)."""
    explore_items.modify_items(session, config, items)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``ifuqa_scenario_name`` and ``ifuqa_dataset``
    (:func:`ifuqa._pytest.parametrize.generate_tests`)."""
    parametrize.generate_tests(metafunc)
