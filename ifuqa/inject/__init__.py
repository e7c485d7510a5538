"""Injection of known defects into copies of real products, for injection–recovery studies.

``ifuqa inject`` (and :func:`inject_product`) write a copy of a user's s3d or x1d with one known
defect of a documented kind and size: a hole at the PSF peak (NS-IFU01), a wavelength-dependent
centroid shift (NS-IFU06), a sinusoidal modulation of single spaxels (NS-IFU05), a low-frequency
undulation or a negative offset of an x1d (NS-IFU03), or an x1d extracted off the source
(NS-IFU04). The copy's primary header records what was injected (``IFQ_INJ`` kind, ``IFQ_INJS``
size and unit, ``IFQ_INJP`` parameters) and the original file's name (``IFQ_ORIG``); the original
is opened read-only and never written.

May import :mod:`ifuqa.products` (reading), :mod:`ifuqa.metrics` (locating the source),
:mod:`ifuqa.instrument` and :mod:`ifuqa.util`.
"""

from __future__ import annotations

from ifuqa.inject.defects import DEFECTS, Injection
from ifuqa.inject.files import inject_product, reference_x1d

__all__ = ["DEFECTS", "Injection", "inject_product", "reference_x1d"]
