"""Build IFU cubes (s3d) from point clouds with jwst's cube_build algorithms.

The grid (:mod:`ifuqa.process.stages.cube_grid`) follows
``jwst.cube_build.ifu_cube.IFUCubeData``; then:

* **Combination**: the C kernels of jwst (:mod:`ifuqa.process.jwst_api`), run over
  chunks of wavelength planes; each chunk receives exactly the pixels that can reach its
  planes (``|λ_plane − λ_pix| < dλ_pix + Δλ`` for drizzle, ``≤ roiw`` for Shepard), so the
  result equals a single whole-cube call.
* **Finishing**: flux = Σ w f / Σ w, err = sqrt(Σ w² σ²) / Σ w, WMAP = number of contributing
  pixels, DQ = ``NON_SCIENCE | DO_NOT_USE`` (NaN in SCI/ERR) where no pixel contributes.

The output :class:`~stdatamodels.jwst.datamodels.IFUCubeModel` carries the FITS WCS keywords in
``meta.wcsinfo`` (RA---TAN / DEC--TAN / WAVE, PC matrix as jwst writes it) and an equivalent
gwcs in ``meta.wcs`` built from astropy models.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ifuqa.process.jwst_api.cube_build import (
    SpaxelSums,
    drizzle_cube_kernel,
    finish_spaxels,
    shepard_cube_kernel,
)
from ifuqa.process.stages.cube_grid import CubeGrid, grid_for
from ifuqa.process.stages.point_cloud import PointCloud

__all__ = ["WEIGHTINGS", "CubeGrid", "ShepardParameters", "build_cube", "grid_for"]

WEIGHTINGS = ("drizzle", "emsm", "msm")


@dataclass(frozen=True)
class ShepardParameters:
    """Region of interest and weighting parameters of the modified Shepard methods.

    Defaults follow the NIRSpec entries of jwst's cube-parameter table (the values used by
    jwst's own NIRSpec cubepar tests): a spatial ROI of ~0.2", a spectral ROI of about two
    cube steps, ``msm`` power 2 and softening radius 0.01", ``emsm`` scale radius 0.1". As in
    jwst, the default ``msm`` spatial ROI is enlarged by 1.5 when fewer than 4 input files are
    combined. The CRDS reference file in operations may hold different numbers.
    """

    rois_arcsec: float | None = None
    roiw_um: float | None = None
    weight_power: float = 2.0
    softrad_arcsec: float = 0.01
    scalerad_arcsec: float = 0.1

    def resolved(self, weighting: str, n_files: int, wave_step_um: float
                 ) -> tuple[float, float]:
        """(rois, roiw) actually used for ``weighting`` with ``n_files`` inputs."""
        rois = self.rois_arcsec
        if rois is None:
            rois = 0.2
            if weighting == "msm" and n_files < 4:
                rois *= 1.5
        roiw = self.roiw_um if self.roiw_um is not None else 2.0 * wave_step_um
        return float(rois), float(roiw)


# ---------------------------------------------------------------------------------- build
_WORK: dict = {}  # inputs shared with forked workers


def _gather(grid: CubeGrid, clouds: Sequence[PointCloud], lo: float, hi: float,
            drizzle: bool) -> dict[str, np.ndarray] | None:
    """Pixels of all clouds with ``lo <= λ <= hi``, projected onto the grid's plane."""
    parts: dict[str, list[np.ndarray]] = {}
    for c in clouds:
        sl = c.wavelength_slice(lo, hi)
        if sl.stop <= sl.start:
            continue
        xi, eta = grid.sky_to_plane(c.ra[sl], c.dec[sl])
        cols = {"coord1": xi, "coord2": eta, "wave": c.wavelength_um[sl],
                "flux": c.flux[sl], "err": c.err[sl], "slice_no": c.slice_no[sl]}
        if drizzle:
            cols["dwave"] = c.dwave_um[sl]
            cxi, ceta = grid.sky_to_plane(c.corner_ra[:, sl].ravel(),
                                          c.corner_dec[:, sl].ravel())
            n = sl.stop - sl.start
            cxi = cxi.reshape(4, n)
            ceta = ceta.reshape(4, n)
            for k in range(4):
                cols[f"xi{k + 1}"] = cxi[k]
                cols[f"eta{k + 1}"] = ceta[k]
        for key, value in cols.items():
            parts.setdefault(key, []).append(value)
    if not parts:
        return None
    return {key: np.concatenate(v) for key, v in parts.items()}


def _run_chunk(k0: int, k1: int) -> tuple[int, SpaxelSums | None]:
    grid: CubeGrid = _WORK["grid"]
    clouds = _WORK["clouds"]
    weighting = _WORK["weighting"]
    zc = grid.zcoord[k0:k1]
    cd3 = np.full(k1 - k0, grid.wave_step_um)
    margin = _WORK["margin"]
    pts = _gather(grid, clouds, zc[0] - margin, zc[-1] + margin, weighting == "drizzle")
    if pts is None:
        return k0, None
    common = (grid.xcoord, grid.ycoord, zc, cd3, pts["coord1"], pts["coord2"], pts["wave"])
    if weighting == "drizzle":
        corners = tuple(pts[f"{a}{k}"] for k in range(1, 5) for a in ("xi", "eta"))
        sums = drizzle_cube_kernel(
            *common, pts["dwave"], pts["flux"], pts["err"], pts["slice_no"], corners,
            cdelt1=grid.spaxel_arcsec, cdelt2=grid.spaxel_arcsec, linear=True)
    else:
        rois, roiw = _WORK["roi"]
        sp: ShepardParameters = _WORK["shepard"]
        sums = shepard_cube_kernel(
            *common, pts["flux"], pts["err"], pts["slice_no"], weighting=weighting,
            cdelt1=grid.spaxel_arcsec, cdelt2=grid.spaxel_arcsec, rois=rois, roiw=roiw,
            weight_power=sp.weight_power, softrad=sp.softrad_arcsec,
            scalerad=sp.scalerad_arcsec)
    return k0, sums


def _run_chunk_args(args: tuple[int, int]) -> tuple[int, SpaxelSums | None]:
    return _run_chunk(*args)


def build_cube(
    clouds: Sequence[PointCloud],
    grid: CubeGrid,
    *,
    weighting: str = "drizzle",
    flux_units: str = "MJy/sr",
    shepard: ShepardParameters | None = None,
    chunk_planes: int | None = None,
    workers: int | None = None,
) -> Any:
    """Combine point clouds into an IFU cube with jwst's drizzle or Shepard kernels.

    Parameters
    ----------
    clouds : sequence of PointCloud
        The inputs (any number of exposures/detectors), values in ``flux_units``.
    grid : CubeGrid
        Output grid, e.g. from :func:`grid_for`.
    weighting : {"drizzle", "emsm", "msm"}
        3-D drizzle or modified Shepard point-cloud weighting.
    flux_units : str
        Written to ``BUNIT_DATA``/``BUNIT_ERR``.
    shepard : ShepardParameters, optional
        ROI and weighting parameters for ``emsm``/``msm``.
    chunk_planes : int, optional
        Wavelength planes per kernel call (default: ~16, fewer for huge spatial grids).
    workers : int, optional
        Worker processes (fork) for the chunks; default ``min(2, cpu_count)`` for cubes with
        more than 64 planes, else 1 (and 1 in a daemonic process, such as a Dask worker).

    Returns
    -------
    stdatamodels.jwst.datamodels.IFUCubeModel
        SCI, ERR, DQ, WMAP, WAVETABLE, FITS WCS keywords in ``meta.wcsinfo`` and a gwcs in
        ``meta.wcs``.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {weighting!r}")
    clouds = [c for c in clouds if c.size]
    shepard = shepard or ShepardParameters()
    nz, ny, nx = grid.shape
    nxy = nx * ny
    if chunk_planes is None:
        # kernel cost ~ pixels × planes per call; keep the voxel sums per call below ~4 M
        chunk_planes = int(max(1, min(16, 4_000_000 // max(nxy, 1))))
    chunks = [(k0, min(nz, k0 + chunk_planes)) for k0 in range(0, nz, chunk_planes)]
    if weighting == "drizzle":
        dmax = max((float(np.max(c.dwave_um)) for c in clouds), default=0.0)
        margin = dmax + grid.wave_step_um
        roi = (0.0, 0.0)
    else:
        roi = shepard.resolved(weighting, len(clouds), grid.wave_step_um)
        margin = roi[1]
    if workers is None:  # a daemonic process (a Dask worker: one per core) cannot fork
        daemon = multiprocessing.current_process().daemon
        workers = min(2, os.cpu_count() or 1) if nz > 64 and not daemon else 1
    workers = max(1, min(int(workers), len(chunks)))

    _WORK.update(grid=grid, clouds=clouds, weighting=weighting, margin=margin, roi=roi,
                 shepard=shepard)
    sums = SpaxelSums.zeros(nz * nxy)
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(workers) as pool:
                for k0, part in pool.imap_unordered(_run_chunk_args, chunks):
                    if part is not None:
                        sums.add(part, k0 * nxy)
        else:
            for k0, k1 in chunks:
                _, part = _run_chunk(k0, k1)
                if part is not None:
                    sums.add(part, k0 * nxy)
    finally:
        _WORK.clear()

    flux, err, dq, wmap = finish_spaxels(sums, grid.shape)
    del sums
    return _cube_model(grid, flux, err, dq, wmap, weighting=weighting, flux_units=flux_units,
                       roi=roi, shepard=shepard, clouds=clouds)


def _cube_model(grid: CubeGrid, flux: np.ndarray, err: np.ndarray, dq: np.ndarray,
                wmap: np.ndarray, *, weighting: str, flux_units: str,
                roi: tuple[float, float], shepard: ShepardParameters,
                clouds: Sequence[PointCloud]) -> Any:
    from stdatamodels.jwst import datamodels

    wave = grid.zcoord.astype(np.float32)
    wavetable = np.array([(wave[None].T,)], dtype=[("wavelength", "<f4", (wave.size, 1))])
    model = datamodels.IFUCubeModel(data=flux, dq=dq, err=err, weightmap=wmap,
                                    wavetable=wavetable)
    meta = model.meta
    meta.telescope = "JWST"
    meta.instrument.name = "NIRSPEC"
    meta.exposure.type = "NRS_IFU"
    if clouds:
        meta.instrument.detector = clouds[0].detector or None
    meta.bunit_data = flux_units
    meta.bunit_err = flux_units
    meta.coordinates.reference_frame = "ICRS"
    for key, value in grid.wcs_keywords().items():
        setattr(meta.wcsinfo, key, value)
    meta.photometry.pixelarea_arcsecsq = grid.spaxel_arcsec**2
    meta.photometry.pixelarea_steradians = grid.spaxel_solid_angle_sr
    meta.ifu.flux_extension = "SCI"
    meta.ifu.error_extension = "ERR"
    meta.ifu.error_type = "ERR"
    meta.ifu.dq_extension = "DQ"
    meta.ifu.weighting = weighting
    if weighting == "drizzle":
        meta.ifu.weight_power = 0
        meta.ifu.roi_spatial = 0.0
        meta.ifu.roi_wave = 0.0
    else:
        meta.ifu.weight_power = float(shepard.weight_power) if weighting == "msm" else 0.0
        meta.ifu.roi_spatial = roi[0]
        meta.ifu.roi_wave = roi[1]
    meta.wcs = grid.gwcs()
    meta.cal_step.cube_build = "COMPLETE"
    return model
