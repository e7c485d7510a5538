"""Products: reading, probing and grouping JWST product files, and what their headers say.

Owns probing files before a datamodel reads them (:mod:`~ifuqa.products.probe`), reading cubes
and spectra (:mod:`~ifuqa.products.read`) and the image extensions of rate/cal/crf files
(:mod:`~ifuqa.products.images`), finding a user's products and grouping them
(:mod:`~ifuqa.products.discovery`), the :class:`~ifuqa.products.dataset.Dataset` type, and which
known issues can affect a product from its headers (:mod:`~ifuqa.products.applicability`).
Files are opened read-only. May import :mod:`ifuqa.simulate.truth` (the truth type of synthetic
datasets), :mod:`ifuqa.instrument` and :mod:`ifuqa.util`.
"""

from __future__ import annotations

from ifuqa.products.dataset import Dataset
from ifuqa.products.probe import ProductError, check_file, probe_fits
from ifuqa.products.read import Cube, Spectrum, read_cube, read_spectrum

__all__ = ["Cube", "Dataset", "ProductError", "Spectrum", "check_file", "probe_fits",
           "read_cube", "read_spectrum"]
