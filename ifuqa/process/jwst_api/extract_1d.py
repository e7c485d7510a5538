"""jwst's ``extract_1d`` for IFU cubes: the Step itself, and its ``ifu_autocen`` source centring.

The chain's extraction is ``Extract1dStep`` itself, run by
:mod:`~ifuqa.process.jwst_api.extract_1d_step` with ifuqa's synthetic reference files; this
stage module's :data:`REQUIRED_API` and :func:`check_behaviour` include that module's, so
:func:`ifuqa.process.jwst_api.check_jwst_api` and ``stage_availability("extract_1d")`` check
both.

jwst has no standalone function for the centring: it is inline in
``jwst.extract_1d.ifu.extract_ifu``. :func:`ifu_autocenter` reproduces it with the very
``DAOStarFinder`` and ``sigclip`` objects ``jwst.extract_1d.ifu`` imports (the Step's adapter uses
it to predict the centre the Step will find, which the aperture-correction table is made for,
and checks the prediction against the Step's), and :func:`check_behaviour` fingerprints that jwst
source so a change is caught.

Which columns of ``DAOStarFinder``'s table hold the centroid depends on the release line (and,
on 2.0.x, on the photutils version): :mod:`~ifuqa.process.jwst_api.extract_1d_2_0` and
:mod:`~ifuqa.process.jwst_api.extract_1d_3_0` keep that difference, and the fingerprint of the
installed line's column choice.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from ifuqa.process.jwst_api._api import ApiSpec, fingerprint_problems
from ifuqa.process.jwst_api._lines import installed_line, line_module
from ifuqa.process.jwst_api.extract_1d_step import REQUIRED_API as _STEP_API
from ifuqa.process.jwst_api.extract_1d_step import check_behaviour as _step_behaviour

__all__ = ["REQUIRED_API", "check_behaviour", "ifu_autocenter"]

_EXTRACT_MOD = "jwst.extract_1d.ifu"

_line = line_module("extract_1d", installed_line())

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    (_EXTRACT_MOD, "extract_ifu"): ("input_model", "source_type", "extract_params"),
    (_EXTRACT_MOD, "DAOStarFinder"): frozenset({"fwhm", "threshold"}),
    (_EXTRACT_MOD, "sigclip"): None,
    **_line.REQUIRED_API,
    **_STEP_API,
}
"""The jwst symbols :func:`ifu_autocenter` uses, the function whose centring it reproduces, and
what :func:`~ifuqa.process.jwst_api.extract_1d_step.run_extract_1d_step` calls."""

_AUTOCEN_FINGERPRINT = (
    "wavetemp < 26",
    "np.ma.median(np.ma.masked_invalid(data[indx, :, :]), axis=0)",
    "sigclip(collapse)",
    "DAOStarFinder(fwhm=3.0, threshold=3 * cliprms)",
    "daofind(collapse - clipmed)",
    'sources["flux"]',
    *_line.AUTOCEN_CENTROID_FINGERPRINT,
)
"""Source fragments of ``extract_ifu`` whose behaviour :func:`ifu_autocenter` reproduces (on the
installed line)."""

_AUTOCEN_MAX_WAVELENGTH_UM = 26.0
_AUTOCEN_FWHM = 3.0
_AUTOCEN_NSIGMA = 3.0


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify that ``extract_ifu``'s ``ifu_autocen`` centring is the one reproduced here, and
    the Step's parameters, defaults, reference types and the IFU extraction lines
    :func:`~ifuqa.process.jwst_api.extract_1d_step.check_behaviour` checks.

    Returns
    -------
    checked, problems : list of str
    """
    problems = fingerprint_problems(_EXTRACT_MOD, "extract_ifu", _AUTOCEN_FINGERPRINT,
                                    "ifu_autocenter reproduces the ifu_autocen centring")
    checked = [] if problems else ["extract_ifu ifu_autocen centring fingerprint"]
    step_checked, step_problems = _step_behaviour()
    return checked + step_checked, problems + step_problems



def ifu_autocenter(
    cube_data: ArrayLike,
    wavelength_um: ArrayLike,
    *,
    max_wavelength_um: float = _AUTOCEN_MAX_WAVELENGTH_UM,
    fwhm: float = _AUTOCEN_FWHM,
    nsigma: float = _AUTOCEN_NSIGMA,
) -> tuple[float, float]:
    """
    Locate the brightest point source in a cube as jwst's ``ifu_autocen`` does.

    jwst has no standalone function for this: the centring is inline in
    ``jwst.extract_1d.ifu.extract_ifu`` (``extract_params["ifu_autocen"]``).
    This reproduces it exactly, using the very ``DAOStarFinder`` and
    ``sigma_clipped_stats`` objects ``jwst.extract_1d.ifu`` imports: median
    collapse of the planes with wavelength < 26 µm (NaNs masked), sigma-clipped
    median/rms of the collapsed image, ``DAOStarFinder(fwhm=3.0,
    threshold=3 * rms)`` on the median-subtracted image, brightest detection
    by ``flux``, its centroid read from the columns the installed jwst line
    reads.  :func:`check_jwst_api` fingerprints that jwst source so a change
    is caught.

    Parameters
    ----------
    cube_data : array_like, shape (nw, ny, nx)
        Cube data.  Not modified.
    wavelength_um : array_like, shape (nw,)
        Wavelength of each plane in micrometres.
    max_wavelength_um : float, optional
        Planes at or above this wavelength are ignored (jwst: 26).
    fwhm, nsigma : float, optional
        DAOStarFinder FWHM (pixels) and threshold in clipped rms (jwst: 3, 3).

    Returns
    -------
    x, y : float
        0-based centroid of the brightest detection (cube x = axis 2, y = axis 1).

    Raises
    ------
    RuntimeError
        If no source is detected (jwst then falls back to the target
        coordinates, which need a celestial WCS).
    """
    from jwst.extract_1d import ifu as jifu
    from photutils.utils.exceptions import NoDetectionsWarning

    data = np.asarray(cube_data)
    wave = np.asarray(wavelength_um, dtype=np.float64)
    if data.ndim != 3 or wave.shape != (data.shape[0],):
        raise ValueError("cube_data must be (nw, ny, nx) and wavelength_um (nw,)")
    indx = np.where(wave < max_wavelength_um)[0]
    collapse = np.ma.median(np.ma.masked_invalid(data[indx, :, :]), axis=0)
    _, clipmed, cliprms = jifu.sigclip(collapse)
    daofind = jifu.DAOStarFinder(fwhm=fwhm, threshold=nsigma * cliprms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)  # reported below
        sources = daofind(collapse - clipmed)
    if sources is None:
        raise RuntimeError("auto source detection (DAOStarFinder) found no source")
    best = int(np.argmax(sources["flux"].value))
    x_col, y_col = _line.centroid_columns()
    return float(sources[best][x_col]), float(sources[best][y_col])
