"""NaN-ignoring statistics that return NaN for all-NaN input without a RuntimeWarning.

Cubes have all-NaN spaxels and planes by construction (outside the field, flagged pixels);
numpy warns about them, which the project's strict warning settings turn into errors."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["nanmean", "nanmedian"]


def nanmean(a: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """``numpy.nanmean`` without the empty-slice warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def nanmedian(a: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """``numpy.nanmedian`` without the all-NaN warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=axis)
