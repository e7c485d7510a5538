"""The ifuqa pytest plugin (entry point ``pytest11: ifuqa``).

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
    Write every metric as JSON (see :mod:`ifuqa.results`).
``--ifuqa-threshold NAME=VALUE``
    Override a threshold (see :mod:`ifuqa.thresholds` for names and precedence).
``--ifuqa-generate-baseline PATH`` / ``--ifuqa-baseline PATH``
    Regression gate: write the run's metrics as a baseline, or compare every metric with one
    (a metric worse than its tolerance, or missing from the baseline, fails its test; an
    unusable baseline or one that compares nothing fails the run). See :mod:`ifuqa.gate`.
``--ifuqa-tolerance NAME=SPEC``
    Override a regression tolerance (ini ``ifuqa_tolerances``, ``[tool.ifuqa.tolerances]``;
    see :mod:`ifuqa.tolerances`).
``--ifuqa-cache DIR``
    Where synthetic builds are cached (default: pytest's cache folder).
``--ifuqa-power-matrix``
    Also run each known issue's checks on its defect dataset (ini ``ifuqa_power_matrix``),
    expecting them to fail, and show the defect-vs-fix power matrix in the HTML report (see
    :mod:`ifuqa.power`).

Markers
-------
``ns_ifu01`` … ``ns_ifu06`` select the checks of one known issue (``-m ns_ifu05``).

Fixtures
--------
``ifuqa_dataset``
    Parametrised over the run's datasets (:class:`ifuqa.datasets.Dataset`).
``ifuqa_check``
    Runs an evaluation, records its metrics for the results file and summary, and judges them.
``ifuqa_thresholds``
    The resolved :class:`ifuqa.thresholds.Thresholds`.
``ifuqa_simulate``
    A session-scoped factory ``ifuqa_simulate(name_or_path, *, seed=None, noiseless=False)``
    that simulates a scenario once per session and returns its files.
``ifuqa_scenario_name``
    Parametrised over the selected scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ifuqa import gate

if TYPE_CHECKING:
    from ifuqa.simulate import SimulationResult

OPTION_RUN = "--ifuqa"
OPTION_DATA = "--ifuqa-data"
OPTION_SCENARIO = "--ifuqa-scenario"
OPTION_DEFECT = "--ifuqa-defect"
OPTION_RESULTS = "--ifuqa-results"
OPTION_THRESHOLD = "--ifuqa-threshold"
OPTION_CACHE = "--ifuqa-cache"
OPTION_POWER = "--ifuqa-power-matrix"
INI_SCENARIOS = "ifuqa_scenarios"
INI_POWER = "ifuqa_power_matrix"
INI_THRESHOLDS = "ifuqa_thresholds"
ISSUES = ("NS-IFU01", "NS-IFU02", "NS-IFU03", "NS-IFU04", "NS-IFU05", "NS-IFU06")
RECORD_KEY = "ifuqa_record"
APPLICABILITY_KEY = "ifuqa_applicability"

results_key = pytest.StashKey[list]()
datasets_key = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ifuqa's command-line options and ini keys."""
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
    parser.addini(INI_POWER, type="bool", default=False,
                  help="run the power matrix (as --ifuqa-power-matrix)")
    parser.addini(INI_SCENARIOS, type="linelist", default=[],
                  help="default scenarios when --ifuqa-scenario is not given")
    parser.addini(INI_THRESHOLDS, type="linelist", default=[],
                  help="threshold overrides, one 'name = value' per line")
    gate.addoption(group, parser)


def checks_dir() -> Path:
    """The folder of the known-issue checks (the repository's ``checks/`` or the installed
    copy inside the package)."""
    here = Path(__file__).resolve().parent
    repo = here.parent / "checks"
    return repo if repo.is_dir() else here / "_checks"


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption(OPTION_RUN) or config.getoption(OPTION_DATA))


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    """With ``--ifuqa``/``--ifuqa-data`` and no test paths, collect the checks folder."""
    known, _ = parser.parse_known_and_unknown_args(args)
    if not (getattr(known, "ifuqa", False) or getattr(known, "ifuqa_data", None)):
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
    config.stash[results_key] = []
    config.stash[datasets_key] = {}
    collector = ResultCollector(config)
    config.pluginmanager.register(collector, "ifuqa-results")
    config.stash[gate.gate_key] = gate.RegressionGate(config, config.stash[results_key])
    config.pluginmanager.register(config.stash[gate.gate_key], gate.PLUGIN_NAME)
    if config.pluginmanager.hasplugin("html") and getattr(config.option, "htmlpath", None):
        config.pluginmanager.register(HtmlReport(collector), "ifuqa-html")


def selected_scenarios(config: pytest.Config) -> list[str]:
    """Scenarios chosen on the command line, else in the ini file, else the whole catalogue."""
    chosen = config.getoption(OPTION_SCENARIO) or config.getini(INI_SCENARIOS)
    if chosen:
        return list(chosen)
    from ifuqa.scenario import catalogue_names

    return catalogue_names()


def _dataset_params(config: pytest.Config) -> list[tuple[str, Any]]:
    """(id, handle) of every dataset of the run; handles are built lazily by the fixture."""
    cached = config.stash[datasets_key].get("params")
    if cached is not None:
        return cached
    params: list[tuple[str, Any]] = []
    if config.getoption(OPTION_RUN):
        from ifuqa.datasets import SyntheticSpec
        from ifuqa.scenario import load_scenario

        defects = tuple(sorted(config.getoption(OPTION_DEFECT)))
        for name in selected_scenarios(config):
            scenario = load_scenario(name)
            spec = SyntheticSpec(name, defects=defects, **_extras_for(scenario))
            params.append((spec.label, spec))
        if _power_on(config):
            params.extend(_power_params(config, params))
    for path_group in _user_datasets(config):
        params.append((path_group.name, path_group))
    config.stash[datasets_key]["params"] = params
    return params


def _power_on(config: pytest.Config) -> bool:
    """Whether the power matrix runs: ``--ifuqa`` with ``--ifuqa-power-matrix`` (or the ini key),
    and no ``--ifuqa-defect`` (which makes the fixed datasets defective; together with the
    command-line flag that is a usage error, see :func:`pytest_configure`)."""
    return bool(config.getoption(OPTION_RUN) and not config.getoption(OPTION_DEFECT)
                and (config.getoption(OPTION_POWER) or config.getini(INI_POWER)))


def _power_params(config: pytest.Config, fixed: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The defect datasets of the power matrix for the run's scenarios (see
    :mod:`ifuqa.power`); stashes ``power`` (defect label -> row) and ``power_layout``."""
    from ifuqa.power import power_datasets

    labels = {spec.scenario: label for label, spec in fixed}
    rows, layout, extra = {}, [], []
    for row, spec in power_datasets(labels, _cache_root(config)):
        rows[spec.label] = row
        layout.append((row, labels[row.scenario], spec.label))
        extra.append((spec.label, spec))
    config.stash[datasets_key].update(power=rows, power_layout=layout)
    return extra


def _extras_for(scenario: Any) -> dict[str, bool]:
    """Which extra products a synthetic scenario gets (they cost processing time, and the main
    job must stay within minutes): the noiseless reference cube (the true PSF peak, NS-IFU01)
    and the spaxel-scale study (NS-IFU02) are built for the dithered (>= 4 positions), well
    centred (no pointing offset, no drift) point sources outside the PRISM, simulated without
    ramps (a ramp-simulated scene is there for cosmic-ray rejection) — in the catalogue,
    ``bright_point_g395h``. Other scenarios run the truth-free NS-IFU01 hole check and skip
    these two, saying so.
    """
    src = scenario.sources[0]
    dithered_point = src.kind == "point" and len(scenario.dithers) >= 4
    centred = tuple(scenario.pointing_offset) == (0.0, 0.0) and tuple(src.drift_mas) == (0.0,
                                                                                          0.0)
    full = dithered_point and centred and scenario.grating != "PRISM" and not scenario.noise.ramps
    return {"with_reference": full, "with_scales": full}


def _user_datasets(config: pytest.Config) -> list[Any]:
    paths = config.getoption(OPTION_DATA)
    if not paths:
        return []
    from ifuqa.discovery import discover

    return discover([Path(p) for p in paths])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``ifuqa_scenario_name`` and ``ifuqa_dataset``."""
    if "ifuqa_scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("ifuqa_scenario_name", selected_scenarios(metafunc.config))
    if "ifuqa_dataset" in metafunc.fixturenames:
        params = _dataset_params(metafunc.config) if _active(metafunc.config) else []
        if not params:
            metafunc.parametrize("ifuqa_dataset", [pytest.param(
                None, marks=pytest.mark.skip(reason="no ifuqa datasets: run with --ifuqa or "
                                                    "--ifuqa-data PATH"))], ids=["no-data"])
            return
        power = metafunc.config.stash[datasets_key].get("power")
        if power:  # defect datasets: only the checks they must fail, expected to fail
            from ifuqa.power import power_params

            params = power_params(metafunc.function.__name__, _issues_of(metafunc), params,
                                  power)
        metafunc.parametrize("ifuqa_dataset", [h for _, h in params], ids=[i for i, _ in params],
                             indirect=True, scope="session")


def _issues_of(metafunc: pytest.Metafunc) -> set[str]:
    """Known issues of a check, from its ``ns_ifu0N`` markers."""
    names = {m.name for m in metafunc.definition.iter_markers()}
    return {i for i in ISSUES if i.lower().replace("-", "_") in names}


def _cache_root(config: pytest.Config) -> Path:
    chosen = config.getoption(OPTION_CACHE)
    if chosen:
        return Path(chosen)
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None:
        return Path(cache.mkdir("ifuqa-builds"))
    return Path(config.rootpath) / ".ifuqa-cache"


@pytest.fixture(scope="session")
def ifuqa_dataset(request: pytest.FixtureRequest) -> Any:
    """The dataset a check runs on (synthetic builds are made, or reused, on first use)."""
    handle = request.param
    if handle is None:
        pytest.skip("no ifuqa datasets")
    from ifuqa.datasets import Dataset, SyntheticSpec, build_synthetic

    if isinstance(handle, SyntheticSpec):
        return build_synthetic(handle, _cache_root(request.config))
    assert isinstance(handle, Dataset)
    return handle


@pytest.fixture(scope="session")
def ifuqa_thresholds(pytestconfig: pytest.Config) -> Any:
    """The run's thresholds (command line > ini > pyproject [tool.ifuqa.thresholds] >
    defaults)."""
    from ifuqa.thresholds import Thresholds

    return Thresholds(cli=pytestconfig.getoption(OPTION_THRESHOLD),
                      ini=pytestconfig.getini(INI_THRESHOLDS),
                      rootdir=pytestconfig.rootpath)


class CheckRecorder:
    """Runs evaluations for one check and records what they measured."""

    def __init__(self, item: pytest.Item, dataset: Any) -> None:
        self.item = item
        self.dataset = dataset
        self.dataset_name = getattr(dataset, "name", "?")

    def _record(self, issue: str, metric: str, value: Any, unit: str, threshold: Any,
                verdict: str, message: str, plot: dict | None = None,
                sense: str | None = None) -> None:
        record = {"issue": issue, "check": self.item.originalname if hasattr(
            self.item, "originalname") else self.item.name, "dataset": self.dataset_name,
                  "metric": metric, "value": value, "unit": unit, "threshold": threshold,
                  "verdict": verdict, "message": message}
        truth = getattr(self.dataset, "truth", None)
        record.update(sense=sense, seed=truth.get("seed") if isinstance(truth, dict) else None)
        gate.annotate(self.item, record)  # regression gate (--ifuqa-baseline), if on
        self.item.user_properties.append((RECORD_KEY, json.dumps(record, default=float)))
        if plot is not None:
            self.item.stash.setdefault(_plots_key, []).append((record, plot))

    def evaluate(self, issue: str, func: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call an evaluation; a missing prerequisite becomes a recorded skip, a bad product a
        recorded error (the test fails with the file and the reason)."""
        from ifuqa.evaluate import NotApplicable
        from ifuqa.products import ProductError

        problems = list(getattr(self.dataset, "problems", None) or [])
        if not problems and self.dataset is not None:
            from ifuqa.applicability import screen

            screening = screen(self.dataset)
            self.item.user_properties.append((APPLICABILITY_KEY, json.dumps(
                {"dataset": self.dataset_name, "issues": screening.applicability})))
            problems = list(screening.unsupported)
            applies = screening.applicability.get(issue)
            if not problems and applies and applies["status"] == "not applicable":
                message = f"not applicable: {applies['reason']}"
                self._record(issue, func.__name__, None, "", None, "skip", message)
                pytest.skip(f"{issue} {func.__name__}: {message}")
        if problems:
            message = "; ".join(problems)
            self._record(issue, func.__name__, None, "", None, "error", message)
            pytest.fail(f"{issue} {func.__name__}: {message}", pytrace=False)
        try:
            return func(*args, **kwargs)
        except NotApplicable as exc:
            self._record(issue, func.__name__, None, "", None, "skip", str(exc))
            pytest.skip(f"{issue} {func.__name__}: {exc}")
        except ProductError as exc:
            self._record(issue, func.__name__, None, "", None, "error", str(exc))
            pytest.fail(f"{issue} {func.__name__}: {exc}", pytrace=False)

    def record(self, result: Any) -> Any:
        """Record a :class:`ifuqa.metrics.MetricResult` without judging it."""
        value = float(result.value)
        self._record(result.issue, result.metric, None if value != value else value,
                     result.unit, float(result.threshold), result.verdict, result.message,
                     plot=result.plot, sense=result.sense)
        return result

    def judge(self, *results: Any) -> None:
        """Record the results and fail the test with every failing metric's description (and
        every metric the regression gate fails)."""
        for result in results:
            self.record(result)
        bad = [r.describe() for r in results if not r.passed] + gate.take_failures(self.item)
        if bad:
            pytest.fail("\n".join(bad), pytrace=False)


_plots_key = pytest.StashKey[list]()


@pytest.fixture
def ifuqa_check(request: pytest.FixtureRequest) -> CheckRecorder:
    """A :class:`CheckRecorder` for the current check and dataset."""
    dataset = request.getfixturevalue("ifuqa_dataset") if "ifuqa_dataset" in \
        request.fixturenames else None
    return CheckRecorder(request.node, dataset)


class ResultCollector:
    """Collects metric records from test reports (also from xdist workers, whose reports carry
    the records in ``user_properties``), writes the results JSON and the terminal summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: list[dict] = config.stash[results_key]
        self.applicability: dict[str, dict] = {}
        self._seen: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the records of a test report (once per test), and the applicability of its
        dataset."""
        for key, value in report.user_properties:
            if key == APPLICABILITY_KEY:
                entry = json.loads(value)
                self.applicability[entry["dataset"]] = entry["issues"]
                continue
            if key != RECORD_KEY:
                continue
            tag = report.nodeid + value
            if tag in self._seen:
                continue
            self._seen.add(tag)
            rec = json.loads(value)
            rec["nodeid"] = report.nodeid
            self.records.append(rec)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write the results JSON (on the xdist controller, or in a plain run)."""
        if hasattr(self.config, "workerinput"):
            return
        path = self.config.getoption(OPTION_RESULTS)
        if path:
            from ifuqa.results import write_results

            write_results(Path(path), self.records, applicability=self.applicability)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """A table of every metric: issue, dataset, metric, value, threshold, verdict."""
        if not self.records or hasattr(self.config, "workerinput"):
            return
        from ifuqa.results import summary_lines

        terminalreporter.section("ifuqa known-issue summary")
        for line in summary_lines(self.records):
            terminalreporter.write_line(line)
        if self.applicability:
            from ifuqa.results import applicability_lines

            terminalreporter.section("ifuqa applicability (from product headers)")
            for line in applicability_lines(self.applicability):
                terminalreporter.write_line(line)


class HtmlReport:
    """pytest-html additions: the summary matrix on top, the power matrix (with
    ``--ifuqa-power-matrix``), a figure per metric, versions."""

    def __init__(self, collector: ResultCollector) -> None:
        self.collector = collector

    def pytest_configure(self, config: pytest.Config) -> None:
        """Add the software versions (jwst, stdatamodels, CRDS context, ...) to the
        environment table."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pragma: no cover - pytest-html always brings pytest-metadata
            return
        from ifuqa.report import environment_rows

        for name, value in environment_rows():
            config.stash[metadata_key][name] = value

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        """Embed the figures of the metrics this test recorded (base64 PNG)."""
        outcome = yield
        report = outcome.get_result()
        if report.when != "call":
            return
        plots = item.stash.get(_plots_key, [])
        if not plots:
            return
        import base64

        from pytest_html import extras

        from ifuqa.report import figure_png

        extra = getattr(report, "extras", [])
        for record, plot in plots:
            title = f"{record['issue']} {record['metric']} — {record['dataset']}"
            try:
                png = figure_png(record["metric"], title, plot)
            except Exception as exc:
                png = None
                extra.append(extras.text(f"figure failed: {exc}", name=record["metric"]))
            if png:
                extra.append(extras.png(base64.b64encode(png).decode(), name=record["metric"]))
        report.extras = extra

    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list) -> None:
        """The known issue × dataset matrix (worst verdict per cell) at the top, then, when it
        ran, the power matrix (defect vs fix; defect datasets appear only there)."""
        from ifuqa.report import summary_matrix_html

        layout = self._power_layout()
        defect_labels = {label for _, _, label in layout or ()}
        fixed = [r for r in self.collector.records if r["dataset"] not in defect_labels]
        if fixed:
            prefix.append("<h2>ifuqa: known issues × datasets</h2>")
            prefix.append(summary_matrix_html(fixed))
        if layout is not None:
            prefix.extend(self._power_section(layout))
        elif self.collector.config.getoption(OPTION_RUN):
            prefix.append("<p id='ifuqa-power-off'>The power matrix (does each check fail on "
                          "data with its defect and pass with the fix?) was not measured in "
                          f"this run: add <code>{OPTION_POWER}</code> (about 2 more minutes on "
                          "a fresh cache; seconds once the project's tests have built its "
                          "datasets).</p>")
        applicability = {k: v for k, v in self.collector.applicability.items()
                         if k not in defect_labels}
        if applicability:
            from ifuqa.report import applicability_html

            prefix.append("<h2>ifuqa: which known issues can affect each dataset "
                          "(from product headers)</h2>")
            prefix.append(applicability_html(applicability))

    def _power_layout(self) -> list[tuple[Any, str, str]] | None:
        """(row, fixed label, defect label) of the power matrix; None when it is off."""
        config = self.collector.config
        if not _power_on(config):
            return None
        _dataset_params(config)  # on the xdist controller nothing was collected
        return config.stash[datasets_key].get("power_layout", [])

    def _power_section(self, layout: list[tuple[Any, str, str]]) -> list[str]:
        from ifuqa.power import power_matrix
        from ifuqa.report import power_matrix_html, power_matrix_png

        out = ['<h2 id="ifuqa-power">ifuqa: power matrix (defect vs fix)</h2>']
        lines = power_matrix(self.collector.records, layout)
        if not layout:
            out.append("<p>power matrix requested, but no scenario of this run has a defect "
                       "row (see ifuqa.power.POWER_ROWS)</p>")
        elif not lines:
            out.append("<p>power matrix: no check of its rows ran (deselected?)</p>")
        else:
            out.append(power_matrix_html(lines, png=power_matrix_png(lines)))
        return out


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
