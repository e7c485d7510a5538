"""The layers of ifuqa import only downwards (see ARCHITECTURE.md).

Every ``import`` and ``from ... import`` of every module of the package (also those inside
functions and under ``TYPE_CHECKING``) is read with :mod:`ast`; a module may import its own
package, a lower layer, or the standard library and third-party packages — never a layer above
it or a sibling of its layer. Only :mod:`ifuqa.process.jwst_api` may import ``jwst``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ifuqa"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("_pytest",),
    ("explore",),
    ("report", "cluster"),
    ("recovery",),
    ("builds", "evaluate", "inject"),
    ("verdicts",),
    ("process",),
    ("products",),
    ("simulate", "strategies"),
    ("scenario", "metrics"),
    ("instrument",),
    ("util",),
)
"""Top to bottom; the packages of one layer are independent of each other."""

RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str | None:
    """The layer unit of an ifuqa module name (``ifuqa.process.chain`` -> ``process``)."""
    parts = module.split(".")
    if parts[0] != "ifuqa":
        return None
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in a file, relative imports resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from ifuqa import process`` imports the subpackage
            if target == "ifuqa":
                found += [(node.lineno, f"ifuqa.{alias.name}") for alias in node.names
                          if (PACKAGE / alias.name).is_dir()
                          or (PACKAGE / f"{alias.name}.py").is_file()]
    return found


def _violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        unit = _unit(module)
        for line, target in _imports(path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if (target == "jwst" or target.startswith("jwst.")) and not module.startswith(
                    "ifuqa.process.jwst_api"):
                problems.append(f"{where}: imports {target}; only ifuqa.process.jwst_api may")
            other = _unit(target)
            if other is None or other == unit or other == "__init__":
                continue
            if unit == "__init__":
                problems.append(f"{where}: the package's __init__ imports {target}")
                continue
            if unit not in RANK or other not in RANK:
                problems.append(f"{where}: {unit} or {other} is in no layer of LAYERS")
                continue
            if RANK[other] <= RANK[unit]:
                kind = "a sibling" if RANK[other] == RANK[unit] else "a higher layer"
                problems.append(f"{where}: {unit} imports {target}, {kind}")
    return problems


def test_imports_only_run_down() -> None:
    """No module imports a layer above it (or a sibling), and jwst only in jwst_api."""
    problems = _violations()
    assert not problems, "\n".join(problems)


def test_every_package_is_in_a_layer() -> None:
    """A new subpackage must be placed in LAYERS (and in ARCHITECTURE.md)."""
    units = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert units - set(RANK) == set(), f"not in a layer: {sorted(units - set(RANK))}"


def test_the_layer_test_catches_an_upward_import(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A metrics module importing the simulator is reported (the test can fail)."""
    fake = tmp_path / "ifuqa"
    (fake / "metrics").mkdir(parents=True)
    (fake / "simulate").mkdir()
    for folder in (fake, fake / "metrics", fake / "simulate"):
        (folder / "__init__.py").write_text("")
    (fake / "metrics" / "bad.py").write_text("from ifuqa.simulate import noise\n")
    (fake / "simulate" / "ok.py").write_text("from ifuqa.metrics import bad\nimport jwst\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    problems = _violations()
    assert any("metrics imports ifuqa.simulate" in p and "a higher layer" in p for p in problems)
    assert any("imports jwst; only ifuqa.process.jwst_api may" in p for p in problems)
    assert not any("ok.py:1" in p for p in problems)
