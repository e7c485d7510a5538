"""Pointing errors and dither patterns (NS-IFU04's unknown offsets, the observed dither sets).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ifuqa.scenario import DITHER_PATTERNS
from ifuqa.strategies.bounds import _NAMED_DITHERS, BLIND_POINTING_ARCSEC, TA_POINTING_ARCSEC


def pointing_errors(kind: str | None = None) -> SearchStrategy[tuple[float, float]]:
    """Pointing errors (IFU frame, arcsec) that the pipeline does not know about (NS-IFU04).

    Parameters
    ----------
    kind : {None, "none", "ta", "blind"}
        ``"none"``: (0, 0); ``"ta"``: after target acquisition, within ±15 mas per axis;
        ``"blind"``: blind pointing, within ±0.2" per axis; None: any of the three.

    Returns
    -------
    SearchStrategy of (float, float)
        Shrinks to (0, 0).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(pointing_errors("blind"), lambda p: abs(p[0]) > 0.1)[0] > 0.1
    True
    """
    zero = st.just((0.0, 0.0))

    def box(limit: float) -> SearchStrategy[tuple[float, float]]:
        axis = st.floats(-limit, limit, allow_nan=False, allow_infinity=False)
        return st.tuples(axis, axis)

    choices = {"none": zero, "ta": box(TA_POINTING_ARCSEC), "blind": box(BLIND_POINTING_ARCSEC)}
    if kind is None:
        return st.one_of(zero, choices["ta"], choices["blind"])
    if kind not in choices:
        raise ValueError(f"kind must be None, 'none', 'ta' or 'blind', not {kind!r}")
    return choices[kind]


def dither_patterns(*, min_positions: int = 1, max_positions: int = 4,
                    custom: bool = True) -> SearchStrategy[str | list[list[float]]]:
    """Dither patterns as the scenario key ``dithers`` takes them.

    Parameters
    ----------
    min_positions, max_positions : int
        Number of dither positions allowed (1-4; outlier detection needs at least 2, the
        NS-IFU05 mitigation 4).
    custom : bool
        Also draw custom patterns: 2-4 IFU-frame offsets within ±0.4" (sub-slice and sub-pixel
        phases).

    Returns
    -------
    SearchStrategy of str or list of [dx, dy]
        A pattern name of :data:`ifuqa.scenario.DITHER_PATTERNS` or a list of offsets; shrinks to
        the fewest positions (``"none"`` when allowed).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(dither_patterns(min_positions=4), lambda d: True)
    '4-point-nod'
    """
    if not 1 <= min_positions <= max_positions <= 4:
        raise ValueError("need 1 <= min_positions <= max_positions <= 4")
    named = [n for n in _NAMED_DITHERS if min_positions <= len(DITHER_PATTERNS[n]) <= max_positions]
    options: list[SearchStrategy] = []
    if named:
        options.append(st.sampled_from(named))
    lo = max(2, min_positions)
    if custom and lo <= max_positions:
        axis = st.floats(-0.4, 0.4, allow_nan=False, allow_infinity=False)
        offset = st.tuples(axis, axis).map(lambda xy: [float(xy[0]), float(xy[1])])
        options.append(st.lists(offset, min_size=lo, max_size=max_positions))
    if not options:
        raise ValueError(f"no dither pattern has {min_positions}-{max_positions} positions")
    return st.one_of(*options)


def _dither_offsets(value: str | Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    if isinstance(value, str):
        return list(DITHER_PATTERNS[value])
    return [(float(x), float(y)) for x, y in value]
