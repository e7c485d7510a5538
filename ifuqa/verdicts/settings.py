"""The one layered reader of named settings: thresholds and regression tolerances.

Precedence (highest first), one rule for every kind of setting:

1. the command line (``--ifuqa-threshold NAME=VALUE``, repeatable);
2. the pytest ini key (``ifuqa_thresholds``), one ``name = value`` per line (``#`` comments and
   blank lines ignored);
3. the ``[tool.ifuqa.<table>]`` table of the project's ``pyproject.toml``;
4. the defaults.

Names are ``<issue>.<metric>`` as the checks record the metric (:func:`setting_name`). A kind
may keep old names as *aliases* of canonical ones (an alias may stand for several canonical
names, e.g. a threshold that used to be shared by several metrics); an alias works wherever its
canonical name does, and giving an alias and its canonical name (or two aliases of one name) at
the same level is an error naming both. Within a level the last setting of a name wins; a
higher level replaces a lower one whatever the spelling. Unknown names and invalid values are
errors that name the source of the setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["LayeredSettings", "SettingKind", "setting_name"]

T = TypeVar("T")


def setting_name(issue: str, metric: str) -> str:
    """The setting name of a recorded metric.

    Parameters
    ----------
    issue : str
        Known-issue ID (``"NS-IFU05"``).
    metric : str
        Metric name as recorded (``"wiggle_amplitude"``).

    Returns
    -------
    str

    Examples
    --------
    >>> setting_name("NS-IFU05", "wiggle_amplitude")
    'ns_ifu05.wiggle_amplitude'
    """
    return f"{issue.lower().replace('-', '_')}.{metric}"


@dataclass(frozen=True)
class SettingKind(Generic[T]):
    """One kind of layered setting and how its values are parsed.

    Attributes
    ----------
    noun : str
        ``"threshold"``: what error messages call one setting.
    table : str
        ``"thresholds"``: the ``[tool.ifuqa.<table>]`` table of ``pyproject.toml``.
    option : str
        The command-line option (``"--ifuqa-threshold"``).
    ini : str
        The pytest ini key (``"ifuqa_thresholds"``).
    names : tuple of str
        Canonical names.
    parse : callable
        ``parse(name, canonical, value, origin) -> T``: the value of one setting (``name`` as
        given, ``canonical`` the name it sets); raises ``error`` when invalid.
    error : type
        The exception raised for invalid settings (a ``ValueError``).
    aliases : mapping of str to tuple of str
        Old name → the canonical names it sets.
    form : str
        What a line must look like (for the error message).
    """

    noun: str
    table: str
    option: str
    ini: str
    names: tuple[str, ...]
    parse: Callable[[str, str, Any, str], T]
    error: type[ValueError]
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    form: str = "name = value"

    def canonical(self, name: str, origin: str) -> tuple[str, ...]:
        """The canonical names ``name`` sets (itself, or those of an alias).

        Raises
        ------
        ValueError
            (``error``) When ``name`` is neither a canonical name nor an alias.
        """
        if name in self.names:
            return (name,)
        if name in self.aliases:
            return self.aliases[name]
        known = ", ".join(sorted(self.names))
        old = (f" (old names still accepted: {', '.join(sorted(self.aliases))})"
               if self.aliases else "")
        raise self.error(f"{origin}: unknown {self.noun} {name!r}; known: {known}{old}")

    def level(self, settings: Iterable[tuple[str, Any]], origin: str) -> dict[str, T]:
        """Parse the settings of one level: canonical name → value.

        Parameters
        ----------
        settings : iterable of (str, value)
            Names as given with their raw values, in order.
        origin : str
            Where they come from (for error messages).

        Returns
        -------
        dict
        """
        out: dict[str, T] = {}
        spelled: dict[str, str] = {}
        for name, raw in settings:
            for target in self.canonical(name, origin):
                other = spelled.setdefault(target, name)
                if other != name:
                    raise self.error(
                        f"{origin}: {other!r} and {name!r} both set {self.noun} {target!r} "
                        f"({self._relation(other, name, target)}); give only one of them")
                out[target] = self.parse(name, target, raw, origin)
        return out

    def _relation(self, a: str, b: str, target: str) -> str:
        old = [n for n in (a, b) if n != target]
        return " and ".join(f"{n!r} is the old name of {', '.join(map(repr, self.aliases[n]))}"
                            for n in old)

    def lines(self, lines: Iterable[str], origin: str) -> dict[str, T]:
        """Parse ``name = value`` lines (comments ``#`` and blank lines ignored).

        Parameters
        ----------
        lines : iterable of str
            The settings (command-line values or ini lines).
        origin : str
            Where they come from (for error messages).

        Returns
        -------
        dict
            Canonical name → value.
        """
        pairs = []
        for raw in lines:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "=" not in line:
                raise self.error(f"{origin}: expected '{self.form}', got {raw!r}")
            name, value = (part.strip() for part in line.split("=", 1))
            pairs.append((name, value))
        return self.level(pairs, origin)

    def pyproject(self, rootdir: Path | None) -> dict[str, T]:
        """The ``[tool.ifuqa.<table>]`` table of ``rootdir/pyproject.toml`` (empty without one).

        Parameters
        ----------
        rootdir : path or None
            The project folder.

        Returns
        -------
        dict
            Canonical name → value.
        """
        if rootdir is None:
            return {}
        path = Path(rootdir) / "pyproject.toml"
        if not path.is_file():
            return {}
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise self.error(f"{path}: {exc}") from None
        table = data.get("tool", {}).get("ifuqa", {}).get(self.table, {})
        if not isinstance(table, Mapping):
            raise self.error(f"{path}: [tool.ifuqa.{self.table}] must be a table")
        return self.level(table.items(), f"{path} [tool.ifuqa.{self.table}]")


class LayeredSettings(Generic[T]):
    """Resolved settings of one kind, with the source of each value.

    Parameters
    ----------
    kind : SettingKind
        What is read.
    defaults : mapping
        Canonical name → default value.
    cli : iterable of str
        ``name=value`` settings from the command line (highest precedence).
    ini : iterable of str
        ``name = value`` lines of the ini key.
    rootdir : path, optional
        Folder whose ``pyproject.toml`` may hold the kind's table.

    Attributes
    ----------
    values : dict
        Canonical name → value in force.
    sources : dict
        Canonical name → where its value comes from (``"default"``,
        ``"pyproject.toml [tool.ifuqa.<table>]"``, ``"ini <key>"`` or the option).
    """

    def __init__(self, kind: SettingKind[T], defaults: Mapping[str, T], *,
                 cli: Iterable[str] = (), ini: Iterable[str] = (),
                 rootdir: Path | None = None) -> None:
        self.kind = kind
        self.values: dict[str, T] = dict(defaults)
        self.sources: dict[str, str] = dict.fromkeys(defaults, "default")
        for origin, values in (
                (f"pyproject.toml [tool.ifuqa.{kind.table}]", kind.pyproject(rootdir)),
                (f"ini {kind.ini}", kind.lines(ini, f"ini {kind.ini}")),
                (kind.option, kind.lines(cli, kind.option))):
            for name, value in values.items():
                self.values[name] = value
                self.sources[name] = origin

    def __getitem__(self, name: str) -> T:
        """The value of a canonical name, or of an alias (whose canonical names must agree)."""
        if name in self.values:
            return self.values[name]
        targets = self.kind.aliases.get(name)
        if not targets:
            raise KeyError(f"unknown {self.kind.noun} {name!r}")
        values = [self.values[t] for t in targets]
        if any(v != values[0] for v in values[1:]):
            raise KeyError(f"{self.kind.noun} {name!r} is the old name of "
                           f"{', '.join(targets)}, which now differ: use one of those names")
        return values[0]
