"""What every PSF model provides (:class:`PSFModel`) and the error an unusable PSF raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    pass


class PSFError(ValueError):
    """A PSF model or PSF file is unusable (the message names the file and the reason)."""


@runtime_checkable
class PSFModel(Protocol):
    """What the renderer needs from a PSF (coordinates in arcsec relative to the PSF centre).

    ``x`` is across the slice and ``y`` along the slice; wavelengths are in µm.
    """

    @property
    def wavelength_range(self) -> tuple[float, float]:
        """(min, max) wavelength (µm) over which the model is defined."""
        ...

    def fwhm_arcsec(self, wavelength_um: ArrayLike) -> NDArray[np.float64]:
        """FWHM (arcsec) at each wavelength."""
        ...

    def rect_integral(self, wavelength_um: ArrayLike, x0: ArrayLike, x1: ArrayLike,
                      y0: ArrayLike, y1: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the total flux in the rectangle [x0, x1] × [y0, y1] (arcsec)."""
        ...

    def image(self, wavelength_um: float, xx: ArrayLike, yy: ArrayLike) -> NDArray[np.float64]:
        """Surface density (per arcsec², unit total flux) at the points (xx, yy)."""
        ...

    def encircled_energy(self, wavelength_um: ArrayLike,
                         radius_arcsec: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the total flux within a radius (arcsec) of the centre."""
        ...
