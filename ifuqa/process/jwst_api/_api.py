"""The machinery every jwst stage module uses to declare and verify the jwst API it needs.

A stage module declares ``REQUIRED_API``: a mapping ``(module, dotted attribute) -> spec`` where
the spec is

* a tuple: the leading parameters, in this order (the adapter passes them positionally or by
  name);
* a frozenset: parameter names that must exist (passed by name only);
* ``None``: the symbol must exist.

and may add a ``check_behaviour() -> list[str]`` for what a signature cannot show (source
fingerprints of behaviour ifuqa reproduces or relies on, reference-file types, C kernels called
on a tiny input). :func:`ifuqa.process.jwst_api.check_jwst_api` gathers them all.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ApiSpec", "JwstApiError", "fingerprint_problems", "resolve", "verify_signatures"]

ApiSpec = tuple[str, ...] | frozenset[str] | None
"""What is required of one jwst symbol (see the module docstring)."""


class JwstApiError(RuntimeError):
    """The installed ``jwst`` lacks, or has changed, an API ifuqa relies on."""


def resolve(module: str, dotted: str) -> Any:
    """Import ``module`` and return its attribute ``dotted`` (``"Class.method"`` allowed).

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"jwst.outlier_detection.ifu"``.
    dotted : str
        Attribute path inside it.

    Returns
    -------
    object
        The symbol.
    """
    obj: Any = importlib.import_module(module)
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def verify_signatures(required: Mapping[tuple[str, str], ApiSpec]) -> tuple[list[str], list[str]]:
    """Check each declared symbol against the installed jwst.

    Parameters
    ----------
    required : mapping
        ``(module, dotted) -> spec`` as described in the module docstring.

    Returns
    -------
    checked, problems : list of str
        One line per symbol verified, and one per symbol missing or changed.
    """
    checked: list[str] = []
    problems: list[str] = []
    for (module, dotted), expected in required.items():
        name = f"{module}.{dotted}"
        try:
            obj = resolve(module, dotted)
        except (ImportError, AttributeError) as exc:
            problems.append(f"missing: {name} ({type(exc).__name__}: {exc})")
            continue
        if expected is None:
            checked.append(f"{name}: present")
            continue
        try:
            params = list(inspect.signature(obj).parameters)
        except (TypeError, ValueError) as exc:
            problems.append(f"signature unavailable: {name} ({exc})")
            continue
        if isinstance(expected, frozenset):
            missing = sorted(expected - set(params))
            if missing:
                problems.append(
                    f"signature changed: {name}: missing parameter(s) {missing}; found {params}")
                continue
        elif params[: len(expected)] != list(expected):
            missing = [p for p in expected if p not in params]
            detail = f"missing parameter(s) {missing}" if missing else "parameter order changed"
            problems.append(
                f"signature changed: {name}: {detail}; expected leading parameters "
                f"{list(expected)}, found {params}")
            continue
        checked.append(f"{name}{inspect.signature(obj)}")
    return checked, problems


def fingerprint_problems(module: str, dotted: str, fragments: Iterable[str],
                         what: str, *, absent: Iterable[str] = ()) -> list[str]:
    """Source fragments of a jwst function that are no longer there.

    Parameters
    ----------
    module, dotted : str
        The function (see :func:`resolve`).
    fragments : iterable of str
        Lines of its source whose behaviour ifuqa reproduces or relies on.
    what : str
        What depends on them (for the message).
    absent : iterable of str, optional
        Fragments that must *not* be there (behaviour of another release line that would make
        the reproduction wrong).

    Returns
    -------
    list of str
        Empty when every fragment is present and no ``absent`` one is (or the symbol is
        missing, which :func:`verify_signatures` reports), else one problem line each.
    """
    try:
        source = inspect.getsource(resolve(module, dotted))
    except (ImportError, AttributeError, OSError, TypeError):
        return []
    problems = []
    gone = [frag for frag in fragments if frag not in source]
    if gone:
        problems.append(f"changed: {module}.{dotted} no longer contains {gone} ({what})")
    new = [frag for frag in absent if frag in source]
    if new:
        problems.append(f"changed: {module}.{dotted} now contains {new} ({what})")
    return problems
