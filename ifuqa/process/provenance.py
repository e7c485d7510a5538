"""The provenance keywords ifuqa records in the primary header of the products it writes.

``IFQ_VER``  ifuqa version · ``IFQ_DEF`` defects re-created (comma-separated NS-IFU IDs, or
``NONE``) · ``IFQ_FIX`` the fixes in force · ``IFQ_WGT`` cube weighting · ``IFQ_SPAX`` spaxel
scale (arcsec) · ``IFQ_CSYS`` cube coordinate system · ``IFQ_TRM`` whether the adaptive trace
model oversampled the images before cube building (``IFQ_TRMF`` its factor, ``IFQ_TRMP`` its
parameters, and a HISTORY line with the slices fitted per exposure, when it did).
"""

from __future__ import annotations

from ifuqa import __version__
from ifuqa.process.config import DEFECTS, ProcessingConfig
from ifuqa.process.stages.trace_oversampling import TraceModelParameters

__all__ = ["TRACE_MODEL", "processing_keywords"]

TRACE_MODEL = TraceModelParameters()
"""Parameters of the adaptive-trace-model stage (``ProcessingConfig.trace_model``)."""


def processing_keywords(config: ProcessingConfig, trace_history: list[str] | None = None
                        ) -> dict[str, object]:
    """The primary-header keywords of a product made with ``config`` (see the module
    docstring); ``trace_history`` lists the slices the trace model fitted per exposure."""
    keywords: dict[str, object] = {
        "IFQ_VER": __version__,
        "IFQ_DEF": ",".join(sorted(config.defects)) or "NONE",
        "IFQ_FIX": ",".join(f.split()[0] for f in config.fixes()) or "NONE",
        "HISTORY": [f"ifuqa fix: {f}" for f in config.fixes()]
        + [f"ifuqa defect re-created: {d} ({DEFECTS[d]})" for d in sorted(config.defects)],
        "IFQ_WGT": config.weighting,
        "IFQ_SPAX": config.spaxel_arcsec,
        "IFQ_CSYS": config.coord_system,
        "IFQ_TRM": bool(config.trace_model),
    }
    if config.trace_model:
        keywords["IFQ_TRMF"] = TRACE_MODEL.oversample_factor
        keywords["IFQ_TRMP"] = TRACE_MODEL.describe()
        keywords["HISTORY"] = [*keywords["HISTORY"],  # type: ignore[misc]
                               f"ifuqa adaptive trace model: {TRACE_MODEL.describe()}",
                               *(f"ifuqa trace model {line}" for line in trace_history or [])]
    return keywords
