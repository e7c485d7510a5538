"""Sources of a synthetic scene: spectra, positions and centroid tracks with known truth.

Positions are IFU-frame offsets (arcsec; ``across``, ``along``; see
:mod:`ifuqa.instrument.layout`) of the source from the IFU centre *at the nominal pointing and
nominal pointing*. The observed position in an exposure adds the pointing offset and the dither
offset. A centroid drift ``drift_mas = [dx, dy]`` moves the source linearly with wavelength from
``-d/2`` at the blue end of the simulated band (the scenario's ``wavelength_range_um``, or the
disperser's range) to ``+d/2`` at the red end: ``d`` is the peak-to-peak drift over the band, in
milliarcseconds. ``flux_mjy`` is defined at the band centre unless ``reference_wavelength_um``
is given.

Spectra are ``F_ν(λ) = flux_mjy (λ/λ_ref)^spectral_index (1 + Σ lines)`` with Gaussian lines.
What the detector sees is the spectrum convolved with the instrument's Gaussian line-spread
function (FWHM = λ/R) and averaged over each pixel's wavelength interval; both steps are done
analytically (:meth:`SourceModel.observed_mjy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from ifuqa.instrument.dispersers import Disperser
from ifuqa.scenario import SourceSpec

__all__ = ["SourceModel", "truth_wavelength_grid"]

C_KMS = 299792.458
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class SourceModel:
    """A scenario source bound to the disperser it is observed with."""

    spec: SourceSpec
    disperser: Disperser
    band_um: tuple[float, float] | None = None

    @property
    def band(self) -> tuple[float, float]:
        """Simulated band (µm): the scenario's wavelength window or the disperser's range."""
        if self.band_um is not None:
            return self.band_um
        return (self.disperser.wavelength_min_um, self.disperser.wavelength_max_um)

    @property
    def reference_wavelength_um(self) -> float:
        """Wavelength at which ``flux_mjy`` is defined (the band centre unless given)."""
        if self.spec.reference_wavelength_um is not None:
            return self.spec.reference_wavelength_um
        return 0.5 * sum(self.band)

    def continuum_mjy(self, wavelength_um: np.ndarray) -> np.ndarray:
        """Continuum flux density (mJy; total over the source for extended sources)."""
        lam = np.asarray(wavelength_um, dtype=float)
        return self.spec.flux_mjy * (lam / self.reference_wavelength_um) ** self.spec.spectral_index

    def flux_mjy(self, wavelength_um: np.ndarray) -> np.ndarray:
        """Intrinsic flux density (mJy) at ``wavelength_um``, lines included."""
        lam = np.asarray(wavelength_um, dtype=float)
        profile = np.ones_like(lam)
        for line in self.spec.lines:
            sigma = line.wavelength_um * line.fwhm_kms / C_KMS / FWHM_PER_SIGMA
            profile += line.amplitude * np.exp(-0.5 * ((lam - line.wavelength_um) / sigma) ** 2)
        return self.continuum_mjy(lam) * profile

    def resolution_sigma_um(self, wavelength_um: np.ndarray) -> np.ndarray:
        """Gaussian sigma of the line-spread function (µm)."""
        lam = np.asarray(wavelength_um, dtype=float)
        r = self.disperser.prism_r(lam) if self.disperser.is_prism else \
            self.disperser.resolving_power
        return lam / r / FWHM_PER_SIGMA

    def observed_mjy(self, wavelength_um: np.ndarray, dwave_um: np.ndarray) -> np.ndarray:
        """Mean flux density (mJy) over ``[λ − Δλ/2, λ + Δλ/2]`` after the line-spread function.

        The continuum is evaluated at ``λ`` (its curvature over one pixel is negligible); each
        Gaussian line, convolved with the Gaussian LSF, is integrated exactly over the interval.
        """
        lam = np.asarray(wavelength_um, dtype=float)
        dlam = np.asarray(dwave_um, dtype=float)
        cont = self.continuum_mjy(lam)
        result = cont.copy()
        lsf = self.resolution_sigma_um(lam)
        for line in self.spec.lines:
            sig_line = line.wavelength_um * line.fwhm_kms / C_KMS / FWHM_PER_SIGMA
            sig = np.sqrt(sig_line**2 + lsf**2)
            # area of the intrinsic line (in units of mJy µm) relative to continuum at the line
            area = line.amplitude * np.sqrt(2 * np.pi) * sig_line
            cont_line = self.continuum_mjy(np.asarray(line.wavelength_um))
            lo = (lam - 0.5 * dlam - line.wavelength_um) / (np.sqrt(2) * sig)
            hi = (lam + 0.5 * dlam - line.wavelength_um) / (np.sqrt(2) * sig)
            result += cont_line * area * 0.5 * (erf(hi) - erf(lo)) / dlam
        return result

    def position_arcsec(self, wavelength_um: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """IFU-frame position (arcsec) of the source centroid at ``wavelength_um``.

        This is the *intrinsic* offset plus the injected drift; pointing and dither offsets are
        added by the renderer.
        """
        lam = np.asarray(wavelength_um, dtype=float)
        lo, hi = self.band
        frac = (lam - 0.5 * (lo + hi)) / (hi - lo)
        dx, dy = (d / 1000.0 for d in self.spec.drift_mas)
        return self.spec.offset[0] + dx * frac, self.spec.offset[1] + dy * frac


def truth_wavelength_grid(disperser: Disperser, sources: list[SourceModel]) -> np.ndarray:
    """A grid over the simulated band fine enough to sample every line of the spectra.

    The step is a quarter of the cube's default wavelength step, or a third of the narrowest
    line's sigma, whichever is smaller.
    """
    step = disperser.cube_step_um / 4.0
    lo, hi = sources[0].band if sources else (disperser.wavelength_min_um,
                                              disperser.wavelength_max_um)
    for src in sources:
        for line in src.spec.lines:
            sigma = line.wavelength_um * line.fwhm_kms / C_KMS / FWHM_PER_SIGMA
            step = min(step, sigma / 3.0)
    n = int(np.ceil((hi - lo) / step)) + 1
    return np.linspace(lo, hi, min(n, 200_001))
