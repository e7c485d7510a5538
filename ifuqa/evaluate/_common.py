"""Helpers shared by the evaluations: reading a dataset's products, PSF widths, truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.products import Cube, Spectrum, read_cube, read_spectrum

__all__ = ["apparent_source_position", "fwhm_arcsec", "the_cube", "the_spectrum",
           "true_spectrum"]


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


def fwhm_arcsec(wave_um: np.ndarray, instrument: str = "NIRSPEC") -> np.ndarray:
    """PSF FWHM (arcsec): NIRSpec's measured table, else the 6.5 m diffraction limit × 1.2."""
    from ifuqa.psf import measured_fwhm_arcsec

    wave = np.asarray(wave_um, dtype=float)
    if instrument.upper() == "NIRSPEC":
        return np.asarray(measured_fwhm_arcsec(wave), dtype=float)
    return np.maximum(1.2 * 0.0332 * wave, 0.1)


def true_spectrum(truth: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """(wavelength µm, flux Jy, resolving power) of the first source of a synthetic truth."""
    src = truth["sources"][0]
    return (np.asarray(src["wavelength_um"], dtype=float), np.asarray(src["flux_jy"],
                                                                       dtype=float),
            float(truth["resolving_power"]))


def apparent_source_position(truth: dict) -> tuple[float, float]:
    """Band-averaged sky position (RA, Dec deg) where the cube should show the first source.

    The pipeline assumes the commanded pointing, so the source appears at the target shifted by
    its offset plus the (unknown to the pipeline) pointing offset, in the IFU frame at the
    position angle; the centroid track's mean is used for drifting sources.
    """
    from ifuqa.instrument.sky import Pointing

    src = truth["sources"][0]
    track = src["track_arcsec"]
    across = float(np.mean(track["across"]))
    along = float(np.mean(track["along"]))
    px, py = truth["pointing_offset_arcsec"]
    target = Pointing(truth["target"]["ra_deg"], truth["target"]["dec_deg"],
                      truth["position_angle_deg"])
    ra, dec = target.ifu_to_sky(np.array([across + px]), np.array([along + py]))
    return float(ra[0]), float(dec[0])
