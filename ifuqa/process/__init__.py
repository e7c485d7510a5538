"""Processing: NIRSpec IFU rate files → cleaned rates → cal → s3d cube → x1d spectrum.

Owns the chain (:mod:`~ifuqa.process.chain`), its configuration with the fixes and the defect
switches that re-create each known issue (:mod:`~ifuqa.process.config`), its inputs
(:mod:`~ifuqa.process.rate_inputs`), stage memo (:mod:`~ifuqa.process.cache`), product writers
and provenance keywords, one module per stage (:mod:`ifuqa.process.stages`) and the only code
that touches jwst internals (:mod:`ifuqa.process.jwst_api`). May import :mod:`ifuqa.products`
(to probe its inputs), :mod:`ifuqa.instrument` (the instrument model and the PSF) and
:mod:`ifuqa.util`; never the simulator or its truth: what a simulated rate file tells the chain
is in its header (``IFQ_PSF``, ``IFQ_WLO``/``IFQ_WHI``).
"""

from __future__ import annotations

from ifuqa.process.chain import ProcessingError, ProcessingResult, process
from ifuqa.process.config import DEFECTS, ProcessingConfig, ProcessingConfigError

__all__ = ["DEFECTS", "ProcessingConfig", "ProcessingConfigError", "ProcessingError",
           "ProcessingResult", "process"]
