"""Helpers shared by the evaluations: reading a dataset's products, PSF widths, truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.instrument.psf import cube_fwhm_arcsec as fwhm_arcsec
from ifuqa.products import Cube, ProductError, Spectrum, read_cube, read_spectrum
from ifuqa.simulate.truth import Truth
from ifuqa.util.stats import nanmean, nanmedian
from ifuqa.verdicts.thresholds import Limit

__all__ = ["MAX_FLAGGED_FRACTION", "MIN_DETECTION_SNR", "SourceDetection",
           "SourceFreeSpaxels", "aperture_pixels", "apparent_source_position",
           "background_subtracted", "cube_fwhm", "detect_source", "dither_positions",
           "fwhm_arcsec", "limit_for", "source_free_spaxels",
           "the_cube", "the_spectrum", "true_spectrum", "usable_spectrum"]


def _spectrum_table(x1d: Path) -> Any:
    """The x1d's spectrum table (``EXTRACT1D``, else its first table with a FLUX column; an
    analytic x1d may carry an empty SCI image first), or NotApplicable."""
    from astropy.io import fits

    with fits.open(x1d) as hdul:
        tables = [h for h in hdul if isinstance(h, fits.BinTableHDU)
                  and "FLUX" in [n.upper() for n in h.columns.names]]
        named = [h for h in tables if h.name == "EXTRACT1D"]
        if not tables:
            raise NotApplicable(f"{x1d.name} has no spectrum table with a FLUX column")
        return (named or tables)[0].data.copy()


def aperture_pixels(x1d: Path, n_planes: int) -> np.ndarray:
    """The extraction aperture's area per plane (spaxels; the x1d's NPIXELS column), or
    NotApplicable when the x1d does not record it (or never a positive area) or was not
    extracted from an ``n_planes``-plane cube."""
    return _aperture_columns(x1d, n_planes)[0]


def background_subtracted(x1d: Path, n_planes: int) -> bool:
    """Whether the x1d's extraction subtracted a background: a BACKGROUND column not all zero
    (jwst's annulus subtraction for point sources); NotApplicable as :func:`aperture_pixels`."""
    return _aperture_columns(x1d, n_planes)[1]


def _aperture_columns(x1d: Path, n_planes: int) -> tuple[np.ndarray, bool]:
    table = _spectrum_table(x1d)
    names = [n.upper() for n in table.columns.names]
    if "NPIXELS" not in names:
        raise NotApplicable(f"{x1d.name} has no NPIXELS column: the aperture area it "
                            "extracted is unknown")
    npix = np.asarray(table["NPIXELS"], dtype=float)
    if npix.size != n_planes:
        raise NotApplicable(f"{x1d.name} has {npix.size} rows, its cube {n_planes} planes: the "
                            "x1d was not extracted from this cube")
    if not np.any(np.isfinite(npix) & (npix > 0)):
        raise NotApplicable(f"{x1d.name}: NPIXELS is never positive, the aperture area it "
                            "extracted is unknown")
    background = (np.asarray(table["BACKGROUND"], dtype=float) if "BACKGROUND" in names
                  else np.zeros(1))
    return npix, bool(np.any(np.isfinite(background) & (background != 0.0)))


@dataclass(frozen=True)
class SourceFreeSpaxels:
    """Covered spaxels of a cube far from the x1d's extraction aperture.

    Attributes
    ----------
    mask : numpy.ndarray of bool
        (y, x) the spaxels.
    x : numpy.ndarray
        (y, x) column index of every spaxel.
    radius_pix, distance_pix : float
        The aperture's radius (from its largest NPIXELS) and how far from the extraction
        centre the spaxels begin (radius + margin), in spaxels.
    npix : numpy.ndarray
        The aperture's area per plane (NPIXELS).
    """

    mask: np.ndarray
    x: np.ndarray
    radius_pix: float
    distance_pix: float
    npix: np.ndarray


def source_free_spaxels(cube: Cube, spec: Spectrum, margin_fwhm: float, *,
                        min_coverage: float = 0.95) -> SourceFreeSpaxels:
    """The spaxels covered in at least ``min_coverage`` of the planes (eroded by one spaxel)
    more than ``margin_fwhm`` PSF FWHM (the cube's widest) beyond the edge of the x1d's
    extraction aperture (radius from its NPIXELS); NotApplicable when the x1d records no
    extraction centre or aperture area, or is not this cube's."""
    from scipy.ndimage import binary_erosion

    data = np.asarray(cube.data, dtype=float)
    n, ny, nx = data.shape
    npix = aperture_pixels(spec.path, n)
    if spec.extraction_xy is None:
        raise NotApplicable(f"{spec.path.name} does not record its extraction centre "
                            "(EXTR_X/EXTR_Y)")
    cx, cy = spec.extraction_xy
    radius = float(np.sqrt(np.nanmax(npix) / np.pi))
    margin = margin_fwhm * float(np.nanmax(cube_fwhm(cube))) / cube.spaxel_arcsec
    yy, xx = np.mgrid[:ny, :nx]
    covered = binary_erosion(np.isfinite(data).mean(axis=0) >= min_coverage)
    free = covered & (np.hypot(xx - cx, yy - cy) > radius + margin)
    return SourceFreeSpaxels(free, xx, radius, radius + margin, npix)


def the_cube(paths: list[Path]) -> Cube:
    """The dataset's (first) s3d cube, or NotApplicable."""
    if not paths:
        raise NotApplicable("no s3d cube in this dataset")
    return read_cube(paths[0])


def the_spectrum(paths: list[Path]) -> Spectrum:
    """The dataset's (first) x1d spectrum, or NotApplicable."""
    if not paths:
        raise NotApplicable("no x1d spectrum in this dataset")
    return read_spectrum(paths[0])


def true_spectrum(truth: Truth) -> tuple[np.ndarray, np.ndarray, float]:
    """(wavelength µm, flux Jy, resolving power) of the first source of a synthetic truth."""
    return truth.source.wavelength_um, truth.source.flux_jy, truth.resolving_power


def apparent_source_position(truth: Truth) -> tuple[float, float]:
    """Band-averaged sky position (RA, Dec deg) where the cube should show the first source.

    The pipeline assumes the commanded pointing, so the source appears at the target shifted by
    its offset plus the (unknown to the pipeline) pointing offset, in the IFU frame at the
    position angle; the centroid track's mean is used for drifting sources.
    """
    from ifuqa.instrument.sky import Pointing

    across = float(np.mean(truth.source.track_across_arcsec))
    along = float(np.mean(truth.source.track_along_arcsec))
    px, py = truth.pointing_offset_arcsec
    target = Pointing(truth.target_ra_deg, truth.target_dec_deg, truth.position_angle_deg)
    ra, dec = target.ifu_to_sky(np.array([across + px]), np.array([along + py]))
    return float(ra[0]), float(dec[0])


MIN_DETECTION_SNR = 5.0
"""A source below this white-light S/N is not there to be measured (the check does not apply);
above it every metric is measured and its uncertainty decides."""

MAX_FLAGGED_FRACTION = 0.5
"""An x1d with more of its rows flagged DO_NOT_USE is reported as mostly unusable."""


@dataclass(frozen=True)
class SourceDetection:
    """How well a cube shows its source: the aperture S/N in white light and per wavelength bin.

    Attributes
    ----------
    snr_white : float
        S/N of the white-light image in a 2-FWHM aperture.
    snr_bins : numpy.ndarray
        S/N of each wavelength bin with data (all-NaN bins are left out).
    bins : int
        Bins asked for.
    center_xy : (float, float)
        Source centroid in the white-light image.
    """

    snr_white: float
    snr_bins: np.ndarray
    bins: int
    center_xy: tuple[float, float]

    def evidence(self) -> dict[str, float | int]:
        """What a record says about the source's S/N."""
        finite = self.snr_bins[np.isfinite(self.snr_bins)]
        return {"snr_white": float(self.snr_white),
                "snr_min_bin": float(finite.min()) if finite.size else float("nan"),
                "snr_bins_used": int(finite.size), "snr_bins": int(self.bins)}


def detect_source(cube: Cube, *, n_bins: int = 12) -> SourceDetection:
    """The source's S/N in the cube; NotApplicable when no source is detected at all.

    The S/N is measured, not required: bins without data (all-NaN band ends) are left out, the
    background comes from finite spaxels only (:func:`ifuqa.metrics.apertures.aperture_snr`),
    and only a white-light S/N below :data:`MIN_DETECTION_SNR` — nothing to measure — stops a
    check. Above it the metrics carry their uncertainties and the verdict follows them.

    Parameters
    ----------
    cube : Cube
        The cube.
    n_bins : int
        Wavelength bins.

    Returns
    -------
    SourceDetection
    """
    from ifuqa.metrics.apertures import aperture_snr, wavelength_bins
    from ifuqa.metrics.centroids import centroid

    fwhm = float(nanmedian(fwhm_arcsec(cube.wavelength_um, cube.instrument)))
    radius = 2.0 * fwhm / cube.spaxel_arcsec
    bins = wavelength_bins(cube.data, cube.wavelength_um, n_bins)
    with np.errstate(all="ignore"):
        white = nanmean(bins.images[bins.has_data], axis=0)
    center = centroid(white, radius_pix=1.25 * radius)
    if not np.all(np.isfinite(center)):
        raise NotApplicable(f"{cube.path.name}: no point source found in the cube")
    snr_white = aperture_snr(white, center, radius)
    snr_bins = np.array([aperture_snr(img, center, radius)
                         for img in bins.images[bins.has_data]])
    if not np.isfinite(snr_white) or snr_white < MIN_DETECTION_SNR:
        raise NotApplicable(f"{cube.path.name}: no source detected (white-light S/N "
                            f"{snr_white:.1f} in a 2-FWHM aperture, needs >= "
                            f"{MIN_DETECTION_SNR:g})")
    return SourceDetection(float(snr_white), snr_bins, n_bins, center)


def cube_fwhm(cube: Cube) -> np.ndarray:
    """PSF FWHM (arcsec) at every plane of a cube."""
    return np.asarray(fwhm_arcsec(cube.wavelength_um, cube.instrument), dtype=float)


def limit_for(thresholds: Any, name: str, cube: Cube | None = None) -> Limit:
    """The limit of threshold ``name`` for a cube (scaled with its PSF where the threshold is a
    position in mas; see :meth:`ifuqa.verdicts.thresholds.Thresholds.limit`)."""
    from ifuqa.verdicts.thresholds import Limit

    if not hasattr(thresholds, "limit"):  # a plain mapping of name -> value
        value = float(thresholds[name])
        return Limit(value, value, "given", "")
    if cube is None:
        return thresholds.limit(name)
    fwhm = float(np.interp(0.5 * (cube.wavelength_um.min() + cube.wavelength_um.max()),
                           cube.wavelength_um, cube_fwhm(cube)))
    return thresholds.limit(name, instrument=cube.instrument, fwhm_arcsec=fwhm)


def usable_spectrum(spec: Spectrum) -> Spectrum:
    """The spectrum if enough of it is usable; a :class:`~ifuqa.products.ProductError` naming
    the file when most of its rows are flagged DO_NOT_USE (reported as an error record, never
    passed as clean)."""
    if spec.flagged_fraction > MAX_FLAGGED_FRACTION:
        raise ProductError(f"{spec.path}: {100 * spec.flagged_fraction:.0f} % of the spectrum's "
                           "rows are flagged DO_NOT_USE: mostly unusable")
    if spec.valid.sum() < 32:
        raise ProductError(f"{spec.path}: only {int(spec.valid.sum())} usable samples")
    return spec


def dither_positions(dataset: Any) -> tuple[int | None, str]:
    """How many dither positions went into the dataset's cube, and how that is known.

    The distinct dither position numbers (``PATT_NUM``) of the dataset's cal files, which are the
    exposures combined into the cube; without cal files, the number of points of the dither
    pattern in the cube's header (``NUMDTHPT``: calwebb_spec3 combines the whole association).
    Only headers are read.

    Parameters
    ----------
    dataset : ifuqa.products.dataset.Dataset
        The dataset.

    Returns
    -------
    positions : int or None
        The number of positions, None when no header records it.
    source : str
        Which header it was read from, for the record.
    """
    from ifuqa.products.applicability import read_header
    from ifuqa.products.probe import probe_fits

    numbers = set()
    for path in dataset.cal:
        value = probe_fits(Path(path))[0].get("PATT_NUM")
        if value is None:
            numbers = set()
            break
        numbers.add(int(value))
    if numbers:
        return len(numbers), f"PATT_NUM of the {len(dataset.cal)} cal files"
    for path in dataset.s3d[:1]:
        points = read_header(Path(path)).dither_points
        if points is not None:
            return points, f"NUMDTHPT of {Path(path).name}"
    return None, "neither PATT_NUM (cal files) nor NUMDTHPT (s3d) recorded"
