"""jwst's ``cube_build`` C kernels: 3-D drizzle and modified-Shepard point-cloud combination.

Everything here takes and returns plain numpy arrays so the callers never see the C calling
conventions.

What is wrapped (jwst 3.0, ``jwst/cube_build/ifu_cube.py``, ``IFUCubeData.build_ifucube``):

* ``cube_match_sky_driz.cube_wrapper_driz`` — the 3-D drizzle: each detector pixel is a
  quadrilateral in the cube's tangent plane (corners ``xi1, eta1 … xi4, eta4``, arcsec) times
  a wavelength interval ``dwave``; its weight in a spaxel is (area of overlap, arcsec²) ×
  (wavelength overlap, µm).
* ``cube_match_sky_pointcloud.cube_wrapper`` — the modified Shepard method: each detector pixel
  is a point; spaxels within the spatial/spectral region of interest (``rois``, ``roiw``) get the
  weight ``exp(-d² / (scalerad / cdelt1))`` (``emsm``) or ``1 / max(d^power, softrad)`` (``msm``)
  with ``d`` the distance in units of the spaxel size and of the plane's wavelength step.
* ``coord.radec2std`` — RA/Dec to the cube's (possibly rotated) tangent plane, arcsec, with
  ``xi`` increasing to the *west* (the parity of jwst cubes, ``PC1_1 = -cos(rot)``).

Both kernels return the un-normalised sums ``(spaxel_flux, spaxel_weight, spaxel_var,
spaxel_iflux)`` for the cube flattened in (wavelength, y, x) order; :func:`finish_spaxels`
turns accumulated sums into the final (flux, err, dq, weightmap) exactly as
``IFUCubeData.find_spaxel_flux``, ``set_final_dq_flags`` (DQ plane from the weights, the
``skip_dqflagging`` path) and ``setup_final_ifucube_model`` do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ifuqa.process.jwst_api._api import ApiSpec, resolve

__all__ = ["CUBE_KERNEL_SIGNATURES", "DO_NOT_USE", "NON_SCIENCE", "CubeKernelError", "SpaxelSums",
           "check_behaviour", "check_cube_kernels", "drizzle_cube_kernel", "finish_spaxels",
           "shepard_cube_kernel", "sky_to_cube_plane"]

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {}
"""The kernels are C functions without signatures; :func:`check_cube_kernels` calls them."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Call every wrapped kernel on a tiny input (:func:`check_cube_kernels`).

    Returns
    -------
    checked, problems : list of str
    """
    try:
        check_cube_kernels()
    except Exception as exc:
        return [], [f"changed: jwst.cube_build kernels ({exc})"]
    return ["cube_build C kernels (cube_wrapper_driz, cube_wrapper, radec2std)"], []


CUBE_KERNEL_SIGNATURES: dict[str, str] = {
    "jwst.cube_build.cube_match_sky_driz.cube_wrapper_driz": (
        "cube_wrapper_driz(instrument:int, flag_dq_plane:int, start_region:int, end_region:int, "
        "overlap_partial:int, overlap_full:int, xcoord, ycoord, zcoord, coord1, coord2, wave, "
        "flux, err, slice_no, xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4, dwave, cdelt3_normal, "
        "cdelt1:float, cdelt2:float, cdelt3_mean:float, linear:int, x_det, y_det, "
        "debug_cube_index:int) -> (spaxel_flux, spaxel_weight, spaxel_var, spaxel_iflux, "
        "spaxel_dq)  [PyArg format 'iiiiiiOOOOOOOOOOOOOOOOOOOdddiOOl']"
    ),
    "jwst.cube_build.cube_match_sky_pointcloud.cube_wrapper": (
        "cube_wrapper(instrument:int, flag_dq_plane:int, weight_type:int, start_region:int, "
        "end_region:int, overlap_partial:int, overlap_full:int, xcoord, ycoord, zcoord, coord1, "
        "coord2, wave, flux, err, slice_no, rois_pixel, roiw_pixel, scalerad_pixel, "
        "weight_pixel, softrad_pixel, cdelt3_normal, roiw_ave:float, cdelt1:float, "
        "cdelt2:float) -> (spaxel_flux, spaxel_weight, spaxel_var, spaxel_iflux, spaxel_dq)  "
        "[PyArg format 'iiiiiiiOOOOOOOOOOOOOOOddd']"
    ),
    "jwst.cube_build.coord.radec2std": (
        "radec2std(crval1, crval2, ra, dec, rot_angle=None) -> (xi, eta) arcsec"
    ),
}
"""The jwst symbols wrapped here and the call conventions this module was written against."""

# Flags used by IFUCubeData (ifu_cube.py): intermediate overlap flags and final DQ bits.
_INSTRUMENT_NIRSPEC = 1
_OVERLAP_PARTIAL = 4
_OVERLAP_FULL = 2
DO_NOT_USE = 1
NON_SCIENCE = 512
_WEIGHT_TYPES = {"emsm": 0, "msm": 1}


class CubeKernelError(RuntimeError):
    """A jwst cube_build kernel is missing or its calling convention changed."""


@dataclass
class SpaxelSums:
    """Accumulated (un-normalised) spaxel sums, flattened in (wavelength, y, x) order."""

    flux: np.ndarray
    weight: np.ndarray
    var: np.ndarray
    iflux: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> SpaxelSums:
        """Empty sums for ``n`` voxels."""
        return cls(*(np.zeros(n, dtype=np.float64) for _ in range(4)))

    def add(self, other: SpaxelSums, offset: int = 0) -> None:
        """Add ``other`` into ``self`` starting at flat voxel ``offset``."""
        sl = slice(offset, offset + other.flux.size)
        self.flux[sl] += other.flux
        self.weight[sl] += other.weight
        self.var[sl] += other.var
        self.iflux[sl] += other.iflux


def _cube_kernel(module: str, name: str) -> Any:
    """A cube_build C kernel, or CubeKernelError naming it when it cannot be imported."""
    try:
        return resolve(f"jwst.cube_build.{module}", name)
    except (ImportError, AttributeError) as exc:  # pragma: no cover - depends on the jwst
        raise CubeKernelError(
            f"jwst.cube_build.{module}.{name} is not importable: {exc}") from exc


def _f8(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _unpack(result: object, ncube: int, symbol: str) -> SpaxelSums:
    if not isinstance(result, tuple) or len(result) != 5:
        raise CubeKernelError(
            f"{symbol} returned {type(result).__name__} of length "
            f"{len(result) if hasattr(result, '__len__') else '?'}; expected a tuple of 5 arrays "
            "(spaxel_flux, spaxel_weight, spaxel_var, spaxel_iflux, spaxel_dq)")
    arrays = [np.asarray(a) for a in result]
    if any(a.shape != (ncube,) for a in arrays):
        raise CubeKernelError(
            f"{symbol} returned arrays of shapes {[a.shape for a in arrays]}; "
            f"expected ({ncube},) each")
    return SpaxelSums(*(np.asarray(a, dtype=np.float64) for a in arrays[:4]))


def _pad_points(npt: int, nwave: int) -> int:
    """Dummy points needed so that npt >= nwave (the drizzle C code reads dwave[0:nwave])."""
    return max(0, nwave - npt)


def drizzle_cube_kernel(
    xcoord: np.ndarray, ycoord: np.ndarray, zcoord: np.ndarray, cdelt3_normal: np.ndarray,
    coord1: np.ndarray, coord2: np.ndarray, wave: np.ndarray, dwave: np.ndarray,
    flux: np.ndarray, err: np.ndarray, slice_no: np.ndarray,
    corners: tuple[np.ndarray, ...], *, cdelt1: float, cdelt2: float,
    linear: bool = True,
) -> SpaxelSums:
    """3-D drizzle of detector pixels onto a cube grid with jwst's ``cube_wrapper_driz``.

    Parameters
    ----------
    xcoord, ycoord : numpy.ndarray
        Spaxel-centre coordinates of the cube axes in the cube tangent plane (arcsec).
    zcoord, cdelt3_normal : numpy.ndarray
        Wavelength of every plane's centre and the plane widths (µm).
    coord1, coord2 : numpy.ndarray
        Pixel centres in the cube tangent plane (arcsec; see :func:`sky_to_cube_plane`).
    wave, dwave : numpy.ndarray
        Pixel-centre wavelength and wavelength width (µm).
    flux, err : numpy.ndarray
        Pixel surface brightness and its error.
    slice_no : numpy.ndarray
        Slice number of each pixel (used by jwst only for DQ flagging, which is off here).
    corners : (xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4)
        Pixel footprint corners in the tangent plane (arcsec), in order around the footprint.
    cdelt1, cdelt2 : float
        Spaxel size (arcsec).
    linear : bool
        Whether the wavelength grid is linear.

    Returns
    -------
    SpaxelSums
        Sums for the ``len(zcoord) × len(ycoord) × len(xcoord)`` voxels.
    """
    nx, ny, nz = len(xcoord), len(ycoord), len(zcoord)
    ncube = nx * ny * nz
    arrays = [coord1, coord2, wave, flux, err, slice_no, *corners, dwave]
    pad = _pad_points(len(wave), nz)
    if pad:  # far from every plane: contributes nothing
        far = float(np.min(zcoord)) - 1.0e6
        fill = [0.0, 0.0, far, 0.0, 0.0, 0.0] + [0.0] * 8 + [0.0]
        arrays = [np.concatenate([np.asarray(a, dtype=float), np.full(pad, v)])
                  for a, v in zip(arrays, fill, strict=True)]
    c1, c2, wv, fl, er, sl, xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4, dw = map(_f8, arrays)
    npt = len(wv)
    det = np.zeros(npt, dtype=np.float64)
    z3 = _f8(cdelt3_normal)
    result = _cube_kernel("cube_match_sky_driz", "cube_wrapper_driz")(
        _INSTRUMENT_NIRSPEC, 0, 0, 0, _OVERLAP_PARTIAL, _OVERLAP_FULL,
        _f8(xcoord), _f8(ycoord), _f8(zcoord), c1, c2, wv, fl, er, sl,
        xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4, dw, z3,
        float(cdelt1), float(cdelt2), float(np.nanmean(z3)), int(bool(linear)),
        det, det, -1,
    )
    return _unpack(result, ncube, "cube_wrapper_driz")


def shepard_cube_kernel(
    xcoord: np.ndarray, ycoord: np.ndarray, zcoord: np.ndarray, cdelt3_normal: np.ndarray,
    coord1: np.ndarray, coord2: np.ndarray, wave: np.ndarray,
    flux: np.ndarray, err: np.ndarray, slice_no: np.ndarray, *,
    weighting: str, cdelt1: float, cdelt2: float, rois: float, roiw: float,
    weight_power: float = 2.0, softrad: float = 0.01, scalerad: float = 0.1,
) -> SpaxelSums:
    """Modified-Shepard (point cloud) combination with jwst's ``cube_wrapper``.

    Parameters
    ----------
    xcoord, ycoord, zcoord, cdelt3_normal, coord1, coord2, wave, flux, err, slice_no
        As for :func:`drizzle_cube_kernel`.
    weighting : {"emsm", "msm"}
        Exponential or inverse-distance-power modified Shepard weighting.
    cdelt1, cdelt2 : float
        Spaxel size (arcsec).
    rois, roiw : float
        Spatial (arcsec) and spectral (µm) region of interest.
    weight_power, softrad : float
        ``msm`` power and softening radius.
    scalerad : float
        ``emsm`` scale radius (arcsec).

    Returns
    -------
    SpaxelSums
    """
    if weighting not in _WEIGHT_TYPES:
        raise ValueError(f"weighting must be 'emsm' or 'msm', not {weighting!r}")
    nx, ny, nz = len(xcoord), len(ycoord), len(zcoord)
    ncube = nx * ny * nz
    npt = len(wave)

    def const(v: float) -> np.ndarray:
        return np.full(npt, float(v))

    result = _cube_kernel("cube_match_sky_pointcloud", "cube_wrapper")(
        _INSTRUMENT_NIRSPEC, 0, _WEIGHT_TYPES[weighting], 0, 0, _OVERLAP_PARTIAL, _OVERLAP_FULL,
        _f8(xcoord), _f8(ycoord), _f8(zcoord), _f8(coord1), _f8(coord2), _f8(wave),
        _f8(flux), _f8(err), _f8(slice_no),
        const(rois), const(roiw), const(scalerad), const(weight_power), const(softrad),
        _f8(cdelt3_normal), float(roiw), float(cdelt1), float(cdelt2),
    )
    return _unpack(result, ncube, "cube_wrapper")


def sky_to_cube_plane(crval1: float, crval2: float, ra: np.ndarray, dec: np.ndarray,
                      rot_angle: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec (deg) to the cube's tangent plane (arcsec) with jwst's ``coord.radec2std``.

    ``xi`` increases to the west (opposite to RA) and the frame is rotated by ``rot_angle``
    degrees, exactly as ``IFUCubeData`` maps pixels to the cube.
    """
    from jwst.cube_build import coord

    xi, eta = coord.radec2std(crval1, crval2, np.asarray(ra, dtype=float),
                              np.asarray(dec, dtype=float), rot_angle)
    return np.asarray(xi, dtype=float), np.asarray(eta, dtype=float)


def finish_spaxels(sums: SpaxelSums, shape: tuple[int, int, int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Final (flux, err, dq, weightmap) cubes from accumulated sums, as ``ifu_cube.py`` does.

    * ``find_spaxel_flux``: where ``iflux > 0``, flux /= weight and var /= weight².
    * ``set_final_dq_flags`` with DQ flagging from the instrument footprint skipped: spaxels
      with weight > 0 are good (0), all others ``NON_SCIENCE | DO_NOT_USE``.
    * ``setup_final_ifucube_model``: NaN flux and var where DO_NOT_USE; err = sqrt(var);
      weightmap = iflux (number of contributing pixels).

    Returns
    -------
    flux, err : numpy.ndarray of float32, shape ``(nz, ny, nx)``
    dq : numpy.ndarray of uint32
    weightmap : numpy.ndarray of float32
    """
    flux = sums.flux.copy()
    var = sums.var.copy()
    good = sums.iflux > 0
    flux[good] = flux[good] / sums.weight[good]
    var[good] = var[good] / (sums.weight[good] * sums.weight[good])
    dq = np.where(sums.weight > 0, 0, NON_SCIENCE | DO_NOT_USE).astype(np.uint32)
    bad = (dq & DO_NOT_USE) != 0
    flux[bad] = np.nan
    var[bad] = np.nan
    err = np.sqrt(var)
    return (flux.reshape(shape).astype(np.float32), err.reshape(shape).astype(np.float32),
            dq.reshape(shape), sums.iflux.reshape(shape).astype(np.float32))


def check_cube_kernels() -> None:
    """Call every wrapped jwst symbol on a tiny input and verify the results.

    Raises
    ------
    CubeKernelError
        Naming the symbol whose import, call convention, return value or arithmetic differs
        from what this module was written against (see ``CUBE_KERNEL_SIGNATURES``).
    """
    # 3 × 3 spaxels of 0.125", 2 planes of 2**-10 µm; one pixel exactly on the central spaxel
    # of plane 0 and one far away in wavelength.
    s = 0.125
    dz = 2.0**-10
    xc = np.array([-s, 0.0, s])
    zc = np.array([4.0, 4.0 + dz])
    cd3 = np.full(2, dz)
    c1 = np.array([0.0, 0.0])
    c2 = np.array([0.0, 0.0])
    wave = np.array([4.0, 3.0])
    flux = np.array([3.0, 5.0])
    err = np.array([0.5, 0.5])
    h = s / 2
    corners = (c1 - h, c2 - h, c1 + h, c2 - h, c1 + h, c2 + h, c1 - h, c2 + h)
    symbol = "jwst.cube_build.cube_match_sky_driz.cube_wrapper_driz"
    try:
        got = drizzle_cube_kernel(xc, xc, zc, cd3, c1, c2, wave, np.full(2, dz), flux, err,
                                  np.ones(2), corners, cdelt1=s, cdelt2=s)
    except CubeKernelError:
        raise
    except Exception as exc:
        raise CubeKernelError(
            f"{symbol} call failed ({type(exc).__name__}: {exc}); expected "
            f"{CUBE_KERNEL_SIGNATURES[symbol]}") from exc
    centre = 4  # plane 0, iy = 1, ix = 1
    expect_w = s * s * dz
    ok = (np.isclose(got.weight[centre], expect_w, rtol=1e-9)
          and np.isclose(got.flux[centre], 3.0 * expect_w, rtol=1e-9)
          and np.isclose(got.var[centre], (0.5 * expect_w) ** 2, rtol=1e-9)
          and got.iflux[centre] == 1.0
          and np.isclose(got.weight.sum(), expect_w, rtol=1e-6))
    if not ok:
        raise CubeKernelError(
            f"{symbol} returned unexpected sums for a pixel covering one spaxel exactly: "
            f"weight {got.weight[centre]!r} (expected {expect_w!r}), flux {got.flux[centre]!r}")

    symbol = "jwst.cube_build.cube_match_sky_pointcloud.cube_wrapper"
    try:
        emsm = shepard_cube_kernel(xc, xc, zc, cd3, c1, c2, np.array([4.0, 3.0]), flux, err,
                                   np.ones(2), weighting="emsm", cdelt1=s, cdelt2=s, rois=0.13,
                                   roiw=dz / 2, scalerad=0.1)
        msm = shepard_cube_kernel(xc, xc, zc, cd3, c1, c2, np.array([4.0, 3.0]), flux, err,
                                  np.ones(2), weighting="msm", cdelt1=s, cdelt2=s, rois=0.13,
                                  roiw=dz / 2, weight_power=2.0, softrad=0.01)
    except CubeKernelError:
        raise
    except Exception as exc:
        raise CubeKernelError(
            f"{symbol} call failed ({type(exc).__name__}: {exc}); expected "
            f"{CUBE_KERNEL_SIGNATURES[symbol]}") from exc
    neighbour = 5  # plane 0, iy = 1, ix = 2: one spaxel away
    ok = (np.isclose(emsm.weight[centre], 1.0)
          and np.isclose(emsm.weight[neighbour], np.exp(-1.0 / (0.1 / s)))
          and np.isclose(msm.weight[centre], 1.0 / 0.01)
          and np.isclose(msm.weight[neighbour], 1.0)
          and np.isclose(emsm.flux[centre], 3.0) and emsm.iflux[centre] == 1.0
          and emsm.weight[9:].sum() == 0.0)
    if not ok:
        raise CubeKernelError(
            f"{symbol} returned unexpected Shepard weights: emsm centre/neighbour "
            f"{emsm.weight[centre]!r}/{emsm.weight[neighbour]!r}, msm "
            f"{msm.weight[centre]!r}/{msm.weight[neighbour]!r}")

    symbol = "jwst.cube_build.coord.radec2std"
    try:
        xi, eta = sky_to_cube_plane(10.0, 0.0, np.array([10.0 + 1 / 3600]), np.array([1 / 3600]))
    except Exception as exc:
        raise CubeKernelError(f"{symbol} call failed ({type(exc).__name__}: {exc})") from exc
    if not (np.isclose(xi[0], -1.0, atol=1e-6) and np.isclose(eta[0], 1.0, atol=1e-6)):
        raise CubeKernelError(
            f"{symbol} no longer maps 1\" east/north to xi = -1, eta = +1 (got {xi}, {eta})")
