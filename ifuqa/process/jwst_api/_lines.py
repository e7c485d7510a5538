"""The jwst release lines the adapter is written and tested for, and which one is installed.

Where jwst internals differ between release lines, the stage module keeps the common code and
delegates the difference to one small module per line, named ``<stage>_<major>_<minor>``
(``adaptive_trace_model_2_0``, ``adaptive_trace_model_3_0``, ``extract_1d_2_0``, …);
:func:`line_module` picks the installed line's. Each per-line module declares the jwst API of
its line (``REQUIRED_API``, fingerprints), so :func:`ifuqa.process.jwst_api.check_jwst_api` checks
what the installed line provides, not what another line would.

The installed version is read from the package metadata (``importlib.metadata``), which does not
import jwst.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["LINES", "installed_jwst_version", "installed_line", "line_module", "line_of"]

LINES: dict[str, str] = {"2.0": ">=2.0,<2.1", "3.0": ">=3.0,<3.1"}
"""The tested release lines and the version range each covers (oldest first). jwst has no
release between 2.0.1 and 3.0.0, so together they are ``JWST_COMPATIBLE`` (``>=2.0,<3.1``)."""


def installed_jwst_version() -> str:
    """The installed jwst version (package metadata; jwst is not imported).

    Returns
    -------
    str
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jwst")
    except PackageNotFoundError:  # pragma: no cover - jwst is a hard dependency
        import jwst

        return str(jwst.__version__)


def line_of(version: str) -> str | None:
    """The tested release line a jwst version belongs to.

    Parameters
    ----------
    version : str
        A jwst version (pre-releases and dev builds count as their release).

    Returns
    -------
    str or None
        ``"2.0"`` or ``"3.0"``, or None when the version is in no tested line.

    Examples
    --------
    >>> line_of("2.0.1"), line_of("3.0.0"), line_of("3.1.0.dev12"), line_of("1.20.2")
    ('2.0', '3.0', None, None)
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    v = Version(version)
    for line, spec in LINES.items():
        if SpecifierSet(spec).contains(v, prereleases=True):
            return line
    return None


def _nearest_line(version: str) -> str:
    """The line whose API a version outside every line is checked against: the newest line not
    newer than it (a candidate 3.1 is checked against 3.0's API), else the oldest line."""
    from packaging.version import Version

    v = Version(version)
    older = [line for line in LINES if Version(line) <= v]
    return older[-1] if older else next(iter(LINES))


def installed_line() -> str:
    """The release line of the installed jwst (the nearest one when it is in none).

    Returns
    -------
    str
        A key of :data:`LINES`.
    """
    version = installed_jwst_version()
    return line_of(version) or _nearest_line(version)


def line_module(stage: str, line: str | None = None) -> ModuleType:
    """The per-line module of ``stage`` for ``line`` (default: the installed line).

    Parameters
    ----------
    stage : str
        A stage module name (``"adaptive_trace_model"``, ``"extract_1d"``).
    line : str, optional
        A key of :data:`LINES`.

    Returns
    -------
    module
        ``ifuqa.process.jwst_api.<stage>_<major>_<minor>``.
    """
    chosen = line or installed_line()
    if chosen not in LINES:
        raise ValueError(f"unknown jwst release line {chosen!r}; tested lines: {', '.join(LINES)}")
    return importlib.import_module(f"{__package__}.{stage}_{chosen.replace('.', '_')}")
