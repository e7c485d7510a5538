"""ifuqa's command-line options and ini keys, and the choices they make (scenarios, cache
folder, whether the power matrix runs). Cheap to import: pytest and pathlib only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

OPTION_RUN = "--ifuqa"
OPTION_DATA = "--ifuqa-data"
OPTION_SCENARIO = "--ifuqa-scenario"
OPTION_DEFECT = "--ifuqa-defect"
OPTION_RESULTS = "--ifuqa-results"
OPTION_THRESHOLD = "--ifuqa-threshold"
OPTION_CACHE = "--ifuqa-cache"
OPTION_POWER = "--ifuqa-power-matrix"
OPTION_DASK = "--ifuqa-dask"
OPTION_CATALOGUE = "--ifuqa-catalogue"
OPTION_MANIFEST = "--ifuqa-manifest"
INI_SCENARIOS = "ifuqa_scenarios"
INI_POWER = "ifuqa_power_matrix"
INI_THRESHOLDS = "ifuqa_thresholds"


def addoption(parser: pytest.Parser) -> Any:
    """Register ifuqa's command-line options and ini keys.

    Parameters
    ----------
    parser : pytest.Parser
        pytest's option parser.

    Returns
    -------
    OptionGroup
        The ``ifuqa`` option group (the regression gate adds its options to it).
    """
    group = parser.getgroup("ifuqa", "NIRSpec IFU quality assurance")
    group.addoption(OPTION_RUN, action="store_true", default=False,
                    help="run the known-issue checks on the synthetic scenario catalogue")
    group.addoption(OPTION_DATA, nargs="+", action="extend", default=None, metavar="PATH",
                    help="run the known-issue checks on your own products (files or folders)")
    group.addoption(OPTION_SCENARIO, action="append", default=None, metavar="NAME",
                    help="scenario (catalogue name or TOML path) to run; repeatable "
                         "(default: the whole catalogue)")
    group.addoption(OPTION_DEFECT, action="append", default=[], metavar="ID",
                    help="process the synthetic scenarios re-creating this known defect "
                         "(repeatable), to see the checks fail")
    group.addoption(OPTION_RESULTS, default=None, metavar="PATH",
                    help="write every metric and verdict as JSON to PATH")
    group.addoption(OPTION_THRESHOLD, action="append", default=[], metavar="NAME=VALUE",
                    help="override a check threshold (highest precedence)")
    group.addoption(OPTION_CACHE, default=None, metavar="DIR",
                    help="cache folder for synthetic builds (default: pytest's cache, or "
                         ".ifuqa-cache in the root folder with -p no:cacheprovider)")
    group.addoption(OPTION_POWER, action="store_true", default=False,
                    help="with --ifuqa, also run the checks on each known issue's defect "
                         "dataset (expected to fail) and report the defect-vs-fix power matrix")
    group.addoption(OPTION_DASK, default=None, metavar="ADDRESS",
                    help="make the synthetic builds on a Dask cluster before the checks run: "
                         "'local' (a LocalCluster on this machine) or tcp://HOST:PORT (a "
                         "running scheduler; its workers must see --ifuqa-cache)")
    group.addoption(OPTION_CATALOGUE, default=None, metavar="NAME|DIR",
                    help="scenario catalogue for --ifuqa: 'default', 'release' (about 50 "
                         "scenes, opt-in) or a folder of scenario TOML files")
    group.addoption(OPTION_MANIFEST, default=None, metavar="PATH",
                    help="datasets to check, as JSON written by `ifuqa check` (one batch of "
                         "an archive run)")
    parser.addini(INI_POWER, type="bool", default=False,
                  help="run the power matrix (as --ifuqa-power-matrix)")
    parser.addini(INI_SCENARIOS, type="linelist", default=[],
                  help="default scenarios when --ifuqa-scenario is not given")
    parser.addini(INI_THRESHOLDS, type="linelist", default=[],
                  help="threshold overrides, one 'name = value' per line")
    return group


def active(config: pytest.Config) -> bool:
    return bool(config.getoption(OPTION_RUN) or config.getoption(OPTION_DATA)
                or config.getoption(OPTION_MANIFEST))


def selected_scenarios(config: pytest.Config) -> list[str]:
    """Scenarios chosen on the command line, else in the ini file, else the whole catalogue."""
    chosen = config.getoption(OPTION_SCENARIO) or config.getini(INI_SCENARIOS)
    if chosen:
        return list(chosen)
    if config.getoption(OPTION_CATALOGUE):
        from ifuqa.scenario.catalogues import catalogue_scenarios

        return catalogue_scenarios(config.getoption(OPTION_CATALOGUE))
    from ifuqa.scenario import catalogue_names

    return catalogue_names()


def power_on(config: pytest.Config) -> bool:
    """Whether the power matrix runs: ``--ifuqa`` with ``--ifuqa-power-matrix`` (or the ini key),
    and no ``--ifuqa-defect`` (which makes the fixed datasets defective; together with the
    command-line flag that is a usage error, see :func:`pytest_configure`)."""
    return bool(config.getoption(OPTION_RUN) and not config.getoption(OPTION_DEFECT)
                and (config.getoption(OPTION_POWER) or config.getini(INI_POWER)))


def cache_root(config: pytest.Config) -> Path:
    chosen = config.getoption(OPTION_CACHE)
    if chosen:
        return Path(chosen)
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None:
        return Path(cache.mkdir("ifuqa-builds"))
    return Path(config.rootpath) / ".ifuqa-cache"
