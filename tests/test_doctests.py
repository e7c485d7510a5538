"""The ``Examples`` sections of the pure metrics (and of the statistics they use) run as tests.

Every module of :mod:`ifuqa.metrics` and :mod:`ifuqa.util.stats` is run through
:func:`doctest.testmod` (names in each docstring's namespace: the module's globals, so ``np`` is
numpy); a failing example fails its module's test, with doctest's report as the message. A public
function without an example fails :func:`test_every_public_metric_has_an_example`.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import ifuqa.metrics

MODULES = sorted([m.name for m in pkgutil.walk_packages(ifuqa.metrics.__path__, "ifuqa.metrics.")
                  if not m.ispkg]  # a package's __init__ only re-exports its modules' functions
                 + ["ifuqa.util.stats"])
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    for test in finder.find(module, name, globs=dict(vars(module))):
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, "".join(report)


def _public_functions(name: str) -> list[str]:
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    return [n for n in names if inspect.isfunction(getattr(module, n, None))
            and getattr(module, n).__module__ == name]


@pytest.mark.parametrize("name", MODULES)
def test_every_public_metric_has_an_example(name: str) -> None:
    module = importlib.import_module(name)
    missing = [f for f in _public_functions(name)
               if ">>>" not in (inspect.getdoc(getattr(module, f)) or "")]
    assert not missing, f"{name}: public functions without an Examples section: {missing}"


def test_a_failing_example_fails(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner above reports a wrong example (the test can fail)."""
    (tmp_path / "ifq_doctest_probe.py").write_text(
        'def f():\n    """\n    >>> 1 + 1\n    3\n    """\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("ifq_doctest_probe")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=report.append)
    assert runner.summarize(verbose=False).failed == 1
    assert "Expected:\n    3\nGot:\n    2" in "".join(report)
