"""Detector images to point clouds on the sky: the input of the cube builder.

A :class:`PointCloud` holds, for every usable detector pixel of one exposure/detector, the
sky position of the pixel centre, the four sky corners of its footprint, its wavelength and
wavelength width, and its value and error — the same per-pixel quantities jwst's
``IFUCubeData.map_nirspec_pixel_to_sky`` derives from the WCS, here from the ifuqa instrument
model (:mod:`ifuqa.instrument.layout`) and a :class:`~ifuqa.instrument.sky.Pointing`.

Footprints follow jwst's NIRSpec convention: the full slice width across the slice times one
pixel along it, corners ordered around the footprint (1: across_lo/along_lo, 2: across_hi/
along_lo, 3: across_hi/along_hi, 4: across_lo/along_hi). Clouds are sorted by wavelength so the
cube builder can slice wavelength chunks without copying.

Oversampled rows (the adaptive trace model, :mod:`ifuqa.process.stages.trace_oversampling`) use the
same code:
:func:`subrow_pixel_map` splits every pixel of a :class:`DetectorPixelMap` into ``f`` sub-rows of
height ``1/f`` centred at jwst's oversampled row positions ``y_os = j/f - (f-1)/(2f)``, each with
the instrument model's along-slice footprint at that fractional row (clipped to the slice ends
like whole pixels) and its parent's slice edges and wavelength (the model's wavelength depends on
the column only). The result is again a :class:`DetectorPixelMap` whose ``y`` is the
*oversampled* row index ``j``, so :func:`point_cloud` turns oversampled images into point clouds
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ifuqa.instrument.layout import (
    ALONG_SLICE_PIXEL_ARCSEC,
    SLICE_LENGTH_ARCSEC,
    DetectorPixelMap,
    trace_center,
)
from ifuqa.instrument.sky import Pointing

__all__ = [
    "PointCloud",
    "along_slice_at",
    "oversampled_rows",
    "point_cloud",
    "subrow_pixel_map",
]


@dataclass
class PointCloud:
    """Every usable pixel of one exposure on one detector, mapped to the sky.

    All per-pixel arrays have length ``n`` (``corner_ra``/``corner_dec``: shape ``(4, n)``) and
    are sorted by wavelength.

    Attributes
    ----------
    exposure : str
        Exposure identifier (e.g. the file stem).
    ra, dec : numpy.ndarray
        Pixel-centre sky position (deg).
    corner_ra, corner_dec : numpy.ndarray, shape (4, n)
        Footprint corners on the sky (deg), in order around the footprint.
    wavelength_um, dwave_um : numpy.ndarray
        Pixel-centre wavelength and wavelength width (µm).
    flux, err : numpy.ndarray
        Pixel value (surface brightness) and its error.
    slice_no : numpy.ndarray of int16
        Slice number, 1-based as in jwst (``slice_index + 1``).
    x, y : numpy.ndarray of int32
        Detector column and row of each pixel (for a cloud made from a
        :func:`subrow_pixel_map`, ``y`` is the oversampled row index).
    pointing : Pointing
        The pointing the sky positions were computed with.
    detector : str
        Detector name.
    """

    exposure: str
    ra: np.ndarray
    dec: np.ndarray
    corner_ra: np.ndarray
    corner_dec: np.ndarray
    wavelength_um: np.ndarray
    dwave_um: np.ndarray
    flux: np.ndarray
    err: np.ndarray
    slice_no: np.ndarray
    x: np.ndarray
    y: np.ndarray
    pointing: Pointing
    detector: str = ""

    @property
    def size(self) -> int:
        """Number of pixels in the cloud."""
        return int(self.ra.size)

    def wavelength_slice(self, lo: float, hi: float) -> slice:
        """Index range of the pixels with ``lo <= wavelength <= hi`` (the cloud is sorted)."""
        i0 = int(np.searchsorted(self.wavelength_um, lo, side="left"))
        i1 = int(np.searchsorted(self.wavelength_um, hi, side="right"))
        return slice(i0, i1)


def point_cloud(
    pixmap: DetectorPixelMap,
    pointing: Pointing,
    flux_image: np.ndarray,
    err_image: np.ndarray | None = None,
    good_mask: np.ndarray | None = None,
    *,
    exposure: str = "",
) -> PointCloud:
    """Turn a detector image and the instrument model into a sky point cloud.

    Parameters
    ----------
    pixmap : DetectorPixelMap
        The illuminated pixels of the detector (their footprints and wavelengths).
    pointing : Pointing
        Where the IFU pointed.
    flux_image : numpy.ndarray, shape (2048, 2048)
        Values per detector pixel (indexed ``[y, x]``), normally surface brightness in MJy/sr.
    err_image : numpy.ndarray, optional
        Errors per detector pixel (zeros if omitted).
    good_mask : numpy.ndarray of bool, optional
        True for pixels that may be used; pixels with a NaN value or error are dropped too.
    exposure : str
        Identifier stored in the cloud.

    Returns
    -------
    PointCloud
    """
    flux = np.asarray(flux_image)[pixmap.y, pixmap.x].astype(np.float64)
    if err_image is None:
        err = np.zeros_like(flux)
    else:
        err = np.asarray(err_image)[pixmap.y, pixmap.x].astype(np.float64)
    keep = np.isfinite(flux) & np.isfinite(err)
    if good_mask is not None:
        keep &= np.asarray(good_mask, dtype=bool)[pixmap.y, pixmap.x]
    order = np.argsort(pixmap.wavelength_um[keep], kind="stable")
    idx = np.flatnonzero(keep)[order]

    across_lo, across_hi = pixmap.across_lo[idx], pixmap.across_hi[idx]
    along_lo, along_hi = pixmap.along_lo[idx], pixmap.along_hi[idx]
    n = idx.size
    # centre + 4 corners in one projection call
    across = np.concatenate([0.5 * (across_lo + across_hi), across_lo, across_hi, across_hi,
                             across_lo])
    along = np.concatenate([0.5 * (along_lo + along_hi), along_lo, along_lo, along_hi,
                            along_hi])
    ra, dec = pointing.ifu_to_sky(across, along)
    ra = np.asarray(ra, dtype=np.float64).reshape(5, n)
    dec = np.asarray(dec, dtype=np.float64).reshape(5, n)
    return PointCloud(
        exposure=exposure,
        ra=np.ascontiguousarray(ra[0]),
        dec=np.ascontiguousarray(dec[0]),
        corner_ra=np.ascontiguousarray(ra[1:]),
        corner_dec=np.ascontiguousarray(dec[1:]),
        wavelength_um=np.ascontiguousarray(pixmap.wavelength_um[idx], dtype=np.float64),
        dwave_um=np.ascontiguousarray(pixmap.dwave_um[idx], dtype=np.float64),
        flux=flux[idx],
        err=err[idx],
        slice_no=(pixmap.slice_index[idx] + 1).astype(np.int16),
        x=pixmap.x[idx].astype(np.int32),
        y=pixmap.y[idx].astype(np.int32),
        pointing=pointing,
        detector=pixmap.detector,
    )


def along_slice_at(x: np.ndarray, y: np.ndarray, slice_index: np.ndarray) -> np.ndarray:
    """Along-slice coordinate (arcsec, IFU frame) of detector position ``(x, y)`` in a slice.

    The instrument model's map (:mod:`ifuqa.instrument.layout`): ``(y - y_k(x)) × 0.105"`` with
    ``y_k`` the slice's trace centre; ``y`` may be fractional (oversampled rows). Unclipped:
    this is the coordinate of the point, not of a footprint.

    Parameters
    ----------
    x, y : numpy.ndarray
        Detector column and (fractional) row, 0-based pixel centres.
    slice_index : numpy.ndarray of int
        Slice 0…29.

    Returns
    -------
    numpy.ndarray
        Along-slice coordinate (arcsec), increasing with ``y``.
    """
    return ((np.asarray(y, dtype=float) - trace_center(x, slice_index))
            * ALONG_SLICE_PIXEL_ARCSEC)


def oversampled_rows(factor: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Oversampled row indices and their fractional detector rows for detector ``rows``.

    jwst's convention (``adaptive_trace_model.trace_model._reindex``): row ``y`` becomes rows
    ``j = f y + m`` (``m = 0 … f-1``) centred at ``y_os = j / f - (f - 1) / (2 f)``, i.e. the
    ``f`` equal parts of ``[y - 1/2, y + 1/2]``.

    Parameters
    ----------
    factor : int
        Oversampling factor ``f`` (an integer ≥ 2).
    rows : numpy.ndarray of int
        Detector rows.

    Returns
    -------
    j : numpy.ndarray of int64, shape (f, n)
        Oversampled row indices (``j[m]`` for sub-row ``m`` of every input row).
    y_os : numpy.ndarray of float64, shape (f, n)
        Their centres in detector rows.
    """
    f = int(factor)
    if f != factor or f < 2:
        raise ValueError(f"the oversampling factor must be an integer >= 2, not {factor!r}")
    j = f * np.asarray(rows, dtype=np.int64)[None, :] + np.arange(f, dtype=np.int64)[:, None]
    return j, j / f - (f - 1) / (2.0 * f)


def subrow_pixel_map(pixmap: DetectorPixelMap, factor: int) -> DetectorPixelMap:
    """The pixel map of the oversampled (sub-row) grid for an oversampling factor ``factor``.

    Every pixel of ``pixmap`` becomes ``factor`` sub-rows (see :func:`oversampled_rows`). A
    sub-row's along-slice footprint is ``along_slice_at(x, y_os, k) ± 0.105" / (2 f)`` clipped to
    the slice ends (sub-rows left empty by the clipping are dropped), so the sub-rows of a pixel
    tile its footprint exactly; across-slice edges, wavelength and wavelength width are the
    parent pixel's.

    Parameters
    ----------
    pixmap : DetectorPixelMap
        Illuminated pixels of one detector (``y`` = detector rows).
    factor : int
        Oversampling factor (integer ≥ 2).

    Returns
    -------
    DetectorPixelMap
        Sub-row-major order (sub-row 0 of every pixel, then sub-row 1, …); ``y`` holds the
        oversampled row index ``j`` (images on this grid have ``f × 2048`` rows).
    """
    j, y_os = oversampled_rows(factor, pixmap.y)
    f = j.shape[0]
    x = np.broadcast_to(pixmap.x, j.shape)
    k = np.broadcast_to(pixmap.slice_index, j.shape)
    centre = along_slice_at(x, y_os, k)
    half = 0.5 * ALONG_SLICE_PIXEL_ARCSEC / f
    edge = 0.5 * SLICE_LENGTH_ARCSEC
    lo = np.maximum(centre - half, -edge)
    hi = np.minimum(centre + half, edge)
    keep = (hi > lo).ravel()

    def tile(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, j.shape).ravel()[keep]

    return DetectorPixelMap(
        pixmap.detector, pixmap.disperser,
        tile(pixmap.x).astype(np.int32), j.ravel()[keep].astype(np.int32),
        tile(pixmap.slice_index), lo.ravel()[keep], hi.ravel()[keep],
        tile(pixmap.across_lo), tile(pixmap.across_hi),
        tile(pixmap.wavelength_um), tile(pixmap.dwave_um),
    )
