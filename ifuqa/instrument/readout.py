"""NIRSpec H2RG readout geometry: outputs, pixel timing, reference border and the mapping between
the pipeline (DMS) orientation and the detector readout frame.

In DMS orientation (dispersion along x) the four outputs are horizontal strips of 512 rows;
within an output the fast scan runs along y and the slow scan along x (NRS1: ``dms = det.T``;
NRS2: ``dms = det[::-1].T``), so 1/f read noise appears as vertical banding.
"""

from __future__ import annotations

import numpy as np

PIXEL_TIME_S = 10e-6
"""Pixel dwell time of the readout (s)."""
LINE_OVERHEAD_PX = 12
"""Overhead samples (pixel times) at the end of every line of an output."""
N_OUTPUTS = 4
"""Readout outputs per detector."""


REFERENCE_BORDER_PX = 4
"""Width (px) of the reference-pixel border of the H2RG."""


def check_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """The (ny, nx) of a 2-D detector shape; ValueError unless 2-D and positive."""
    if len(shape) != 2:
        raise ValueError(f"shape must be 2-D, got {shape!r}")
    ny, nx = (int(s) for s in shape)
    if ny < 1 or nx < 1:
        raise ValueError(f"shape must be positive, got {shape!r}")
    return ny, nx


def check_detector(detector: str) -> str:
    """The upper-case detector name; ValueError unless NRS1 or NRS2."""
    det = detector.upper()
    if det not in ("NRS1", "NRS2"):
        raise ValueError(f"detector must be 'NRS1' or 'NRS2', got {detector!r}")
    return det


def dms_to_detector(image: np.ndarray, detector: str) -> np.ndarray:
    """An image in DMS orientation turned to the detector's native readout orientation."""
    return image.T if detector == "NRS1" else image.T[::-1]


def detector_to_dms(det: np.ndarray, detector: str) -> np.ndarray:
    """An image in native detector orientation turned to DMS orientation."""
    return det.T if detector == "NRS1" else det[::-1].T
