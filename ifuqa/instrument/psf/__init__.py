"""Point-spread-function models of the NIRSpec IFU, integrated exactly over rectangles.

The renderer (:mod:`ifuqa.simulate.render`) needs the fraction of a point source's flux that
falls in a
detector pixel's footprint: an axis-aligned rectangle on the sky (x across the slice, y along
it), at the pixel's wavelength. Every model here tabulates the PSF on a fine grid at a set of
wavelength nodes and keeps, per node, the *summed-area table* (the 2-D cumulative distribution,
with a zero row and column prepended). The flux in a rectangle is then the bilinear
interpolation of the cumulative distribution at its four corners, which is exact for a density
that is constant within each tabulation cell, and is linearly interpolated in wavelength between
the two bracketing nodes. Rectangles reaching outside the tabulated box are clamped to it.

Two models share that machinery:

* :class:`DiffractionPSF` -- the diffraction pattern of the obscured 6.5 m aperture broadened by a
  Gaussian whose width is solved, per wavelength node, so that the FWHM matches the measured
  NIRSpec IFU values (:data:`MEASURED_FWHM_TABLE`). The flux of the Airy wings beyond the
  tabulated box is *not* put back into the box: the tabulated images are normalised to the true
  fraction of the flux inside the box, so an infinite rectangle integrates to slightly less
  than 1 (about 1.5 % is lost at 5 µm for the default 2" half-width).
* :class:`CubePSF` -- a user-supplied PSF cube (for example from WebbPSF/STPSF), each plane
  normalised to unit sum, optionally read from FITS with :meth:`CubePSF.from_fits`.

Owns the PSF models (``measured`` widths and encircled energies, the ``model`` protocol, the
``tabulated`` machinery, the ``diffraction`` model and user ``psf_cube`` files); imports only
:mod:`ifuqa.util`, numpy, scipy and astropy.
"""

from __future__ import annotations

from pathlib import Path

from ifuqa.instrument.psf.diffraction import DiffractionPSF
from ifuqa.instrument.psf.measured import (
    MEASURED_FWHM_TABLE,
    cube_fwhm_arcsec,
    measured_fwhm_arcsec,
    obscured_airy_encircled_energy,
)
from ifuqa.instrument.psf.model import PSFError, PSFModel
from ifuqa.instrument.psf.psf_cube import CubePSF

__all__ = [
    "MEASURED_FWHM_TABLE",
    "CubePSF",
    "DiffractionPSF",
    "PSFError",
    "PSFModel",
    "cube_fwhm_arcsec",
    "load_psf",
    "measured_fwhm_arcsec",
    "obscured_airy_encircled_energy",
]


def load_psf(spec: str | Path, wavelength_range_um: tuple[float, float]) -> PSFModel:
    """The PSF a scene or a processing uses.

    Parameters
    ----------
    spec : str or path
        ``"model"`` for the diffraction model, or the path of a PSF cube FITS file.
    wavelength_range_um : (float, float)
        Wavelength range (µm) the model must cover (the disperser's range).

    Returns
    -------
    PSFModel
        A :class:`DiffractionPSF` or a :class:`CubePSF`.
    """
    if str(spec) == "model":
        return DiffractionPSF(*wavelength_range_um)
    return CubePSF.from_fits(spec)
