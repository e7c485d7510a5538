"""Regression scenarios of open pipeline limitations: a catalogue scenario's
``[[expected_failures]]`` (:class:`ifuqa.scenario.schema.ExpectedFailure`) makes those checks run
on its dataset as ``xfail(strict=True)`` — the run stays green while the limitation is open and
fails (XPASS) the day a jwst release fixes it, saying which scenario to update."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import pytest

__all__ = ["limitation_params"]


@cache
def _expected(scenario: str) -> tuple[tuple[str, str], ...]:
    from ifuqa.scenario import load_scenario

    return tuple((e.check, e.reason) for e in load_scenario(scenario).expected_failures)


def limitation_params(check: str, params: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Mark the synthetic datasets on which ``check`` is expected to fail.

    Parameters
    ----------
    check : str
        The check's function name.
    params : iterable of (str, handle)
        The run's datasets (a handle may already be a ``pytest.param``: left as it is).

    Returns
    -------
    list of (str, handle or pytest.param)
    """
    from ifuqa.builds.synthetic import SyntheticSpec

    out = []
    for label, handle in params:
        if isinstance(handle, SyntheticSpec):
            reasons = [reason for name, reason in _expected(handle.scenario) if name == check]
            if reasons:
                mark = pytest.mark.xfail(strict=True, raises=pytest.fail.Exception,
                                         reason=f"known limitation: {reasons[0]}")
                handle = pytest.param(handle, marks=mark, id=label)
        out.append((label, handle))
    return out
