"""Metrics: pure functions, arrays in, a :class:`MetricResult` (value, unit, threshold, verdict
and the arrays behind its figure) out.

One module per topic: ``apertures`` (binned images, aperture sums, S/N, curve of growth),
``centroids`` (centroid track and drift, extraction centring), ``holes`` (PSF-peak holes),
``spectra`` (flux ratios, wiggles, undulation, negative flux), ``banding`` (1/f banding) and
``flags`` (outlier flags, artefact recall). No I/O, no pytest, no simulator: may import
:mod:`ifuqa.instrument` (detector readout geometry), :mod:`ifuqa.util`, numpy, scipy, astropy
and photutils.
"""

from ifuqa.metrics.result import MetricResult, verdict_for

__all__ = ["MetricResult", "verdict_for"]
