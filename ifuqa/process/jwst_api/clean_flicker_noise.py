"""jwst's ``clean_flicker_noise``: the Step as shipped, and its full-frame NSClean 1/f fit.

:func:`clean_flicker_noise_step` runs ``jwst.clean_flicker_noise.CleanFlickerNoiseStep`` itself
on a rate model with a user mask of unilluminated pixels (its only non-default setting: the
Step's own mask of science regions needs ``assign_wcs`` with reference files). :func:`nsclean`
hands ``jwst.clean_flicker_noise.nsclean.NSClean`` a rate image and a mask, with the NaN handling
of ``clean_flicker_noise._clean_one_image`` (the Step's ``fit_method="fft"`` without its
background fit).
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.process.jwst_api._api import ApiSpec, fingerprint_problems

__all__ = ["REQUIRED_API", "check_behaviour", "clean_flicker_noise_step", "nsclean"]

_NSCLEAN_MOD = "jwst.clean_flicker_noise.nsclean"
_STEP_MOD = "jwst.clean_flicker_noise.clean_flicker_noise_step"

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
    (_STEP_MOD, "CleanFlickerNoiseStep.process"): ("self", "input_data"),
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
    checked = [] if problems else ["NSClean.clean in-place subtraction fingerprint"]
    from jwst.clean_flicker_noise import CleanFlickerNoiseStep

    spec = CleanFlickerNoiseStep.spec
    missing = [p for p in STEP_PARAMETERS if not re.search(rf"^\s*{p}\s*=", spec, re.M)]
    if missing:
        problems.append(f"CleanFlickerNoiseStep has no parameter(s) {missing}: "
                        "clean_flicker_noise_step sets them")
    for parameter in ("fit_method", "background_method"):
        if not re.search(rf"^\s*{parameter}\s*=.*default\s*=\s*['\"]median['\"]", spec, re.M):
            problems.append(f"CleanFlickerNoiseStep's default {parameter} is no longer "
                            "'median': ifuqa states the Step's defaults")
    if not problems:
        checked.append("CleanFlickerNoiseStep parameters and defaults")
    return checked, problems



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


STEP_PARAMETERS = ("fit_method", "background_method", "user_mask", "skip")
"""The Step parameters :func:`clean_flicker_noise_step` sets (checked against the Step's spec)."""


def clean_flicker_noise_step(model: object, mask: ArrayLike, *, fit_method: str = "median",
                             background_method: str | None = "median",
                             data: ArrayLike | None = None,
                             work_dir: str | None = None) -> NDArray[np.float32]:
    """Clean a rate image of 1/f noise with jwst's ``CleanFlickerNoiseStep`` itself.

    The Step runs with its defaults (``fit_method="median"``, ``background_method="median"``)
    unless told otherwise, and with ``user_mask``: a file holding ``mask`` (True where the
    background is fitted), written to a temporary folder. The input model is copied, never
    modified.

    Parameters
    ----------
    model : stdatamodels.jwst.datamodels.ImageModel
        The rate model (its ``meta.subarray.slowaxis`` tells the Step the detector's read
        direction, as in every NIRSpec rate file).
    mask : array_like of bool
        Pixels to fit the background to (unilluminated), the image's shape.
    fit_method : {"median", "fft"}
        The Step's noise fit: a median along the slow axis, or NSClean's Fourier fit.
    background_method : {"median", "model", None}
        The Step's background fit before the noise fit.
    data : array_like, optional
        The rate image to clean in place of ``model.data`` (e.g. one an earlier stage changed);
        it goes into the Step's own copy of the model.
    work_dir : str, optional
        Where the mask file is written (a temporary folder by default).

    Returns
    -------
    numpy.ndarray of float32
        The cleaned rate image.

    Raises
    ------
    ValueError
        If the model does not record its read direction, the mask's shape differs, or the Step
        skipped (the reason jwst logged is not available: the status keyword says SKIPPED).
    """
    import tempfile
    from pathlib import Path

    from jwst.clean_flicker_noise import CleanFlickerNoiseStep
    from stdatamodels.jwst import datamodels

    name = getattr(model.meta, "filename", None) or "the rate model"
    if model.meta.subarray.slowaxis is None:
        raise ValueError(f"{name}: no SLOWAXIS keyword; jwst's clean_flicker_noise needs the "
                         "detector's read direction")
    fit = np.asarray(mask, dtype=bool)
    shape = np.shape(model.data if data is None else data)
    if fit.shape != shape:
        raise ValueError(f"{name}: mask {fit.shape} and image {shape} differ")
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        mask_path = Path(folder) / "ifuqa_flicker_mask.fits"
        with datamodels.ImageModel(data=fit.astype(np.float32)) as mask_model:
            mask_model.save(mask_path)
        step = CleanFlickerNoiseStep(skip=False, fit_method=fit_method,
                                     background_method=background_method,
                                     user_mask=str(mask_path))
        work = model.copy()
        if data is not None:
            work.data = np.asarray(data, dtype=np.float32)
        with step.run(work) as result:
            if result.meta.cal_step.clean_flicker_noise != "COMPLETE":
                raise ValueError(f"{name}: jwst's clean_flicker_noise skipped the exposure")
            return np.array(result.data, dtype=np.float32)
