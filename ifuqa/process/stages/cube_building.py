"""Build IFU cubes (s3d) from point clouds with jwst's cube_build algorithms.

The geometry follows ``jwst.cube_build.ifu_cube.IFUCubeData``:

* **Spatial grid** (``set_geometry``): a tangent plane about ``(crval1, crval2)``, the centre
  of the data footprint; ``xi`` increases to the west and the plane is rotated by
  ``rot_angle`` (0 for ``skyalign``; for ``ifualign`` ``90° + `` the position angle of the
  IFU along-slice axis of the first exposure, so the slices run along the cube's x axis).
  The grid is symmetric about the tangent point: ``nx = 2 na + 1`` spaxels with
  ``na = ceil(max|xi| / cdelt) + 1``, ``CRPIX1 = na + 1``.
* **Spectral grid**: linear, ``CRVAL3`` = centre of the first plane = ``λmin + Δλ/2``,
  ``nz = ceil((λmax − λmin) / Δλ)``; λmin/λmax are the data's pixel-centre extremes,
  optionally clipped to a requested range.
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

import math
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ifuqa.instrument.dispersers import Disperser
from ifuqa.process.jwst_api.cube_build import (
    SpaxelSums,
    drizzle_cube_kernel,
    finish_spaxels,
    shepard_cube_kernel,
    sky_to_cube_plane,
)
from ifuqa.process.stages.point_cloud import PointCloud

__all__ = [
    "CubeGrid",
    "ShepardParameters",
    "build_cube",
    "grid_for",
]

ARCSEC2_TO_SR = (math.pi / (180.0 * 3600.0)) ** 2
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


@dataclass(frozen=True)
class CubeGrid:
    """The output grid of a cube: tangent-plane spaxels × linear wavelength planes.

    Attributes
    ----------
    crval1, crval2 : float
        RA/Dec of the tangent point (deg), the centre of spaxel ``(na, nb)``.
    spaxel_arcsec : float
        Spaxel size (arcsec, square spaxels).
    nx, ny : int
        Number of spaxels along x and y (odd).
    rot_angle_deg : float
        Rotation of the grid (0 = north up, east left).
    coord_system : {"skyalign", "ifualign"}
        How the rotation was chosen.
    wave_start_um : float
        Centre wavelength of the first plane (``CRVAL3``).
    wave_step_um : float
        Plane width (``CDELT3``).
    nz : int
        Number of planes.
    """

    crval1: float
    crval2: float
    spaxel_arcsec: float
    nx: int
    ny: int
    rot_angle_deg: float
    coord_system: str
    wave_start_um: float
    wave_step_um: float
    nz: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """Cube array shape ``(nz, ny, nx)``."""
        return (self.nz, self.ny, self.nx)

    @property
    def crpix1(self) -> float:
        """1-based FITS reference pixel along x."""
        return float(self.nx // 2 + 1)

    @property
    def crpix2(self) -> float:
        """1-based FITS reference pixel along y."""
        return float(self.ny // 2 + 1)

    @property
    def xcoord(self) -> np.ndarray:
        """Spaxel-centre x coordinates in the rotated tangent plane (arcsec, west positive)."""
        return (np.arange(self.nx) - self.nx // 2) * self.spaxel_arcsec

    @property
    def ycoord(self) -> np.ndarray:
        """Spaxel-centre y coordinates in the rotated tangent plane (arcsec)."""
        return (np.arange(self.ny) - self.ny // 2) * self.spaxel_arcsec

    @property
    def zcoord(self) -> np.ndarray:
        """Plane-centre wavelengths (µm)."""
        return self.wave_start_um + np.arange(self.nz) * self.wave_step_um

    @property
    def spaxel_solid_angle_sr(self) -> float:
        """Solid angle of one spaxel (sr)."""
        return self.spaxel_arcsec**2 * ARCSEC2_TO_SR

    @property
    def _rot(self) -> float | None:
        return None if self.rot_angle_deg == 0.0 else self.rot_angle_deg

    def sky_to_plane(self, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RA/Dec (deg) to the grid's tangent plane (arcsec), as the kernels see it."""
        return sky_to_cube_plane(self.crval1, self.crval2, ra, dec, self._rot)

    def pc_matrix(self) -> np.ndarray:
        """The 2 × 2 spatial PC matrix (jwst convention)."""
        r = np.deg2rad(self.rot_angle_deg)
        return np.array([[-np.cos(r), np.sin(r)], [np.sin(r), np.cos(r)]])

    def wcs_keywords(self) -> dict[str, float | str | int]:
        """FITS WCS keywords (lower-case ``meta.wcsinfo`` names)."""
        pc = self.pc_matrix()
        return {
            "wcsaxes": 3,
            "crpix1": self.crpix1, "crpix2": self.crpix2, "crpix3": 1.0,
            "crval1": float(self.crval1), "crval2": float(self.crval2),
            "crval3": float(self.wave_start_um),
            "cdelt1": self.spaxel_arcsec / 3600.0, "cdelt2": self.spaxel_arcsec / 3600.0,
            "cdelt3": float(self.wave_step_um),
            "ctype1": "RA---TAN", "ctype2": "DEC--TAN", "ctype3": "WAVE",
            "cunit1": "deg", "cunit2": "deg", "cunit3": "um",
            "pc1_1": float(pc[0, 0]), "pc1_2": float(pc[0, 1]), "pc1_3": 0.0,
            "pc2_1": float(pc[1, 0]), "pc2_2": float(pc[1, 1]), "pc2_3": 0.0,
            "pc3_1": 0.0, "pc3_2": 0.0, "pc3_3": 1.0,
        }

    def fits_wcs(self):
        """The grid as an :class:`astropy.wcs.WCS` (3 axes)."""
        from astropy.wcs import WCS

        kw = self.wcs_keywords()
        w = WCS(naxis=3)
        w.wcs.crpix = [kw["crpix1"], kw["crpix2"], kw["crpix3"]]
        w.wcs.crval = [kw["crval1"], kw["crval2"], kw["crval3"]]
        w.wcs.cdelt = [kw["cdelt1"], kw["cdelt2"], kw["cdelt3"]]
        w.wcs.ctype = [kw["ctype1"], kw["ctype2"], kw["ctype3"]]
        w.wcs.cunit = [kw["cunit1"], kw["cunit2"], kw["cunit3"]]
        pc = np.eye(3)
        pc[:2, :2] = self.pc_matrix()
        w.wcs.pc = pc
        w.wcs.radesys = "ICRS"
        w.wcs.set()
        return w

    def gwcs(self):
        """The grid as a gwcs: ``wcs(x, y, z)`` (0-based) → ``(ra, dec, wavelength_um)``."""
        from astropy import coordinates
        from astropy import units as u
        from astropy.modeling import models
        from gwcs import coordinate_frames as cf
        from gwcs import wcs as gwcs_wcs

        scale = self.spaxel_arcsec / 3600.0
        spatial = (
            (models.Shift(-(self.crpix1 - 1.0)) & models.Shift(-(self.crpix2 - 1.0)))
            | models.AffineTransformation2D(matrix=self.pc_matrix() * scale,
                                            translation=[0.0, 0.0])
            | models.Pix2Sky_Gnomonic()
            | models.RotateNative2Celestial(self.crval1, self.crval2, 180.0)
        )
        spectral = (models.Shift(0.0) | models.Scale(self.wave_step_um)
                    | models.Shift(self.wave_start_um))
        transform = spatial & spectral
        detector = cf.CoordinateFrame(
            name="detector", naxes=3, axes_order=(0, 1, 2), unit=(u.pix, u.pix, u.pix),
            axes_type=["SPATIAL", "SPATIAL", "SPECTRAL"], axes_names=("x", "y", "z"),
            axis_physical_types=None)
        sky = cf.CelestialFrame(name="sky", axes_order=(0, 1),
                                reference_frame=coordinates.ICRS(), unit=(u.deg, u.deg),
                                axes_names=("RA", "DEC"))
        spec = cf.SpectralFrame(name="spectral", axes_order=(2,), unit=(u.um,),
                                axes_names=("wavelength",))
        world = cf.CompositeFrame([sky, spec], name="world")
        w = gwcs_wcs.WCS([(detector, transform), (world, None)])
        w.bounding_box = ((-0.5, self.nx - 0.5), (-0.5, self.ny - 0.5), (-0.5, self.nz - 0.5))
        return w


# ---------------------------------------------------------------------------------- grid
def _ifualign_rotation(pointing) -> float:
    """jwst's NIRSpec ``ifualign`` angle: 90° + PA of the along-slice axis on the sky."""
    ra1, dec1 = pointing.ifu_to_sky(np.array([0.0]), np.array([0.0]))
    ra2, dec2 = pointing.ifu_to_sky(np.array([0.0]), np.array([1.0]))
    dra = ((ra2[0] - ra1[0] + 180.0) % 360.0 - 180.0) * np.cos(np.deg2rad(dec1[0]))
    ddec = dec2[0] - dec1[0]
    return float(90.0 + np.degrees(np.arctan2(dra, ddec)))


def _footprint_candidates(clouds: Sequence[PointCloud], ra0: float, dec0: float,
                          rot_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec of the footprint corners extreme in RA, Dec and along the rotated cube axes.

    Extremes are found in local (west, north) offsets about ``(ra0, dec0)`` — linear to
    better than 1e-6 over an IFU field — and are then projected exactly by the caller.
    """
    cosd = np.cos(np.deg2rad(dec0))
    r = np.deg2rad(rot_deg)
    dirs = [(np.cos(r), np.sin(r)), (-np.sin(r), np.cos(r))] if rot_deg != 0.0 else []
    ras, decs = [], []
    for c in clouds:
        if c.size == 0:
            continue
        cra = c.corner_ra.ravel()
        cdec = c.corner_dec.ravel()
        west = (cra - ra0 + 180.0) % 360.0
        west -= 180.0
        west *= -cosd
        picks = [int(np.argmin(west)), int(np.argmax(west)),
                 int(np.argmin(cdec)), int(np.argmax(cdec))]
        for a, b in dirs:
            proj = a * west + b * (cdec - dec0)
            picks += [int(np.argmin(proj)), int(np.argmax(proj))]
        ras.extend(cra[picks])
        decs.extend(cdec[picks])
    return np.asarray(ras), np.asarray(decs)


def grid_for(
    clouds: Sequence[PointCloud],
    *,
    spaxel_arcsec: float = 0.1,
    wave_step_um: float | None = None,
    coord_system: str = "skyalign",
    wavelength_range_um: tuple[float, float] | None = None,
    disperser: Disperser | None = None,
) -> CubeGrid:
    """The cube grid that covers ``clouds`` (jwst ``set_geometry``).

    Parameters
    ----------
    clouds : sequence of PointCloud
        All inputs of the cube.
    spaxel_arcsec : float
        Spaxel size.
    wave_step_um : float, optional
        Wavelength step; default ``disperser.cube_step_um``.
    coord_system : {"skyalign", "ifualign"}
        North-up/east-left, or aligned with the IFU axes of the first cloud's pointing.
    wavelength_range_um : (float, float), optional
        Restrict the cube to this range (intersected with the data's range).
    disperser : Disperser, optional
        Needed when ``wave_step_um`` is not given.

    Returns
    -------
    CubeGrid
    """
    if coord_system not in ("skyalign", "ifualign"):
        raise ValueError(f"coord_system must be 'skyalign' or 'ifualign', not {coord_system!r}")
    clouds = [c for c in clouds if c.size]
    if not clouds:
        raise ValueError("no pixels in any point cloud: cannot define a cube grid")
    if wave_step_um is None:
        if disperser is None:
            raise ValueError("give wave_step_um or the disperser (for its cube_step_um)")
        wave_step_um = disperser.cube_step_um
    if wave_step_um <= 0 or spaxel_arcsec <= 0:
        raise ValueError("wave_step_um and spaxel_arcsec must be positive")

    rot = 0.0 if coord_system == "skyalign" else _ifualign_rotation(clouds[0].pointing)
    # tangent point: centre of the RA/Dec range of the footprint (jwst averages min/max)
    ref_ra, ref_dec = clouds[0].pointing.ra_deg, clouds[0].pointing.dec_deg
    ras, decs = _footprint_candidates(clouds, ref_ra, ref_dec, rot)
    dra = (ras - ref_ra + 180.0) % 360.0 - 180.0
    crval1 = float((ref_ra + 0.5 * (dra.min() + dra.max())) % 360.0)
    crval2 = float(0.5 * (decs.min() + decs.max()))
    xi, eta = sky_to_cube_plane(crval1, crval2, ras, decs, None if rot == 0 else rot)
    na = math.ceil(float(np.max(np.abs(xi))) / spaxel_arcsec) + 1
    nb = math.ceil(float(np.max(np.abs(eta))) / spaxel_arcsec) + 1

    lam_min = min(float(c.wavelength_um[0]) for c in clouds)
    lam_max = max(float(c.wavelength_um[-1]) for c in clouds)
    if wavelength_range_um is not None:
        lam_min = max(lam_min, float(wavelength_range_um[0]))
        lam_max = min(lam_max, float(wavelength_range_um[1]))
        if lam_max <= lam_min:
            raise ValueError(f"wavelength_range_um {wavelength_range_um} does not overlap the data")
    nz = max(1, math.ceil((lam_max - lam_min) / wave_step_um))
    return CubeGrid(crval1=crval1, crval2=crval2, spaxel_arcsec=float(spaxel_arcsec),
                    nx=2 * na + 1, ny=2 * nb + 1, rot_angle_deg=rot, coord_system=coord_system,
                    wave_start_um=lam_min + wave_step_um / 2.0,
                    wave_step_um=float(wave_step_um), nz=nz)


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
):
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
        more than 64 planes, else 1.

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
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if nz > 64 else 1
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
                clouds: Sequence[PointCloud]):
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
