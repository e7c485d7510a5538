"""The stages of the processing chain, one module each, in chain order.

``cleaning`` (NSClean 1/f) → ``outlier_flags`` (IFU outlier detection) → ``calibration``
(DN/s → MJy/sr with the exact pixel footprints) → ``trace_oversampling`` (optional adaptive
trace model) → ``point_cloud`` (pixels on the sky) → ``cube_building`` (3-D drizzle or Shepard
weighting) → ``extraction`` (aperture sums with ``aperture_correction``). Each stage calls jwst
only through :mod:`ifuqa.process.jwst_api`.
"""
