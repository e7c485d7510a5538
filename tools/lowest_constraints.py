#!/usr/bin/env python3
"""Print a pip constraints file pinning every dependency of ``pyproject.toml`` to its lower bound.

    python3 tools/lowest_constraints.py > constraints-lowest.txt
    pip install -c constraints-lowest.txt -e .

The lowest versions the declared ranges allow, for the direct dependencies (transitive ones float
to what pip resolves, as uv's ``--resolution lowest-direct`` does). ``.ci/run`` installs them in a
virtual environment of their own and runs the fast tests there, so every lower bound in
``pyproject.toml`` is one the tests pass with. Derived from ``pyproject.toml`` each time, so the
pins cannot drift from the ranges. Standard library only.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def floors(pyproject: Path = REPO / "pyproject.toml", *, extras: tuple[str, ...] = ()) -> dict:
    """``name -> lowest allowed version`` of every dependency with a ``>=`` bound.

    Parameters
    ----------
    pyproject : path
        The project file.
    extras : tuple of str
        Optional-dependency groups to include.

    Returns
    -------
    dict
    """
    project = tomllib.loads(pyproject.read_text())["project"]
    deps = list(project["dependencies"])
    for extra in extras:
        deps += project.get("optional-dependencies", {}).get(extra, [])
    out = {}
    for dep in deps:
        requirement = dep.split(";", 1)[0]
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        low = re.search(r">=\s*([0-9][A-Za-z0-9.]*)", requirement)
        if name and low:
            out[name.group(1).lower()] = low.group(1)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    pins = floors(extras=tuple(args))
    print("# lowest versions allowed by pyproject.toml (tools/lowest_constraints.py)")
    for name, version in pins.items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
