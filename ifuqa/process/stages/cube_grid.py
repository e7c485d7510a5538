"""The output grid of an IFU cube, as ``jwst.cube_build.ifu_cube.IFUCubeData`` sets it up.

* **Spatial grid** (``set_geometry``): a tangent plane about ``(crval1, crval2)``, the centre
  of the data footprint; ``xi`` increases to the west and the plane is rotated by
  ``rot_angle`` (0 for ``skyalign``; for ``ifualign`` ``90° + `` the position angle of the
  IFU along-slice axis of the first exposure, so the slices run along the cube's x axis).
  The grid is symmetric about the tangent point: ``nx = 2 na + 1`` spaxels with
  ``na = ceil(max|xi| / cdelt) + 1``, ``CRPIX1 = na + 1``.
* **Spectral grid**: linear, ``CRVAL3`` = centre of the first plane = ``λmin + Δλ/2``,
  ``nz = ceil((λmax − λmin) / Δλ)``; λmin/λmax are the data's pixel-centre extremes,
  optionally clipped to a requested range.

The grid carries the FITS WCS keywords (RA---TAN / DEC--TAN / WAVE, PC matrix as jwst
writes it) and an equivalent gwcs built from astropy models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ifuqa.instrument.dispersers import Disperser
from ifuqa.process.jwst_api.cube_build import (
    sky_to_cube_plane,
)
from ifuqa.process.stages.point_cloud import PointCloud

__all__ = ["ARCSEC2_TO_SR", "CubeGrid", "grid_for"]

ARCSEC2_TO_SR = (math.pi / (180.0 * 3600.0)) ** 2
"""Square arcseconds to steradians."""


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

    def fits_wcs(self) -> Any:
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

    def gwcs(self) -> Any:
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
def _ifualign_rotation(pointing: Any) -> float:
    """The NIRSpec ``ifualign`` angle of jwst: 90° + PA of the along-slice axis on the sky."""
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
