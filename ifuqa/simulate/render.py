"""Pixel-integrated rendering of a scene onto the NIRSpec IFU detectors.

Every illuminated pixel collects the flux that falls in its footprint: across the slice (the
slice width), along the slice (one pixel) and in wavelength (the pixel's wavelength width). For a
point source that is the integral of the PSF over the footprint rectangle (computed from the
PSF's integral images, never by sampling the PSF at the pixel centre) times the source's
LSF-convolved flux density averaged over the pixel's wavelength interval. Extended sources are
rendered the same way with an "effective PSF": the surface-brightness profile convolved with the
PSF. A uniform background adds surface brightness × pixel solid angle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ifuqa.instrument.photometry import SR_PER_ARCSEC2, electrons_per_s_per_mjy
from ifuqa.simulate.scene import SourceModel

if TYPE_CHECKING:
    from ifuqa.instrument.layout import DetectorPixelMap
    from ifuqa.instrument.psf import PSFModel

__all__ = ["effective_psf", "render_pixels"]

_CHUNK = 400_000


def effective_psf(source: SourceModel, psf: PSFModel, *, sampling_arcsec: float = 0.01,
                  half_width_arcsec: float = 2.0, n_wavelengths: int = 8) -> PSFModel:
    """The spatial profile of an extended source convolved with the PSF, as a PSF model.

    Parameters
    ----------
    source : SourceModel
        An ``kind = "extended"`` source.
    psf : PSFModel
        The instrument PSF.
    sampling_arcsec, half_width_arcsec : float
        Grid of the effective PSF images.
    n_wavelengths : int
        Number of wavelength nodes over the PSF's range.

    Returns
    -------
    PSFModel
        A :class:`ifuqa.instrument.psf.CubePSF` normalised to unit flux at every node.
    """
    from scipy.signal import fftconvolve

    from ifuqa.instrument.psf import CubePSF

    spec = source.spec
    n = round(2 * half_width_arcsec / sampling_arcsec) | 1
    axis = (np.arange(n) - n // 2) * sampling_arcsec
    xx, yy = np.meshgrid(axis, axis)
    theta = np.deg2rad(spec.position_angle_deg)
    u = xx * np.cos(theta) + yy * np.sin(theta)
    v = -xx * np.sin(theta) + yy * np.cos(theta)
    r = np.hypot(u, v / spec.axis_ratio)
    if spec.profile == "gaussian":
        profile = np.exp(-0.5 * (r / spec.radius_arcsec) ** 2)
    else:  # sersic, radius = half-light radius; b_n from the Ciotti & Bertin expansion
        nser = spec.sersic_index
        b = 2 * nser - 1 / 3 + 4 / (405 * nser)
        profile = np.exp(-b * ((r / spec.radius_arcsec) ** (1 / nser) - 1))
    profile /= profile.sum()
    lo, hi = psf.wavelength_range
    waves = np.linspace(lo, hi, n_wavelengths)
    planes = []
    for lam in waves:
        kernel = psf.image(float(lam), xx, yy)
        plane = fftconvolve(profile, kernel / kernel.sum(), mode="same")
        planes.append(np.clip(plane, 0.0, None))
    return CubePSF(np.array(planes), waves, sampling_arcsec)


def render_pixels(
    pixmap: DetectorPixelMap,
    sources: list[tuple[SourceModel, PSFModel]],
    shift_arcsec: tuple[float, float],
    *,
    background_mjy_sr: float = 0.0,
) -> np.ndarray:
    """Electrons per second collected by each illuminated pixel.

    Parameters
    ----------
    pixmap : DetectorPixelMap
        The detector's illuminated pixels.
    sources : list of (SourceModel, PSFModel)
        Each source with the PSF (or effective PSF, for extended sources) it is seen through.
    shift_arcsec : (float, float)
        IFU-frame shift of the scene in this exposure (pointing offset + dither offset).
    background_mjy_sr : float
        Uniform background surface brightness (MJy/sr).

    Returns
    -------
    numpy.ndarray
        e⁻/s for each pixel of ``pixmap`` (noiseless).
    """
    rate = np.zeros(pixmap.size)
    disperser = pixmap.disperser
    for start in range(0, pixmap.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        lam = pixmap.wavelength_um[sl]
        conv = electrons_per_s_per_mjy(disperser, lam, pixmap.dwave_um[sl])
        for source, psf in sources:
            px, py = source.position_arcsec(lam)
            px = px + shift_arcsec[0]
            py = py + shift_arcsec[1]
            fraction = psf.rect_integral(
                lam,
                pixmap.across_lo[sl] - px, pixmap.across_hi[sl] - px,
                pixmap.along_lo[sl] - py, pixmap.along_hi[sl] - py,
            )
            rate[sl] += fraction * source.observed_mjy(lam, pixmap.dwave_um[sl]) * conv
        if background_mjy_sr > 0:
            area_sr = ((pixmap.across_hi[sl] - pixmap.across_lo[sl])
                       * (pixmap.along_hi[sl] - pixmap.along_lo[sl]) * SR_PER_ARCSEC2)
            rate[sl] += background_mjy_sr * 1.0e9 * area_sr * conv
    return rate
