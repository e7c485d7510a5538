"""Small synthetic s3d/x1d products written directly (no detector simulation).

For tests, benchmarks and demonstrations of the truth-free checks: a point source of known
position, flux and centroid drift in a real IFUCubeModel (SCI, ERR, DQ, WMAP, gwcs), and the
matching MultiSpecModel x1d extracted with a circular aperture. Much faster than
:func:`ifuqa.simulate.simulate` followed by the processing chain, and exact by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ifuqa.process.stages.cube_building import CubeGrid

__all__ = ["PointCubeSpec", "write_point_cube", "write_point_x1d"]


@dataclass(frozen=True)
class PointCubeSpec:
    """A point source (NIRSpec's PSF) in a cube.

    Attributes
    ----------
    shape : (nz, ny, nx)
        Cube shape.
    wave_range_um : (float, float)
        Wavelength of the first and last planes (µm).
    spaxel_arcsec : float
        Spaxel size.
    center_xy : (float, float)
        Source position (0-based spaxels) at the start of the band.
    drift_xy : (float, float)
        Change of the position over the band (spaxels), linear in wavelength.
    flux_jy : float
        Total flux density (Jy), flat in wavelength.
    noise_fraction : float
        Gaussian noise per spaxel, as a fraction of the peak surface brightness.
    hole_depth : float
        Fraction of the peak removed at the source position (a NS-IFU01-like hole).
    wiggle_amplitude : float
        Fractional sinusoidal modulation of every spaxel's spectrum at ``wiggle_cycles_per_um``.
    wiggle_cycles_per_um : float
        Frequency of the modulation.
    x1d_undulation : float
        Low-frequency undulation added to the x1d only (a 1/f residual of the extraction,
        NS-IFU03: additive, ``x1d_undulation`` × the spectrum's median), at
        ``x1d_undulation_cycles_per_um``.
    x1d_slope : float
        Spectral index of the x1d only, ``F ∝ (λ / λ_mid)^slope`` (0: flat like the cube).
    x1d_undulation_cycles_per_um : float
        Its frequency.
    instrument, exp_type, srctype, bunit, cal_ver : str
        Header values.
    seed : int
        Noise seed.
    """

    shape: tuple[int, int, int] = (400, 31, 31)
    wave_range_um: tuple[float, float] = (2.9, 5.2)
    spaxel_arcsec: float = 0.1
    center_xy: tuple[float, float] = (15.2, 14.7)
    drift_xy: tuple[float, float] = (0.0, 0.0)
    flux_jy: float = 1e-3
    noise_fraction: float = 1e-3
    hole_depth: float = 0.0
    wiggle_amplitude: float = 0.0
    wiggle_cycles_per_um: float = 20.0
    x1d_undulation: float = 0.0
    x1d_undulation_cycles_per_um: float = 3.0
    x1d_slope: float = 0.0
    instrument: str = "NIRSPEC"
    exp_type: str = "NRS_IFU"
    srctype: str = "POINT"
    bunit: str = "MJy/sr"
    cal_ver: str = "1.18.0"
    seed: int = 1


def _grid(spec: PointCubeSpec) -> CubeGrid:
    from ifuqa.process.stages.cube_building import CubeGrid

    nz, ny, nx = spec.shape
    step = (spec.wave_range_um[1] - spec.wave_range_um[0]) / max(nz - 1, 1)
    return CubeGrid(crval1=53.1625, crval2=-27.7914, spaxel_arcsec=spec.spaxel_arcsec, nx=nx,
                    ny=ny, rot_angle_deg=0.0, coord_system="skyalign",
                    wave_start_um=spec.wave_range_um[0], wave_step_um=step, nz=nz)


def point_cube_data(spec: PointCubeSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data in ``spec.bunit``, err, wavelength µm) of the cube, float32.

    The source is ifuqa's NIRSpec PSF (:class:`ifuqa.instrument.psf.DiffractionPSF`) integrated
    exactly
    over each spaxel.
    """
    from ifuqa.instrument.psf import DiffractionPSF

    nz, ny, nx = spec.shape
    wave = np.linspace(*spec.wave_range_um, nz)
    frac = (wave - wave[0]) / max(wave[-1] - wave[0], 1e-12)
    sr = (spec.spaxel_arcsec / 206264.80624709636) ** 2
    to_unit = 1e-6 / (sr if spec.bunit == "MJy/sr" else 1.0)  # Jy per spaxel -> cube unit
    psf = DiffractionPSF(float(wave[0]), float(wave[-1]) + 1e-6, n_wavelengths=8)
    s = spec.spaxel_arcsec
    xs = np.arange(nx, dtype=float)
    ys = np.arange(ny, dtype=float)
    data = np.empty(spec.shape, dtype=np.float32)
    for k in range(nz):
        cx = spec.center_xy[0] + spec.drift_xy[0] * frac[k]
        cy = spec.center_xy[1] + spec.drift_xy[1] * frac[k]
        x0 = np.broadcast_to(((xs - 0.5 - cx) * s)[None, :], (ny, nx)).ravel()
        y0 = np.broadcast_to(((ys - 0.5 - cy) * s)[:, None], (ny, nx)).ravel()
        plane = psf.rect_integral(np.full(x0.size, wave[k]), x0, x0 + s, y0, y0 + s)
        plane = plane.reshape(ny, nx) * spec.flux_jy * to_unit
        if spec.hole_depth:
            plane[round(cy), round(cx)] *= 1.0 - spec.hole_depth
        data[k] = plane
    if spec.wiggle_amplitude:
        data *= (1.0 + spec.wiggle_amplitude * np.sin(
            2 * np.pi * spec.wiggle_cycles_per_um * wave))[:, None, None].astype(np.float32)
    peak = float(np.nanmax(data))
    rng = np.random.default_rng(spec.seed)
    sigma_noise = spec.noise_fraction * peak
    if sigma_noise > 0:
        data += rng.normal(0.0, sigma_noise, data.shape).astype(np.float32)
    err = np.full(spec.shape, max(sigma_noise, 1e-12 * peak), dtype=np.float32)
    return data, err, wave


def write_point_cube(path: Path, spec: PointCubeSpec = PointCubeSpec(), *,
                     with_wcs: bool = True, data: np.ndarray | None = None) -> Path:
    """Write an IFUCubeModel ``*_s3d.fits`` of a point source.

    Parameters
    ----------
    path : path
        Output file.
    spec : PointCubeSpec
        The source and the header values.
    with_wcs : bool
        False writes a cube without any WCS (a defect the checks must report).
    data : numpy.ndarray, optional
        Replace the science array (e.g. all NaN), keeping the rest.

    Returns
    -------
    Path
    """
    from stdatamodels.jwst import datamodels

    grid = _grid(spec)
    flux, err, _ = point_cube_data(spec)
    if data is not None:
        flux = np.asarray(data, dtype=np.float32)
    model = datamodels.IFUCubeModel(data=flux, err=err,
                                    dq=np.zeros(flux.shape, dtype=np.uint32),
                                    weightmap=np.ones(flux.shape, dtype=np.float32))
    meta = model.meta
    meta.telescope = "JWST"
    meta.instrument.name = spec.instrument
    meta.exposure.type = spec.exp_type
    meta.target.source_type = spec.srctype
    meta.bunit_data = spec.bunit
    meta.bunit_err = spec.bunit
    meta.calibration_software_version = spec.cal_ver
    meta.dither.dither_points = 4
    if with_wcs:
        for key, value in grid.wcs_keywords().items():
            setattr(meta.wcsinfo, key, value)
        meta.wcs = grid.gwcs()
    meta.photometry.pixelarea_steradians = grid.spaxel_solid_angle_sr
    meta.photometry.pixelarea_arcsecsq = grid.spaxel_arcsec**2
    meta.cal_step.cube_build = "COMPLETE"
    path = Path(path)
    model.save(path)
    model.close()
    return path


def write_point_x1d(path: Path, spec: PointCubeSpec = PointCubeSpec(), *,
                    center_xy: tuple[float, float] | None = None,
                    radius_spaxels: float = 3.0) -> Path:
    """Write the MultiSpecModel ``*_x1d.fits`` of the cube's source, with the extraction
    centre recorded.

    The flux is the true flux times the fraction that a circular aperture at ``center_xy``
    collects relative to the same aperture on the source (from the noiseless cube): a perfect
    aperture-corrected extraction when centred; an off-source ``center_xy`` loses flux as an
    extraction at the nominal position does (the NS-IFU04 defect).
    """
    from photutils.aperture import CircularAperture
    from stdatamodels.jwst import datamodels

    clean = PointCubeSpec(**{**spec.__dict__, "noise_fraction": 0.0})
    flux, _, wave = point_cube_data(clean)
    cx, cy = center_xy if center_xy is not None else spec.center_xy
    nz, ny, nx = spec.shape
    frac = (wave - wave[0]) / max(wave[-1] - wave[0], 1e-12)

    def collected(x: float, y: float, k: int) -> float:
        w = CircularAperture((x, y), radius_spaxels).to_mask(method="exact").to_image((ny, nx))
        return float((flux[k] * w).sum())

    values = np.empty(nz)
    for k in range(nz):
        sx = spec.center_xy[0] + spec.drift_xy[0] * frac[k]
        sy = spec.center_xy[1] + spec.drift_xy[1] * frac[k]
        on = collected(sx, sy, k)
        at = on if center_xy is None else collected(cx, cy, k)
        values[k] = spec.flux_jy * at / on
    if spec.wiggle_amplitude:
        values *= 1.0 + spec.wiggle_amplitude * np.sin(2 * np.pi * spec.wiggle_cycles_per_um
                                                       * wave)
    if spec.x1d_slope:
        values *= (wave / wave.mean()) ** spec.x1d_slope
    if spec.x1d_undulation:
        values = values + spec.x1d_undulation * float(np.median(values)) * np.sin(
            2 * np.pi * spec.x1d_undulation_cycles_per_um * wave + 0.3)
    dtype = datamodels.SpecModel().get_dtype("spec_table")
    table = np.zeros(wave.size, dtype=dtype)
    table["WAVELENGTH"] = wave
    table["FLUX"] = values
    table["FLUX_ERROR"] = np.abs(values) * max(spec.noise_fraction, 1e-4)
    table_model = datamodels.SpecModel(spec_table=table)
    for name, unit in {"WAVELENGTH": "um", "FLUX": "Jy", "FLUX_ERROR": "Jy"}.items():
        table_model.spec_table.columns[name.lower()].unit = unit
    table_model.source_type = spec.srctype
    table_model.extraction_x = float(cx)
    table_model.extraction_y = float(cy)
    out = datamodels.MultiSpecModel()
    out.meta.telescope = "JWST"
    out.meta.instrument.name = spec.instrument
    out.meta.exposure.type = spec.exp_type
    out.meta.calibration_software_version = spec.cal_ver
    out.meta.target.source_type = spec.srctype
    out.spec.append(table_model)
    path = Path(path)
    out.save(path)
    out.close()
    return path
