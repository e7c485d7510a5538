"""jwst's ``clean_flicker_noise``: the full-frame NSClean 1/f fit (``NSClean.clean``).

:func:`nsclean` hands ``jwst.clean_flicker_noise.nsclean.NSClean`` a rate image and a mask of
unilluminated pixels, with the NaN handling of ``clean_flicker_noise._clean_one_image``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.process.jwst_api._api import ApiSpec, fingerprint_problems

__all__ = ["REQUIRED_API", "check_behaviour", "nsclean"]

_NSCLEAN_MOD = "jwst.clean_flicker_noise.nsclean"

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    (_NSCLEAN_MOD, "NSClean"): (
        "detector",
        "mask",
        "fc",
        "kill_width",
        "buffer_sigma",
        "sigrej",
        "weights_kernel_sigma",
    ),
    (_NSCLEAN_MOD, "NSClean.clean"): ("self", "data", "buff"),
}
"""The jwst symbols :func:`nsclean` calls."""

_NSCLEAN_FINGERPRINT = ("data -= bkg", "data.transpose()")
"""Source fragments of NSClean.clean that nsclean relies on: it subtracts in place on a
transposed view of its argument (so nsclean passes a copy)."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify that ``NSClean.clean`` still subtracts in place on a transposed view.

    Returns
    -------
    checked, problems : list of str
    """
    problems = fingerprint_problems(_NSCLEAN_MOD, "NSClean.clean", _NSCLEAN_FINGERPRINT,
                                    "nsclean passes a copy because of it")
    return ([] if problems else ["NSClean.clean in-place subtraction fingerprint"]), problems



def nsclean(
    image: ArrayLike,
    mask: ArrayLike,
    detector: str,
    *,
    fc: float = 1 / 256,
    kill_width: float | None = None,
    buffer_sigma: float = 1.5,
    sigrej: float = 3.0,
    weights_kernel_sigma: float = 32,
    buff: bool = True,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """
    Fit and remove 1/f noise with jwst's full-frame NSClean.

    Wraps ``jwst.clean_flicker_noise.nsclean.NSClean(detector, mask, ...)`` and
    its ``clean`` method, which transposes (NRS1) or transposes and flips
    (NRS2) the DMS-oriented image to detector orientation, fits the background
    line by line in Fourier space, optionally "buffs" it, subtracts it and
    transforms back.  NaNs are handled as in
    ``clean_flicker_noise._clean_one_image``: replaced by 0, excluded from the
    fit mask, and restored in the cleaned image.  Like ``jwst``, work is done in
    float32 (the outputs are float32).  The ``clean_flicker_noise`` step uses
    this full-frame ``NSClean`` only for 2048×2048 images (``NSCleanSubarray``
    otherwise); this wrapper runs ``NSClean`` on any 2-D shape, which is
    convenient for small test frames but is not what the step would do on a
    subarray.  Unlike the step, no background level is fitted or clipped first
    (``background_method=None``): the mask must select signal-free pixels.

    Parameters
    ----------
    image : array_like, shape (ny, nx)
        Rate image in DMS orientation (dispersion along x).  Not modified.
    mask : array_like of bool, shape (ny, nx)
        True for unilluminated pixels to fit the background to.  Not modified.
    detector : {"NRS1", "NRS2"}
        Detector name; sets the transpose/flip to detector orientation.
    fc : float, optional
        Low-pass critical frequency (1/pixel); jwst default ``1/256``.
    kill_width : float or None, optional
        Width of the cosine roll-off (1/pixel); None gives jwst's ``fc / 4``.
    buffer_sigma : float, optional
        Sigma of the 1-D Gaussian "buffing" of the model along dispersion.
    sigrej : float, optional
        Outlier rejection threshold (sigma) within each fitted line.
    weights_kernel_sigma : float, optional
        Kernel sigma for the background sample-density weights.
    buff : bool, optional
        Whether to buff the fitted background (jwst step uses True).

    Returns
    -------
    cleaned : ndarray of float32, shape (ny, nx)
        ``image`` with the fitted background subtracted (NaNs preserved).
    background : ndarray of float32, shape (ny, nx)
        The fitted (and buffed) background model that was subtracted.

    Raises
    ------
    ValueError
        If shapes differ, the image is not 2-D, the detector is unknown or no
        finite pixel is left in the mask.
    numpy.linalg.LinAlgError
        If the line fit is singular (jwst skips the step in that case).
    """
    from jwst.clean_flicker_noise.nsclean import NSClean

    img = np.array(image, dtype=np.float32, copy=True)
    fit_mask = np.array(mask, dtype=bool, copy=True)
    det = str(detector).upper()
    if img.ndim != 2 or img.shape != fit_mask.shape:
        raise ValueError(f"image {img.shape} and mask {fit_mask.shape} must be equal 2-D shapes")
    if det not in ("NRS1", "NRS2"):
        raise ValueError(f"detector must be 'NRS1' or 'NRS2', got {detector!r}")
    nan_pix = ~np.isfinite(img)
    img[nan_pix] = 0.0
    fit_mask[nan_pix] = False
    if not fit_mask.any():
        raise ValueError("no usable (finite, masked-in) pixels to fit the background to")
    if kill_width is None:
        kill_width = fc / 4
    cleaner = NSClean(
        det,
        fit_mask,
        fc=fc,
        kill_width=kill_width,
        buffer_sigma=buffer_sigma,
        sigrej=sigrej,
        weights_kernel_sigma=weights_kernel_sigma,
    )
    # NSClean.clean subtracts in place on a view of its argument: pass a copy.
    cleaned = np.asarray(cleaner.clean(img.copy(), buff=buff), dtype=np.float32)
    background = (img - cleaned).astype(np.float32)
    cleaned = np.array(cleaned, dtype=np.float32, copy=True)
    cleaned[nan_pix] = np.nan
    return cleaned, background
