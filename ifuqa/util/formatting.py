"""Formatting a measured value for people: the one rule of the terminal tables and messages."""

from __future__ import annotations

__all__ = ["format_value"]


def format_value(value: float | None, unit: str = "", *, digits: int = 4, signed: bool = False,
                 none: str = "-") -> str:
    """A value with ``digits`` significant digits and its unit.

    Parameters
    ----------
    value : float or None
        The value; None (not measured) prints as ``none``, without the unit.
    unit : str
        Unit appended after a space (nothing when empty).
    digits : int
        Significant digits (``g`` format).
    signed : bool
        Print the sign of positive values too (a change: ``+0.2``).
    none : str
        Text for a missing value (``"-"`` in tables, ``"none"`` in sentences).

    Returns
    -------
    str

    Examples
    --------
    >>> format_value(0.421234, "%")
    '0.4212 %'
    >>> format_value(0.2, "%", digits=6, signed=True)
    '+0.2 %'
    >>> format_value(None, "mas", none="none")
    'none'
    """
    if value is None:
        return none
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
    else:
        text = f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"
    return f"{text} {unit}" if unit else text
