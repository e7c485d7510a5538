"""The synthetic NIRSpec IFU instrument model: dispersers, slicer layout, traces and sky mapping.

See :mod:`ifuqa.instrument.dispersers`, :mod:`ifuqa.instrument.layout` and
:mod:`ifuqa.instrument.sky` for the model and its documented approximations.
"""

from ifuqa.instrument.dispersers import DISPERSERS, Disperser, get_disperser
from ifuqa.instrument.layout import (
    ALONG_SLICE_PIXEL_ARCSEC,
    N_SLICES,
    SLICE_LENGTH_ARCSEC,
    SLICE_WIDTH_ARCSEC,
    DetectorPixelMap,
    pixel_map,
    trace_center,
    unilluminated_mask,
)
from ifuqa.instrument.sky import Pointing

__all__ = [
    "ALONG_SLICE_PIXEL_ARCSEC",
    "DISPERSERS",
    "N_SLICES",
    "SLICE_LENGTH_ARCSEC",
    "SLICE_WIDTH_ARCSEC",
    "DetectorPixelMap",
    "Disperser",
    "Pointing",
    "get_disperser",
    "pixel_map",
    "trace_center",
    "unilluminated_mask",
]
