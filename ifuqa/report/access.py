"""Reading records and rows whatever their type: a mapping (a record as JSON, ``r["issue"]``)
or an object with attributes (:class:`ifuqa.verdicts.record.Record`, a compare ``Row``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["get_field"]


def get_field(item: Any, name: str, default: Any = None) -> Any:
    """A field of a record, a row or a cell, from a mapping or from an object.

    Parameters
    ----------
    item : mapping or object
        A record as a dict (the results JSON) or an object such as
        :class:`ifuqa.verdicts.record.Record`.
    name : str
        Field name (``"issue"``, ``"dataset"``, ``"value"``, …).
    default : object, optional
        What to return when ``item`` has no such field.

    Returns
    -------
    object
        ``item[name]`` for a mapping, ``item.name`` otherwise, or ``default``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> get_field({"issue": "NS-IFU05"}, "issue"), get_field(SimpleNamespace(issue="x"), "issue")
    ('NS-IFU05', 'x')
    >>> get_field({}, "unit", "")
    ''
    """
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)
