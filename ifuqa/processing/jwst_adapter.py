"""The one place where ifuqa touches ``jwst`` internals.

Every use of a private ``jwst`` module, a C extension, or a function that is
not part of a pipeline step's public interface lives in this module, and
:func:`check_jwst_api` verifies, against the installed ``jwst``, that every
symbol used here still exists with the parameter names this module passes
(pinned range: :data:`JWST_COMPATIBLE`).

The ifuqa processing stages hand in plain ``numpy`` arrays and gwcs-less
``stdatamodels`` models (the synthetic instrument model supplies slice
number, along-slice coordinate and wavelength per pixel instead of a gwcs).
The wrappers below feed those to the real ``jwst`` algorithms:

* :func:`nsclean` - ``jwst.clean_flicker_noise.nsclean.NSClean.clean``
  (full-frame FFT 1/f "NSClean" fit), with the NaN handling of
  ``jwst.clean_flicker_noise.clean_flicker_noise._clean_one_image``.
* :func:`ifu_outlier_flags` - ``jwst.outlier_detection.ifu.detect_outliers``.
* :func:`fit_ramps` - ``jwst.jump.JumpStep`` and ``jwst.ramp_fitting.RampFitStep``
  (their ``process`` methods, with in-memory GAIN and READNOISE references
  given as step overrides, so no CRDS lookup happens).
* :func:`trace_model_oversample` - the array-level core of
  ``jwst.adaptive_trace_model.trace_model.fit_and_oversample``
  (``fit_all_regions`` + ``oversample_flux`` + ``linear_oversample``), with the
  gwcs evaluation replaced by caller-supplied along-slice coordinates;
  :func:`trace_fit_statistics` and :func:`trace_region_peak` expose its
  fit-threshold statistics (image mean/rms, the per-slice collapsed
  cross-dispersion peak of ``_crossdisp_profile``) so callers can fit
  slice-sized cut-outs of one image with the whole image's threshold.
* :func:`ifu_autocenter` - the ``ifu_autocen`` centring of
  ``jwst.extract_1d.ifu.extract_ifu`` (same photutils call, same parameters).
* :func:`extract_ifu_cube` - ``jwst.extract_1d.ifu.extract_ifu`` on an
  ``IFUCubeModel`` whose gwcs is built from FITS-style ``wcsinfo`` keywords
  by ``jwst.assign_wcs.pointing.create_fitswcs`` (as ``cube_build`` does).

``jwst`` is imported lazily inside the functions, so importing this module is
cheap.  No input array or model is ever modified.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import logging
import re
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CUBE_KERNEL_SIGNATURES",
    "DO_NOT_USE",
    "JWST_COMPATIBLE",
    "NON_SCIENCE",
    "CubeKernelError",
    "ExtractionResult",
    "JwstApiError",
    "RampFitResult",
    "SpaxelSums",
    "TraceOversampleResult",
    "check_cube_kernels",
    "check_jwst_api",
    "chunked_medfilt",
    "drizzle_cube_kernel",
    "extract_ifu_cube",
    "finish_spaxels",
    "fit_ramps",
    "ifu_autocenter",
    "ifu_outlier_flags",
    "jwst_version",
    "nsclean",
    "shepard_cube_kernel",
    "sky_to_cube_plane",
    "trace_fit_statistics",
    "trace_model_oversample",
    "trace_region_peak",
]

log = logging.getLogger(__name__)

#: Range of ``jwst`` versions this adapter is written and tested against.
JWST_COMPATIBLE = ">=3.0,<3.1"

_NSCLEAN_MOD = "jwst.clean_flicker_noise.nsclean"
_OUTLIER_MOD = "jwst.outlier_detection.ifu"
_TRACE_MOD = "jwst.adaptive_trace_model.trace_model"
_EXTRACT_MOD = "jwst.extract_1d.ifu"
_POINTING_MOD = "jwst.assign_wcs.pointing"
_JUMP_MOD = "jwst.jump"
_RAMP_FIT_MOD = "jwst.ramp_fitting"

# (module, dotted attribute) -> what is required of it:
#   tuple     - the leading parameters, in this order (passed positionally or by name);
#   frozenset - parameter names that must exist (passed by name only);
#   None      - the symbol must exist.
_REQUIRED_API: dict[tuple[str, str], tuple[str, ...] | frozenset[str] | None] = {
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
    ("jwst.datamodels", "ModelContainer"): None,
    (_OUTLIER_MOD, "detect_outliers"): (
        "input_models",
        "save_intermediate_results",
        "kernel_size",
        "ifu_second_check",
        "threshold_percent",
        "make_output_path",
    ),
    (_TRACE_MOD, "fit_all_regions"): ("flux", "error", "alpha", "region_map", "maximum_cores"),
    (_TRACE_MOD, "fit_2d_spline_trace"): (
        "flux",
        "alpha",
        "fit_scale",
        "lrange",
        "col_index",
        "space_ratio",
        "sigma_low",
        "sigma_high",
        "fit_iter",
        "require_ngood",
        "spline_bkpt",
        "auto_ngood_factor",
        "auto_bkpt_factor",
    ),
    (_TRACE_MOD, "_fit_one_region"): (
        "flux",
        "error",
        "alpha",
        "region_map",
        "region_number",
        "peak_threshold",
        "snr_threshold",
    ),
    (_TRACE_MOD, "oversample_flux"): (
        "flux",
        "alpha",
        "region_map",
        "spline_models",
        "oversample_factor",
        "alpha_os",
        "require_ngood",
        "slope_limit",
        "psf_optimal",
        "trim_ends",
        "pad",
    ),
    (_TRACE_MOD, "linear_oversample"): (
        "data",
        "region_map",
        "oversample_factor",
        "require_ngood",
        "edge_limit",
        "preserve_nan",
    ),
    (_TRACE_MOD, "_crossdisp_profile"): ("data_slice", "err_slice", "alpha_slice"),
    (_TRACE_MOD, "_set_fit_kwargs"): ("mode", "detector", "grating", "xsize"),
    (_TRACE_MOD, "_set_oversample_kwargs"): ("mode", "detector"),
    (_TRACE_MOD, "_reindex"): ("xmin", "xmax", "scale"),
    (_TRACE_MOD, "_inflate_error"): ("error_array", "extname", "oversample_factor"),
    (_EXTRACT_MOD, "extract_ifu"): ("input_model", "source_type", "extract_params"),
    (_EXTRACT_MOD, "DAOStarFinder"): frozenset({"fwhm", "threshold"}),
    (_EXTRACT_MOD, "sigclip"): None,
    (_POINTING_MOD, "create_fitswcs"): ("inp", "input_frame"),
    (_JUMP_MOD, "JumpStep.process"): ("self", "step_input"),
    (_RAMP_FIT_MOD, "RampFitStep.process"): ("self", "step_input"),
}

# Reference types fit_ramps supplies as overrides; a step that needs another one would try CRDS.
_RAMP_STEP_REFERENCES = {"JumpStep": {"gain", "readnoise"}, "RampFitStep": {"gain", "readnoise"}}

# ``extract_params`` keys that extract_ifu reads and that extract_ifu_cube supplies.
_EXTRACT_PARAM_KEYS = frozenset(
    {
        "x_center",
        "y_center",
        "ifu_autocen",
        "ifu_rscale",
        "method",
        "subpixels",
        "subtract_background",
        "wavelength",
        "radius",
        "inner_bkg",
        "outer_bkg",
        "bkg_sigma_clip",
    }
)

# Source fragments of jwst.extract_1d.ifu.extract_ifu whose behaviour
# ifu_autocenter reproduces; if one disappears, the centring has changed.
_AUTOCEN_FINGERPRINT = (
    "wavetemp < 26",
    "np.ma.median(np.ma.masked_invalid(data[indx, :, :]), axis=0)",
    "sigclip(collapse)",
    "DAOStarFinder(fwhm=3.0, threshold=3 * cliprms)",
    "daofind(collapse - clipmed)",
    'sources["flux"]',
    'sources[indx]["x_centroid"], sources[indx]["y_centroid"]',
)

# Source fragments of NSClean.clean whose behaviour nsclean relies on: it
# subtracts in place on a transposed view of its argument (so we pass a copy).
_NSCLEAN_FINGERPRINT = ("data -= bkg", "data.transpose()")

_AUTOCEN_MAX_WAVELENGTH_UM = 26.0
_AUTOCEN_FWHM = 3.0
_AUTOCEN_NSIGMA = 3.0


class JwstApiError(RuntimeError):
    """The installed ``jwst`` lacks, or has changed, an API this adapter relies on."""


def jwst_version() -> str:
    """
    Return the installed ``jwst`` version string.

    Returns
    -------
    str
        ``jwst.__version__``.
    """
    import jwst

    return str(jwst.__version__)


def _version_in_range(version: str) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    return Version(version) in SpecifierSet(JWST_COMPATIBLE)


def _resolve(module: str, dotted: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def check_jwst_api() -> list[str]:
    """
    Verify every ``jwst`` symbol and call signature this adapter relies on.

    Imports each symbol, compares its ``inspect.signature`` against the
    parameter names the adapter passes (same names, same leading order), checks
    the ``extract_params`` keys ``extract_ifu`` reads, and checks source
    fingerprints of the behaviour reproduced or relied on (the ``ifu_autocen``
    centring, ``NSClean.clean``'s in-place subtraction).

    Returns
    -------
    list of str
        Human-readable lines describing what was verified (one per symbol),
        starting with the installed version.

    Raises
    ------
    JwstApiError
        If anything is missing or changed; the message lists every problem,
        the installed ``jwst`` version and the pinned range.
    """
    problems: list[str] = []
    checked: list[str] = []
    try:
        version = jwst_version()
    except ImportError as exc:  # pragma: no cover - jwst is a hard dependency
        raise JwstApiError(f"jwst is not importable: {exc}") from exc
    in_range = _version_in_range(version)
    checked.append(f"jwst {version} ({'within' if in_range else 'OUTSIDE'} {JWST_COMPATIBLE})")

    for (module, dotted), expected in _REQUIRED_API.items():
        name = f"{module}.{dotted}"
        try:
            obj = _resolve(module, dotted)
        except (ImportError, AttributeError) as exc:
            problems.append(f"missing: {name} ({type(exc).__name__}: {exc})")
            continue
        if expected is None:
            checked.append(f"{name}: present")
            continue
        try:
            params = list(inspect.signature(obj).parameters)
        except (TypeError, ValueError) as exc:
            problems.append(f"signature unavailable: {name} ({exc})")
            continue
        if isinstance(expected, frozenset):
            missing = sorted(expected - set(params))
            if missing:
                problems.append(
                    f"signature changed: {name}: missing parameter(s) {missing}; found {params}"
                )
                continue
        elif params[: len(expected)] != list(expected):
            missing = [p for p in expected if p not in params]
            detail = f"missing parameter(s) {missing}" if missing else "parameter order changed"
            problems.append(
                f"signature changed: {name}: {detail}; expected leading parameters "
                f"{list(expected)}, found {params}"
            )
            continue
        checked.append(f"{name}{inspect.signature(obj)}")

    # Keys extract_ifu reads from extract_params must all be ones we supply.
    try:
        src = inspect.getsource(_resolve(_EXTRACT_MOD, "extract_ifu"))
    except (ImportError, AttributeError, OSError, TypeError):
        src = None  # missing symbol already reported above
    if src is not None:
        read_keys = set(re.findall(r'extract_params\["(\w+)"\]', src))
        unknown = sorted(read_keys - _EXTRACT_PARAM_KEYS)
        if unknown:
            problems.append(
                f"changed: {_EXTRACT_MOD}.extract_ifu reads extract_params keys {unknown} "
                "that extract_ifu_cube does not supply"
            )
        gone = [frag for frag in _AUTOCEN_FINGERPRINT if frag not in src]
        if gone:
            problems.append(
                f"changed: {_EXTRACT_MOD}.extract_ifu ifu_autocen centring no longer contains "
                f"{gone} (ifu_autocenter reproduces it)"
            )
        else:
            checked.append("extract_ifu ifu_autocen centring fingerprint")
    try:
        clean_src = inspect.getsource(_resolve(_NSCLEAN_MOD, "NSClean.clean"))
    except (ImportError, AttributeError, OSError, TypeError):
        clean_src = None
    if clean_src is not None:
        gone = [frag for frag in _NSCLEAN_FINGERPRINT if frag not in clean_src]
        if gone:
            problems.append(f"changed: {_NSCLEAN_MOD}.NSClean.clean no longer contains {gone}")

    try:
        ifu_module = importlib.import_module("jwst.outlier_detection.ifu")
        if callable(getattr(ifu_module, "medfilt", None)):
            checked.append("jwst.outlier_detection.ifu.medfilt (swapped for chunked_medfilt)")
        else:
            problems.append("missing: jwst.outlier_detection.ifu.medfilt (ifu_outlier_flags "
                            "replaces it with the memory-saving chunked_medfilt)")
    except ImportError as exc:
        problems.append(f"missing: jwst.outlier_detection.ifu ({exc})")
    for step_name, module in (("JumpStep", _JUMP_MOD), ("RampFitStep", _RAMP_FIT_MOD)):
        try:
            step_class = _resolve(module, step_name)
        except (ImportError, AttributeError):
            continue  # reported above
        needed = set(getattr(step_class, "reference_file_types", []))
        if needed != _RAMP_STEP_REFERENCES[step_name]:
            problems.append(f"changed: {module}.{step_name} reference files are {sorted(needed)}; "
                            f"fit_ramps supplies {sorted(_RAMP_STEP_REFERENCES[step_name])}")
        else:
            checked.append(f"{module}.{step_name} references {sorted(needed)}")
    try:
        check_cube_kernels()
        checked.append("cube_build C kernels (cube_wrapper_driz, cube_wrapper, radec2std)")
    except Exception as exc:
        problems.append(f"changed: jwst.cube_build kernels ({exc})")

    if problems:
        raise JwstApiError(
            f"installed jwst {version} (ifuqa pins jwst{JWST_COMPATIBLE}"
            f"{'' if in_range else '; installed version is OUTSIDE the pinned range'}) "
            "does not provide the API ifuqa.processing.jwst_adapter relies on:\n  - "
            + "\n  - ".join(problems)
        )
    return checked


# --------------------------------------------------------------------------- ramps


@dataclass(frozen=True)
class RampFitResult:
    """The count-rate image jwst's ramp fitting made from one integration (DN/s)."""

    rate_dn_s: NDArray[np.float32]
    dq: NDArray[np.uint32]
    var_poisson: NDArray[np.float32]
    var_rnoise: NDArray[np.float32]
    err: NDArray[np.float32]
    timings_s: dict[str, float] = field(default_factory=dict)


def _nirspec_frame(model: Any, detector: str, shape: tuple[int, int]) -> Any:
    """Set the instrument and the (full-frame) subarray the jwst steps match models by."""
    model.meta.instrument.name = "NIRSPEC"
    model.meta.instrument.detector = detector
    model.meta.subarray.name = "FULL"
    model.meta.subarray.xstart = 1
    model.meta.subarray.ystart = 1
    model.meta.subarray.xsize = shape[1]
    model.meta.subarray.ysize = shape[0]
    return model


def _reference_model(kind: str, value: float, shape: tuple[int, int], detector: str) -> Any:
    from stdatamodels.jwst import datamodels

    model = (datamodels.GainModel if kind == "gain" else datamodels.ReadnoiseModel)(
        data=np.full(shape, value, dtype=np.float32))
    return _nirspec_frame(model, detector, shape)


def fit_ramps(
    ramp: ArrayLike,
    *,
    pixel_dq: ArrayLike,
    group_time_s: float,
    detector: str,
    readpatt: str,
    gain: float,
    readnoise_cds_dn: float,
) -> RampFitResult:
    """
    Detect jumps and fit slopes with jwst's ``JumpStep`` and ``RampFitStep``.

    The steps run with their default parameters (two-point-difference jump
    detection at 4 σ with the four neighbours of strong jumps flagged; OLS_C
    optimally weighted ramp fitting). The GAIN and READNOISE references are
    uniform in-memory models given as step overrides.

    Parameters
    ----------
    ramp : array_like
        ``(1, ngroups, ny, nx)`` ramp in DN (one integration, one frame per
        group, no group gap). Not modified.
    pixel_dq : array_like
        ``(ny, nx)`` detector DQ (the ramp's PIXELDQ).
    group_time_s : float
        Time between groups (s).
    detector, readpatt : str
        Detector name and readout pattern written to the ramp's metadata.
    gain : float
        e⁻ per DN.
    readnoise_cds_dn : float
        Correlated-double-sampling read noise (DN), the quantity CRDS READNOISE
        references hold (jwst divides it by √2 per read).

    Returns
    -------
    RampFitResult
        The rate image and its DQ (``JUMP_DET`` where a jump was found),
        variances and error.
    """
    from jwst.jump import JumpStep
    from jwst.ramp_fitting import RampFitStep
    from stdatamodels.jwst import datamodels

    data = np.asarray(ramp, dtype=np.float32)
    if data.ndim != 4 or data.shape[0] != 1:
        raise ValueError(f"ramp must be (1, ngroups, ny, nx); got shape {data.shape}")
    _, ngroups, ny, nx = data.shape
    model = datamodels.RampModel(data=data, pixeldq=np.asarray(pixel_dq, dtype=np.uint32),
                                 groupdq=np.zeros(data.shape, dtype=np.uint8))
    _nirspec_frame(model, detector, (ny, nx))
    meta = model.meta
    meta.exposure.type = "NRS_IFU"
    meta.exposure.readpatt = readpatt
    meta.exposure.nints = 1
    meta.exposure.ngroups = ngroups
    meta.exposure.nframes = 1
    meta.exposure.groupgap = 0
    meta.exposure.drop_frames1 = 0
    meta.exposure.frame_time = group_time_s
    meta.exposure.group_time = group_time_s
    meta.observation.date = "2026-01-01"
    meta.observation.time = "00:00:00"
    gain_model = _reference_model("gain", gain, (ny, nx), detector)
    noise_model = _reference_model("readnoise", readnoise_cds_dn, (ny, nx), detector)
    quiet = [logging.getLogger(name) for name in ("stpipe", "jwst", "stcal")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.WARNING)
    timings: dict[str, float] = {}

    def run(step_class: Any, name: str, step_input: Any) -> Any:
        start = time.perf_counter()
        step = step_class()
        step.override_gain = gain_model
        step.override_readnoise = noise_model
        out = step.process(step_input)
        timings[name] = time.perf_counter() - start
        return out

    try:
        jumped = run(JumpStep, "jump_step", model)
        result = run(RampFitStep, "ramp_fit_step", jumped)
    finally:
        for lg, level in zip(quiet, levels, strict=True):
            lg.setLevel(level)
    rate = result[0] if isinstance(result, tuple | list) else result
    out = RampFitResult(
        rate_dn_s=np.array(rate.data, dtype=np.float32),
        dq=np.array(rate.dq, dtype=np.uint32),
        var_poisson=np.array(rate.var_poisson, dtype=np.float32),
        var_rnoise=np.array(rate.var_rnoise, dtype=np.float32),
        err=np.array(rate.err, dtype=np.float32),
        timings_s=timings,
    )
    for m in (model, jumped, *(result if isinstance(result, tuple | list) else (result,))):
        if m is not None:
            m.close()
    return out


# --------------------------------------------------------------------------- NSClean


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


# --------------------------------------------------------------------------- outliers


def _ensure_meta(model: Any, detector: str | None) -> None:
    meta = model.meta
    if not meta.instrument.name:
        meta.instrument.name = "NIRSPEC"
    if not meta.exposure.type:
        meta.exposure.type = "NRS_IFU"
    if not meta.instrument.detector:
        if detector is None:
            raise ValueError(
                "model has no meta.instrument.detector; pass detector= to ifu_outlier_flags"
            )
        meta.instrument.detector = detector
    if meta.wcsinfo.dispersion_direction is None:
        meta.wcsinfo.dispersion_direction = 1  # NIRSpec: dispersion along x


def chunked_medfilt(arr: ArrayLike, kern_size: Sequence[int], *,
                    rows_per_chunk: int = 64) -> NDArray[np.float64]:
    """
    ``stcal.outlier_detection.utils.medfilt`` computed a block of rows at a time.

    jwst's IFU outlier method normalises by this NaN-aware median filter. stcal evaluates it
    on a sliding-window view of the whole 2048² image at once (``nanmedian`` over a
    2048 × 2048 × 7 × 7 array, sorted through masked arrays), which peaks at ~7.7 GiB for one
    detector. Every output pixel depends only on its own window, so filtering blocks of rows
    of the zero-padded image gives identical values (a test compares them exactly) at a small
    fraction of the memory. Used only inside :func:`ifu_outlier_flags`.
    """
    from stcal.outlier_detection.utils import medfilt

    data = np.asarray(arr)
    kern = [int(k) for k in kern_size]
    if data.ndim != 2 or len(kern) != 2:
        return medfilt(data, kern)
    padded = np.pad(data, [[k // 2] for k in kern])
    out = None
    for start in range(0, data.shape[0], rows_per_chunk):
        stop = min(start + rows_per_chunk, data.shape[0])
        block = padded[start:stop + kern[0] - 1]
        windows = np.lib.stride_tricks.sliding_window_view(block, kern)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
            values = np.nanmedian(windows, axis=(-2, -1))
        if out is None:
            out = np.empty(data.shape, dtype=values.dtype)
        out[start:stop] = values
    return out


def ifu_outlier_flags(
    models: Sequence[Any],
    *,
    kernel_size: str = "7 7",
    threshold_percent: float = 99.8,
    ifu_second_check: bool = False,
    detector: str | None = None,
) -> list[NDArray[np.bool_]]:
    """
    Run jwst's IFU outlier detection and return the newly flagged pixels.

    Wraps ``jwst.outlier_detection.ifu.detect_outliers`` on deep copies of the
    input ``IFUImageModel`` s.  That algorithm takes, per detector, the
    *minimum over exposures* of each pixel's smaller absolute difference to
    its two cross-dispersion (y) neighbours, normalises it by a local median
    (``kernel_size``) and flags everything above the ``threshold_percent``
    percentile, in *every* exposure of that detector.  It therefore targets
    detector-fixed outliers (new hot/warm pixels absent from the bad-pixel
    mask) that recur in all dithers; a transient seen in only one exposure is
    normally not flagged.  Note that a percentile cut always flags about
    ``(100 - threshold_percent)`` % of the pixels of each detector: the
    percentile is taken over the interior (a 4-pixel border excluded, the
    reference pixels of a real detector) but the border pixels are flagged
    too, so border flags on synthetic frames with a live border are expected.

    Metadata ``detect_outliers`` reads are set on the copies when absent:
    ``meta.instrument.name`` ("NIRSPEC", selects y-differences),
    ``meta.exposure.type`` ("NRS_IFU"), ``meta.instrument.detector`` (groups
    exposures; from ``detector``) and ``meta.wcsinfo.dispersion_direction``
    (1; not read by jwst 3.0 but set for consistency).  No gwcs is needed.

    Parameters
    ----------
    models : sequence of IFUImageModel
        Exposures (same or mixed NRS1/NRS2 detectors, equal shapes).  Not
        modified.
    kernel_size : str, optional
        "nx ny" median-filter size for the normalisation (jwst default "7 7").
    threshold_percent : float, optional
        Percentile above which normalised minimum differences are flagged.
    ifu_second_check : bool, optional
        Also flag pixels whose minimum difference is NaN.
    detector : str or None, optional
        Detector to assume for models lacking ``meta.instrument.detector``.

    Returns
    -------
    list of ndarray of bool
        Per model, True where ``detect_outliers`` set the OUTLIER DQ bit that
        was not already set.  With fewer than two models jwst skips the
        detection, and all masks are False.
    """
    from jwst.datamodels import ModelContainer
    from jwst.outlier_detection.ifu import detect_outliers
    from stdatamodels.jwst.datamodels import dqflags

    if len(models) == 0:
        return []
    outlier_bit = dqflags.pixel["OUTLIER"]
    copies = []
    before = []
    for model in models:
        dup = copy.deepcopy(model)
        if dup.data is None or np.ndim(dup.data) != 2:
            raise ValueError("each model must carry a 2-D data array")
        dup.dq = np.array(dup.dq, dtype=np.uint32, copy=True)  # materialise default DQ
        _ensure_meta(dup, detector)
        before.append((dup.dq & outlier_bit) != 0)
        copies.append(dup)
    shapes = {c.data.shape for c in copies}
    if len(shapes) != 1:
        raise ValueError(f"all models must have the same shape, got {sorted(shapes)}")
    if len(copies) < 2:
        return [np.zeros(copies[0].data.shape, dtype=bool)]

    from unittest import mock

    import jwst.outlier_detection.ifu as jwst_ifu

    container = ModelContainer(copies)
    with warnings.catch_warnings(), mock.patch.object(jwst_ifu, "medfilt", chunked_medfilt):
        # NaN-only neighbourhoods (e.g. inter-slice gaps) in nanmedian/nanpercentile
        warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        result = detect_outliers(
            container,
            save_intermediate_results=False,
            kernel_size=kernel_size,
            ifu_second_check=ifu_second_check,
            threshold_percent=threshold_percent,
            make_output_path=None,
        )
    return [
        ((np.asarray(m.dq) & outlier_bit) != 0) & ~was
        for m, was in zip(result, before, strict=True)
    ]


# --------------------------------------------------------------------------- trace model


@dataclass(frozen=True)
class TraceOversampleResult:
    """
    Output of :func:`trace_model_oversample`.

    Oversampled arrays have shape ``(ny_os, nx)`` with
    ``ny_os = ceil(ny * oversample_factor)``; columns are unchanged.  Row ``j``
    of the oversampled grid is centred at fractional detector row ``y_os[j]``
    and spans ``y_os[j] ± row_height / 2`` in original detector pixels, so an
    oversampled pixel ``(j, i)`` covers the detector footprint
    ``x ∈ [i - 0.5, i + 0.5]``, ``y ∈ [y_os[j] - row_height/2, y_os[j] + row_height/2]``;
    evaluate the instrument model's along-slice coordinate and wavelength at
    ``(i, y_os[j])`` to place it.

    Attributes
    ----------
    flux : ndarray
        Oversampled flux (spline model + residual where the source is
        compact, linear interpolation elsewhere), NaN outside regions.
    error : ndarray
        Linearly oversampled error, inflated by ``0.23 f + 0.77`` (jwst).
    y_os : ndarray, shape (ny_os,)
        Fractional detector y (0-based pixel centres) of each oversampled row.
    row_height : float
        Height of an oversampled row in detector pixels (``1 / f``).
    region_map : ndarray of int
        Nearest-pixel region (slice) map on the oversampled grid.
    alpha_os : ndarray
        Along-slice coordinate used for each oversampled pixel.
    trace_used, full_trace, linear, residual : ndarray
        Intermediate arrays from ``oversample_flux`` (spline model where used,
        everywhere, linear interpolation, interpolated residual).
    estimated : ndarray of bool
        Oversampled pixels whose nearest input pixel was bad/NaN but which now
        have a value (jwst flags these FLUX_ESTIMATED).
    spline_models : dict
        ``fit_all_regions`` output: region -> column -> spline model dict.
    """

    flux: NDArray[np.floating]
    error: NDArray[np.floating]
    y_os: NDArray[np.float64]
    row_height: float
    region_map: NDArray[np.integer]
    alpha_os: NDArray[np.floating]
    trace_used: NDArray[np.floating]
    full_trace: NDArray[np.floating]
    linear: NDArray[np.floating]
    residual: NDArray[np.floating]
    estimated: NDArray[np.bool_]
    spline_models: dict = field(repr=False)


def trace_fit_statistics(values: ArrayLike) -> tuple[float, float]:
    """
    The image statistics ``fit_and_oversample`` derives its fit threshold from.

    Sigma-clipped (astropy defaults, 3 sigma) mean and standard deviation of the
    in-region flux, each replaced by 0 when not finite, exactly as
    ``jwst.adaptive_trace_model.trace_model.fit_and_oversample`` computes
    ``overall_mean`` and ``overall_rms`` (the NRS_IFU threshold is then
    ``overall_mean + fit_threshold * overall_rms``, after a negative mean is
    subtracted from the image and set to 0).

    Parameters
    ----------
    values : array_like
        Flux of every in-region pixel of the whole image (NaNs are ignored).

    Returns
    -------
    mean, rms : float
    """
    from astropy.stats import sigma_clipped_stats
    from astropy.utils.exceptions import AstropyUserWarning

    data = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=AstropyUserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        mean, _, rms = sigma_clipped_stats(data)
    mean = float(mean) if np.isfinite(mean) else 0.0
    rms = float(rms) if np.isfinite(rms) else 0.0
    return mean, rms


def trace_region_peak(flux: ArrayLike, error: ArrayLike, alpha: ArrayLike) -> float:
    """
    Peak of one region's collapsed cross-dispersion profile (jwst's fit test).

    ``jwst.adaptive_trace_model.trace_model._fit_one_region`` fits a slice only
    if the maximum of ``_crossdisp_profile`` (the flux median-combined over
    wavelength in bins of half a native pixel in alpha) exceeds the threshold.
    This returns that maximum for the pixels of one region.

    Parameters
    ----------
    flux, error, alpha : array_like, shape (ny, nx)
        One region's flux, error and along-slice coordinate, NaN outside it
        (a cut-out around the region is enough).  Pixels with a non-positive
        error are ignored, as in jwst.

    Returns
    -------
    float
        The peak, or NaN when the region has no usable pixel.
    """
    from jwst.adaptive_trace_model import trace_model as tm

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        _, profile, _, _ = tm._crossdisp_profile(
            np.asarray(flux, dtype=np.float64),
            np.asarray(error, dtype=np.float64),
            np.asarray(alpha, dtype=np.float64),
        )
        if profile is None or not np.isfinite(profile).any():
            return float("nan")
        return float(np.nanmax(profile))


def trace_model_oversample(
    flux: ArrayLike,
    error: ArrayLike,
    alpha: ArrayLike,
    region_map: ArrayLike,
    *,
    oversample_factor: float = 2,
    alpha_os: ArrayLike | Callable[[NDArray, NDArray], ArrayLike] | None = None,
    bad: ArrayLike | None = None,
    detector: str = "NRS1",
    grating: str | None = None,
    fit_threshold: float = 10.0,
    slope_limit: float = 0.1,
    psf_optimal: bool = False,
    flux_density: bool = False,
    maximum_cores: str = "none",
    statistics: tuple[float, float] | None = None,
    fit_error: ArrayLike | None = None,
    fit_regions: Collection[int] | None = None,
    fit_columns: Collection[int] | None = None,
) -> TraceOversampleResult:
    """
    Adaptive-trace-model oversampling of a NIRSpec IFU image from arrays.

    ``jwst.adaptive_trace_model.trace_model.fit_and_oversample`` itself cannot
    run on ifuqa's models: for ``IFUImageModel`` it calls
    ``jwst.assign_wcs.nirspec.nrs_ifu_wcs(model)`` (a full NIRSpec gwcs with
    per-slice ``detector -> slicer`` transforms) both for the input alpha map
    and for the alpha/wavelength of the oversampled grid, and it rewrites
    ``model.meta.wcs``.  This function reproduces its NRS_IFU branch with the
    same jwst building blocks - ``_set_fit_kwargs`` / ``_set_oversample_kwargs``
    (mode ``"NRS_IFU"``), ``fit_all_regions`` (spline trace model),
    ``oversample_flux``, ``linear_oversample`` + ``_inflate_error`` for the
    error, ``_reindex`` for the new row positions - and the same thresholding
    (sigma-clipped mean/rms of in-region flux, negative-mean offset) - with
    the gwcs evaluations replaced by ``alpha`` and ``alpha_os``.

    Parameters
    ----------
    flux, error : array_like, shape (ny, nx)
        Flux and 1-sigma error, DMS orientation (dispersion along x).
    alpha : array_like, shape (ny, nx)
        Along-slice coordinate per pixel, increasing with y within a slice
        (jwst uses ``-alpha`` of the slicer frame); NaN outside slices.
    region_map : array_like of int, shape (ny, nx)
        Slice number per pixel (>0), 0 outside slices.
    oversample_factor : float, optional
        Oversampling factor along y; must be > 1.
    alpha_os : array_like, callable or None, optional
        Along-slice coordinate of the oversampled pixels, shape
        ``(ny_os, nx)``, or a callable ``f(x_os, y_os) -> alpha`` evaluated on
        full ``(ny_os, nx)`` coordinate grids (jwst evaluates its gwcs there).
        None linearly interpolates ``alpha`` along each column of each slice
        (``linear_oversample``), which is exact when alpha is linear in y
        within a slice column and an approximation otherwise.
    bad : array_like of bool or None, optional
        DO_NOT_USE pixels (jwst uses the DQ array); None uses non-finite flux.
    detector : {"NRS1", "NRS2"}, optional
        Sets the column fitting order.
    grating : str or None, optional
        "PRISM" switches to the PRISM fit parameters.
    fit_threshold, slope_limit, psf_optimal : optional
        As in ``fit_and_oversample`` (``psf_optimal`` forces both to 0).
    flux_density : bool, optional
        True if the data are a flux density (not surface brightness): flux
        and error are then divided by the oversampling factor, as jwst does.
    maximum_cores : str, optional
        Passed to ``fit_all_regions`` ("none" = single process).
    statistics : (float, float) or None, optional
        ``(overall_mean, overall_rms)`` of the *whole* image
        (:func:`trace_fit_statistics`), for when ``flux`` is a cut-out of it;
        None computes them from ``flux`` as jwst does.
    fit_error : array_like or None, optional
        Error used by the fit only (jwst ignores pixels whose error is not
        positive when it collapses a slice); None uses ``error``.
    fit_regions : collection of int or None, optional
        Regions allowed a spline fit; the others get no spline model and are
        linearly oversampled (what jwst does for regions below the
        threshold).  None: every region, as in jwst.
    fit_columns : collection of int or None, optional
        Columns (indices into ``flux``) that may be fitted, in jwst's fitting
        order; the other columns are linearly oversampled.  None: every
        column, as in jwst.

    Returns
    -------
    TraceOversampleResult
        Oversampled arrays and the row mapping; see its docstring.
    """
    from jwst.adaptive_trace_model import trace_model as tm

    flux_in = np.array(flux, dtype=np.float64, copy=True)
    err_in = np.array(error, dtype=np.float64, copy=True)
    alpha_in = np.array(alpha, dtype=np.float64, copy=True)
    regions = np.array(region_map, dtype=np.int32, copy=True)
    if not flux_in.ndim == 2 or not (flux_in.shape == err_in.shape == alpha_in.shape):
        raise ValueError("flux, error and alpha must be 2-D arrays of the same shape")
    if regions.shape != flux_in.shape:
        raise ValueError("region_map must have the shape of flux")
    if not oversample_factor > 1:
        raise ValueError("oversample_factor must be > 1")
    ysize, xsize = flux_in.shape
    det = str(detector).upper()
    mode = "NRS_IFU"

    if psf_optimal:
        fit_threshold = 0
        slope_limit = 0

    if statistics is None:
        overall_mean, overall_rms = trace_fit_statistics(flux_in[regions > 0])
    else:
        overall_mean, overall_rms = (float(v) for v in statistics)
    restore_mean = None
    if overall_mean < 0:
        restore_mean = overall_mean
        flux_in = flux_in - overall_mean
        overall_mean = 0.0

    region_numbers = np.unique(regions[regions > 0])
    fit_kwargs = tm._set_fit_kwargs(mode, det, grating, xsize)
    if fit_threshold <= 0:
        fit_kwargs["snr_threshold"] = None
    else:
        threshold = overall_mean + fit_threshold * overall_rms
        fit_kwargs["peak_threshold"] = dict.fromkeys(region_numbers, threshold)
    if fit_columns is not None:
        allowed = {int(c) for c in fit_columns}
        fit_kwargs["col_index"] = [c for c in fit_kwargs["col_index"] if c in allowed]
    fit_map = regions
    if fit_regions is not None:
        fit_map = np.where(np.isin(regions, list(fit_regions)), regions, 0)
    err_fit = err_in if fit_error is None else np.asarray(fit_error, dtype=np.float64)
    if err_fit.shape != flux_in.shape:
        raise ValueError("fit_error must have the shape of flux")
    spline_models = {}
    if (fit_map > 0).any():  # jwst's fit_all_regions fails on an empty region map
        spline_models = tm.fit_all_regions(
            flux_in, err_fit, alpha_in, fit_map, maximum_cores=maximum_cores, **fit_kwargs
        )
    for number in region_numbers:
        spline_models.setdefault(number, {})

    oversample_kwargs = tm._set_oversample_kwargs(mode, det)
    _, oldy = tm._reindex(0, ysize - 1, scale=oversample_factor)
    os_shape = (int(np.ceil(ysize * oversample_factor)), xsize)
    y_os = np.asarray(oldy, dtype=np.float64)
    if y_os.shape[0] != os_shape[0]:  # pragma: no cover - non-integer factors
        raise ValueError("oversample_factor gives a non-integral number of rows")
    y_grid = np.broadcast_to(y_os[:, None], os_shape)
    x_grid = np.broadcast_to(np.arange(xsize, dtype=np.float64)[None, :], os_shape)

    if alpha_os is None:
        alpha_grid = tm.linear_oversample(
            alpha_in, regions, oversample_factor, 1, edge_limit=0, preserve_nan=False
        ).astype(np.float64)
    elif callable(alpha_os):
        alpha_grid = np.array(alpha_os(x_grid.copy(), y_grid.copy()), dtype=np.float64)
    else:
        alpha_grid = np.array(alpha_os, dtype=np.float64, copy=True)
    if alpha_grid.shape != os_shape:
        raise ValueError(f"alpha_os must have shape {os_shape}, got {alpha_grid.shape}")

    flux_os, trace_used, full_trace, linear, residual = tm.oversample_flux(
        flux_in,
        alpha_in,
        regions,
        spline_models,
        oversample_factor,
        alpha_grid,
        slope_limit=slope_limit,
        psf_optimal=psf_optimal,
        **oversample_kwargs,
    )

    closest = (np.round(y_grid).astype(int), np.round(x_grid).astype(int))
    regions_os = regions[closest]
    bad_in = ~np.isfinite(flux_in) if bad is None else np.asarray(bad, dtype=bool)
    estimated = np.isfinite(flux_os) & bad_in[closest]

    err_os = tm.linear_oversample(
        err_in,
        regions,
        oversample_factor,
        oversample_kwargs["require_ngood"],
        edge_limit=0,
        preserve_nan=False,
    ).astype(np.float64)
    err_os[~np.isfinite(err_in[closest]) & ~estimated] = np.nan
    tm._inflate_error(err_os, "err", oversample_factor)

    if restore_mean is not None:
        flux_os = flux_os + restore_mean
        trace_used = trace_used + restore_mean
        full_trace = full_trace + restore_mean
    if flux_density:
        flux_os = flux_os / oversample_factor
        trace_used = trace_used / oversample_factor
        linear = linear / oversample_factor
        residual = residual / oversample_factor
        err_os = err_os / oversample_factor

    # jwst's match_nans_and_flags: error is NaN wherever flux is.
    err_os[~np.isfinite(flux_os)] = np.nan
    return TraceOversampleResult(
        flux=flux_os,
        error=err_os,
        y_os=y_os,
        row_height=1.0 / oversample_factor,
        region_map=regions_os,
        alpha_os=alpha_grid,
        trace_used=trace_used,
        full_trace=full_trace,
        linear=linear,
        residual=residual,
        estimated=estimated,
        spline_models=spline_models,
    )


# --------------------------------------------------------------------------- 1-D extraction


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

    jwst 3.0 has no standalone function for this: the centring is inline in
    ``jwst.extract_1d.ifu.extract_ifu`` (``extract_params["ifu_autocen"]``).
    This reproduces it exactly, using the very ``DAOStarFinder`` and
    ``sigma_clipped_stats`` objects ``jwst.extract_1d.ifu`` imports: median
    collapse of the planes with wavelength < 26 µm (NaNs masked), sigma-clipped
    median/rms of the collapsed image, ``DAOStarFinder(fwhm=3.0,
    threshold=3 * rms)`` on the median-subtracted image, brightest detection
    by ``flux``.  :func:`check_jwst_api` fingerprints that jwst source so a
    change is caught.

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
    return float(sources[best]["x_centroid"]), float(sources[best]["y_centroid"])


@dataclass(frozen=True)
class ExtractionResult:
    """
    Output of :func:`extract_ifu_cube` (the tuple ``extract_ifu`` returns).

    ``flux`` is jwst's ``temp_flux``: the aperture *sum* of cube values
    (surface brightness × pixels) minus the scaled background; divide by
    ``npixels`` for mean surface brightness, multiply by the pixel solid angle
    for a point-source flux.
    """

    ra: float
    dec: float
    wavelength: NDArray[np.float64]
    flux: NDArray[np.float64]
    var_poisson: NDArray[np.float64]
    var_rnoise: NDArray[np.float64]
    var_flat: NDArray[np.float64]
    background: NDArray[np.float64]
    bkg_var_poisson: NDArray[np.float64]
    bkg_var_rnoise: NDArray[np.float64]
    bkg_var_flat: NDArray[np.float64]
    npixels: NDArray[np.float64]
    dq: NDArray[np.uint32]
    npixels_bkg: NDArray[np.float64]
    radius_pix: NDArray[np.float64] | None
    x_center: float
    y_center: float


def _cube_model(
    data: NDArray,
    wavelength: NDArray,
    *,
    var_poisson: NDArray | None,
    var_rnoise: NDArray | None,
    var_flat: NDArray | None,
    weightmap: NDArray | None,
    pixel_scale_arcsec: float,
    ra_ref: float,
    dec_ref: float,
) -> Any:
    from jwst.assign_wcs.pointing import create_fitswcs
    from stdatamodels.jwst import datamodels

    nw, ny, nx = data.shape
    zeros = np.zeros_like(data)
    wave32 = np.asarray(wavelength, dtype=np.float32)
    wavetable = np.array([(wave32[None].T,)], dtype=[("wavelength", "<f4", (nw, 1))])
    model = datamodels.IFUCubeModel(
        data=data,
        var_poisson=zeros if var_poisson is None else var_poisson,
        var_rnoise=zeros.copy() if var_rnoise is None else var_rnoise,
        var_flat=zeros.copy() if var_flat is None else var_flat,
        err=np.sqrt(
            (zeros if var_poisson is None else var_poisson)
            + (zeros if var_rnoise is None else var_rnoise)
            + (zeros if var_flat is None else var_flat)
        ),
        weightmap=(np.isfinite(data).astype(np.float32) if weightmap is None else weightmap),
        wavetable=wavetable,
    )
    meta = model.meta
    meta.instrument.name = "NIRSPEC"
    meta.exposure.type = "NRS_IFU"
    meta.coordinates.reference_frame = "ICRS"
    meta.target.ra = ra_ref
    meta.target.dec = dec_ref
    w = meta.wcsinfo
    w.wcsaxes = 3
    w.ctype1, w.ctype2, w.ctype3 = "RA---TAN", "DEC--TAN", "WAVE-TAB"
    w.cunit1, w.cunit2, w.cunit3 = "deg", "deg", "um"
    w.crpix1, w.crpix2, w.crpix3 = (nx + 1) / 2.0, (ny + 1) / 2.0, 1.0
    w.crval1, w.crval2, w.crval3 = ra_ref, dec_ref, 1.0
    w.cdelt1 = w.cdelt2 = pixel_scale_arcsec / 3600.0
    w.cdelt3 = 1.0
    w.pc1_1, w.pc1_2, w.pc1_3 = -1.0, 0.0, 0.0
    w.pc2_1, w.pc2_2, w.pc2_3 = 0.0, 1.0, 0.0
    w.pc3_1, w.pc3_2, w.pc3_3 = 0.0, 0.0, 1.0
    w.ps3_0, w.ps3_1 = "WCS-TABLE", "wavelength"
    w.dispersion_direction = 1
    wcsobj = create_fitswcs(model)
    wcsobj.bounding_box = ((0, nx - 1), (0, ny - 1), (0, nw - 1))
    meta.wcs = wcsobj
    return model


def extract_ifu_cube(
    cube_data: ArrayLike,
    wavelength_um: ArrayLike,
    *,
    var_poisson: ArrayLike | None = None,
    var_rnoise: ArrayLike | None = None,
    var_flat: ArrayLike | None = None,
    weightmap: ArrayLike | None = None,
    source_type: str = "POINT",
    center: tuple[float, float] | None = None,
    autocenter: bool = False,
    radius_arcsec: float | ArrayLike = 0.3,
    inner_bkg_arcsec: float | ArrayLike | None = None,
    outer_bkg_arcsec: float | ArrayLike | None = None,
    pixel_scale_arcsec: float = 0.1,
    method: str = "exact",
    subpixels: int = 10,
    bkg_sigma_clip: float = 3.0,
    ra_ref: float = 180.0,
    dec_ref: float = 0.0,
) -> ExtractionResult:
    """
    Extract a 1-D spectrum from a cube with ``jwst.extract_1d.ifu.extract_ifu``.

    ``extract_ifu`` runs without reference files when handed an
    ``extract_params`` dict; it does need a gwcs on the cube (for the
    wavelengths via ``get_coordinates`` and, for POINT sources, the pixel
    scale via ``stcal.alignment.util.compute_scale``).  This builds an
    ``IFUCubeModel`` with FITS-style ``meta.wcsinfo`` (RA---TAN/DEC--TAN with
    ``pixel_scale_arcsec`` square spaxels at ``(ra_ref, dec_ref)``, WAVE-TAB
    wavelength table) and attaches the gwcs made from it by
    ``jwst.assign_wcs.pointing.create_fitswcs``, exactly as ``cube_build``
    does; then calls ``extract_ifu`` with a hand-built ``extract_params``.

    Parameters
    ----------
    cube_data : array_like, shape (nw, ny, nx)
        Cube in surface-brightness units.  Not modified.
    wavelength_um : array_like, shape (nw,)
        Wavelength of each plane (µm); must be monotonic.
    var_poisson, var_rnoise, var_flat : array_like or None, optional
        Variance cubes (zeros when None).
    weightmap : array_like or None, optional
        cube_build weight map; 0 marks empty spaxels.  None: 1 where data is
        finite, 0 elsewhere.
    source_type : {"POINT", "EXTENDED"}, optional
        POINT: circular aperture (radius per wavelength) with optional annulus
        background.  EXTENDED: whole field, sigma-clipped background estimate,
        no subtraction.
    center : (float, float) or None, optional
        0-based (x, y) aperture centre (``extract_params`` x/y_center).
    autocenter : bool, optional
        If ``center`` is None, let jwst find the source (``ifu_autocen``);
        otherwise jwst centres on ``(ra_ref, dec_ref)`` = the cube centre.
    radius_arcsec : float or array_like, optional
        Aperture radius (scalar or per ``wavelength_um``).
    inner_bkg_arcsec, outer_bkg_arcsec : float, array_like or None, optional
        Background annulus; both given enables background subtraction.
    pixel_scale_arcsec : float, optional
        Spaxel size, used to convert radii to pixels.
    method : {"exact", "center", "subpixel"}, optional
        photutils aperture method.
    subpixels : int, optional
        Subsampling for ``method="subpixel"``.
    bkg_sigma_clip : float, optional
        Sigma clip for the background.
    ra_ref, dec_ref : float, optional
        Sky coordinates of the cube centre (degrees).

    Returns
    -------
    ExtractionResult
        The arrays returned by ``extract_ifu``.
    """
    from jwst.extract_1d.ifu import extract_ifu

    data = np.array(cube_data, dtype=np.float64, copy=True)
    wave = np.array(wavelength_um, dtype=np.float64, copy=True)
    if data.ndim != 3 or wave.shape != (data.shape[0],):
        raise ValueError("cube_data must be (nw, ny, nx) and wavelength_um (nw,)")
    if source_type not in ("POINT", "EXTENDED"):
        raise ValueError("source_type must be 'POINT' or 'EXTENDED'")

    def _opt(arr: ArrayLike | None) -> NDArray | None:
        return None if arr is None else np.array(arr, dtype=np.float64, copy=True)

    model = _cube_model(
        data,
        wave,
        var_poisson=_opt(var_poisson),
        var_rnoise=_opt(var_rnoise),
        var_flat=_opt(var_flat),
        weightmap=_opt(weightmap),
        pixel_scale_arcsec=pixel_scale_arcsec,
        ra_ref=ra_ref,
        dec_ref=dec_ref,
    )

    def _per_wave(value: float | ArrayLike | None) -> NDArray:
        if value is None:
            return np.zeros_like(wave)
        return np.broadcast_to(np.asarray(value, dtype=np.float64), wave.shape).copy()

    subtract = inner_bkg_arcsec is not None and outer_bkg_arcsec is not None
    extract_params: dict[str, Any] = {
        "x_center": None if center is None else float(center[0]),
        "y_center": None if center is None else float(center[1]),
        "ifu_autocen": bool(autocenter),
        "ifu_rscale": None,
        "method": method,
        "subpixels": int(subpixels),
        "subtract_background": subtract,
        "wavelength": wave.copy(),
        "radius": _per_wave(radius_arcsec),
        "inner_bkg": _per_wave(inner_bkg_arcsec),
        "outer_bkg": _per_wave(outer_bkg_arcsec),
        "bkg_sigma_clip": bkg_sigma_clip,
    }
    out = extract_ifu(model, source_type, extract_params)
    model.close()
    (ra, dec, wavelength, flux, fvp, fvr, fvf, bkg, bvp, bvr, bvf, npix, dq, npixb, rad, xc, yc) = (
        out
    )
    return ExtractionResult(
        ra=float(ra),
        dec=float(dec),
        wavelength=np.asarray(wavelength, dtype=np.float64),
        flux=np.asarray(flux),
        var_poisson=np.asarray(fvp),
        var_rnoise=np.asarray(fvr),
        var_flat=np.asarray(fvf),
        background=np.asarray(bkg),
        bkg_var_poisson=np.asarray(bvp),
        bkg_var_rnoise=np.asarray(bvr),
        bkg_var_flat=np.asarray(bvf),
        npixels=np.asarray(npix),
        dq=np.asarray(dq),
        npixels_bkg=np.asarray(npixb),
        radius_pix=None if rad is None else np.asarray(rad, dtype=np.float64),
        x_center=float(xc),
        y_center=float(yc),
    )

# --------------------------------------------------------------------------- cube building
#
# Thin wrappers of jwst's ``cube_build`` C extensions (3-D drizzle and Shepard point cloud).
#
# This is the only module of the cube builder that touches jwst internals; it is meant to be
# merged into :mod:`ifuqa.processing.jwst_adapter`. Everything here takes and returns plain numpy
# arrays so the callers never see the C calling conventions.
#
# What is wrapped (jwst 3.0, ``jwst/cube_build/ifu_cube.py``, ``IFUCubeData.build_ifucube``):
#
# * ``cube_match_sky_driz.cube_wrapper_driz`` — the 3-D drizzle: each detector pixel is a
#   quadrilateral in the cube's tangent plane (corners ``xi1, eta1 … xi4, eta4``, arcsec) times
#   a wavelength interval ``dwave``; its weight in a spaxel is (area of overlap, arcsec²) ×
#   (wavelength overlap, µm).
# * ``cube_match_sky_pointcloud.cube_wrapper`` — the modified Shepard method: each detector pixel
#   is a point; spaxels within the spatial/spectral region of interest (``rois``, ``roiw``) get the
#   weight ``exp(-d² / (scalerad / cdelt1))`` (``emsm``) or ``1 / max(d^power, softrad)`` (``msm``)
#   with ``d`` the distance in units of the spaxel size and of the plane's wavelength step.
# * ``coord.radec2std`` — RA/Dec to the cube's (possibly rotated) tangent plane, arcsec, with
#   ``xi`` increasing to the *west* (the parity of jwst cubes, ``PC1_1 = -cos(rot)``).
#
# Both kernels return the un-normalised sums ``(spaxel_flux, spaxel_weight, spaxel_var,
# spaxel_iflux)`` for the cube flattened in (wavelength, y, x) order; :func:`finish_spaxels`
# turns accumulated sums into the final (flux, err, dq, weightmap) exactly as
# ``IFUCubeData.find_spaxel_flux``, ``set_final_dq_flags`` (DQ plane from the weights, the
# ``skip_dqflagging`` path) and ``setup_final_ifucube_model`` do.

CUBE_KERNEL_SIGNATURES: dict[str, str] = {
    "jwst.cube_build.cube_match_sky_driz.cube_wrapper_driz": (
        "cube_wrapper_driz(instrument:int, flag_dq_plane:int, start_region:int, end_region:int, "
        "overlap_partial:int, overlap_full:int, xcoord, ycoord, zcoord, coord1, coord2, wave, "
        "flux, err, slice_no, xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4, dwave, cdelt3_normal, "
        "cdelt1:float, cdelt2:float, cdelt3_mean:float, linear:int, x_det, y_det, "
        "debug_cube_index:int) -> (spaxel_flux, spaxel_weight, spaxel_var, spaxel_iflux, "
        "spaxel_dq)  [PyArg format 'iiiiiiOOOOOOOOOOOOOOOOOOOdddiOOl']"
    ),
    "jwst.cube_build.cube_match_sky_pointcloud.cube_wrapper": (
        "cube_wrapper(instrument:int, flag_dq_plane:int, weight_type:int, start_region:int, "
        "end_region:int, overlap_partial:int, overlap_full:int, xcoord, ycoord, zcoord, coord1, "
        "coord2, wave, flux, err, slice_no, rois_pixel, roiw_pixel, scalerad_pixel, "
        "weight_pixel, softrad_pixel, cdelt3_normal, roiw_ave:float, cdelt1:float, "
        "cdelt2:float) -> (spaxel_flux, spaxel_weight, spaxel_var, spaxel_iflux, spaxel_dq)  "
        "[PyArg format 'iiiiiiiOOOOOOOOOOOOOOOddd']"
    ),
    "jwst.cube_build.coord.radec2std": (
        "radec2std(crval1, crval2, ra, dec, rot_angle=None) -> (xi, eta) arcsec"
    ),
}
"""The jwst symbols wrapped here and the call conventions this module was written against."""

# Flags used by IFUCubeData (ifu_cube.py): intermediate overlap flags and final DQ bits.
_INSTRUMENT_NIRSPEC = 1
_OVERLAP_PARTIAL = 4
_OVERLAP_FULL = 2
DO_NOT_USE = 1
NON_SCIENCE = 512
_WEIGHT_TYPES = {"emsm": 0, "msm": 1}


class CubeKernelError(RuntimeError):
    """A jwst cube_build kernel is missing or its calling convention changed."""


@dataclass
class SpaxelSums:
    """Accumulated (un-normalised) spaxel sums, flattened in (wavelength, y, x) order."""

    flux: np.ndarray
    weight: np.ndarray
    var: np.ndarray
    iflux: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> SpaxelSums:
        """Empty sums for ``n`` voxels."""
        return cls(*(np.zeros(n, dtype=np.float64) for _ in range(4)))

    def add(self, other: SpaxelSums, offset: int = 0) -> None:
        """Add ``other`` into ``self`` starting at flat voxel ``offset``."""
        sl = slice(offset, offset + other.flux.size)
        self.flux[sl] += other.flux
        self.weight[sl] += other.weight
        self.var[sl] += other.var
        self.iflux[sl] += other.iflux


def _cube_kernel(module: str, name: str) -> Any:
    """A cube_build C kernel, or CubeKernelError naming it when it cannot be imported."""
    try:
        return _resolve(f"jwst.cube_build.{module}", name)
    except (ImportError, AttributeError) as exc:  # pragma: no cover - depends on the jwst
        raise CubeKernelError(
            f"jwst.cube_build.{module}.{name} is not importable: {exc}") from exc


def _f8(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _unpack(result: object, ncube: int, symbol: str) -> SpaxelSums:
    if not isinstance(result, tuple) or len(result) != 5:
        raise CubeKernelError(
            f"{symbol} returned {type(result).__name__} of length "
            f"{len(result) if hasattr(result, '__len__') else '?'}; expected a tuple of 5 arrays "
            "(spaxel_flux, spaxel_weight, spaxel_var, spaxel_iflux, spaxel_dq)")
    arrays = [np.asarray(a) for a in result]
    if any(a.shape != (ncube,) for a in arrays):
        raise CubeKernelError(
            f"{symbol} returned arrays of shapes {[a.shape for a in arrays]}; "
            f"expected ({ncube},) each")
    return SpaxelSums(*(np.asarray(a, dtype=np.float64) for a in arrays[:4]))


def _pad_points(npt: int, nwave: int) -> int:
    """Dummy points needed so that npt >= nwave (the drizzle C code reads dwave[0:nwave])."""
    return max(0, nwave - npt)


def drizzle_cube_kernel(
    xcoord: np.ndarray, ycoord: np.ndarray, zcoord: np.ndarray, cdelt3_normal: np.ndarray,
    coord1: np.ndarray, coord2: np.ndarray, wave: np.ndarray, dwave: np.ndarray,
    flux: np.ndarray, err: np.ndarray, slice_no: np.ndarray,
    corners: tuple[np.ndarray, ...], *, cdelt1: float, cdelt2: float,
    linear: bool = True,
) -> SpaxelSums:
    """3-D drizzle of detector pixels onto a cube grid with jwst's ``cube_wrapper_driz``.

    Parameters
    ----------
    xcoord, ycoord : numpy.ndarray
        Spaxel-centre coordinates of the cube axes in the cube tangent plane (arcsec).
    zcoord, cdelt3_normal : numpy.ndarray
        Wavelength of every plane's centre and the plane widths (µm).
    coord1, coord2 : numpy.ndarray
        Pixel centres in the cube tangent plane (arcsec; see :func:`sky_to_cube_plane`).
    wave, dwave : numpy.ndarray
        Pixel-centre wavelength and wavelength width (µm).
    flux, err : numpy.ndarray
        Pixel surface brightness and its error.
    slice_no : numpy.ndarray
        Slice number of each pixel (used by jwst only for DQ flagging, which is off here).
    corners : (xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4)
        Pixel footprint corners in the tangent plane (arcsec), in order around the footprint.
    cdelt1, cdelt2 : float
        Spaxel size (arcsec).
    linear : bool
        Whether the wavelength grid is linear.

    Returns
    -------
    SpaxelSums
        Sums for the ``len(zcoord) × len(ycoord) × len(xcoord)`` voxels.
    """
    nx, ny, nz = len(xcoord), len(ycoord), len(zcoord)
    ncube = nx * ny * nz
    arrays = [coord1, coord2, wave, flux, err, slice_no, *corners, dwave]
    pad = _pad_points(len(wave), nz)
    if pad:  # far from every plane: contributes nothing
        far = float(np.min(zcoord)) - 1.0e6
        fill = [0.0, 0.0, far, 0.0, 0.0, 0.0] + [0.0] * 8 + [0.0]
        arrays = [np.concatenate([np.asarray(a, dtype=float), np.full(pad, v)])
                  for a, v in zip(arrays, fill, strict=True)]
    c1, c2, wv, fl, er, sl, xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4, dw = map(_f8, arrays)
    npt = len(wv)
    det = np.zeros(npt, dtype=np.float64)
    z3 = _f8(cdelt3_normal)
    result = _cube_kernel("cube_match_sky_driz", "cube_wrapper_driz")(
        _INSTRUMENT_NIRSPEC, 0, 0, 0, _OVERLAP_PARTIAL, _OVERLAP_FULL,
        _f8(xcoord), _f8(ycoord), _f8(zcoord), c1, c2, wv, fl, er, sl,
        xi1, eta1, xi2, eta2, xi3, eta3, xi4, eta4, dw, z3,
        float(cdelt1), float(cdelt2), float(np.nanmean(z3)), int(bool(linear)),
        det, det, -1,
    )
    return _unpack(result, ncube, "cube_wrapper_driz")


def shepard_cube_kernel(
    xcoord: np.ndarray, ycoord: np.ndarray, zcoord: np.ndarray, cdelt3_normal: np.ndarray,
    coord1: np.ndarray, coord2: np.ndarray, wave: np.ndarray,
    flux: np.ndarray, err: np.ndarray, slice_no: np.ndarray, *,
    weighting: str, cdelt1: float, cdelt2: float, rois: float, roiw: float,
    weight_power: float = 2.0, softrad: float = 0.01, scalerad: float = 0.1,
) -> SpaxelSums:
    """Modified-Shepard (point cloud) combination with jwst's ``cube_wrapper``.

    Parameters
    ----------
    xcoord, ycoord, zcoord, cdelt3_normal, coord1, coord2, wave, flux, err, slice_no
        As for :func:`drizzle_cube_kernel`.
    weighting : {"emsm", "msm"}
        Exponential or inverse-distance-power modified Shepard weighting.
    cdelt1, cdelt2 : float
        Spaxel size (arcsec).
    rois, roiw : float
        Spatial (arcsec) and spectral (µm) region of interest.
    weight_power, softrad : float
        ``msm`` power and softening radius.
    scalerad : float
        ``emsm`` scale radius (arcsec).

    Returns
    -------
    SpaxelSums
    """
    if weighting not in _WEIGHT_TYPES:
        raise ValueError(f"weighting must be 'emsm' or 'msm', not {weighting!r}")
    nx, ny, nz = len(xcoord), len(ycoord), len(zcoord)
    ncube = nx * ny * nz
    npt = len(wave)

    def const(v: float) -> np.ndarray:
        return np.full(npt, float(v))

    result = _cube_kernel("cube_match_sky_pointcloud", "cube_wrapper")(
        _INSTRUMENT_NIRSPEC, 0, _WEIGHT_TYPES[weighting], 0, 0, _OVERLAP_PARTIAL, _OVERLAP_FULL,
        _f8(xcoord), _f8(ycoord), _f8(zcoord), _f8(coord1), _f8(coord2), _f8(wave),
        _f8(flux), _f8(err), _f8(slice_no),
        const(rois), const(roiw), const(scalerad), const(weight_power), const(softrad),
        _f8(cdelt3_normal), float(roiw), float(cdelt1), float(cdelt2),
    )
    return _unpack(result, ncube, "cube_wrapper")


def sky_to_cube_plane(crval1: float, crval2: float, ra: np.ndarray, dec: np.ndarray,
                      rot_angle: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec (deg) to the cube's tangent plane (arcsec) with jwst's ``coord.radec2std``.

    ``xi`` increases to the west (opposite to RA) and the frame is rotated by ``rot_angle``
    degrees, exactly as ``IFUCubeData`` maps pixels to the cube.
    """
    from jwst.cube_build import coord

    xi, eta = coord.radec2std(crval1, crval2, np.asarray(ra, dtype=float),
                              np.asarray(dec, dtype=float), rot_angle)
    return np.asarray(xi, dtype=float), np.asarray(eta, dtype=float)


def finish_spaxels(sums: SpaxelSums, shape: tuple[int, int, int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Final (flux, err, dq, weightmap) cubes from accumulated sums, as ``ifu_cube.py`` does.

    * ``find_spaxel_flux``: where ``iflux > 0``, flux /= weight and var /= weight².
    * ``set_final_dq_flags`` with DQ flagging from the instrument footprint skipped: spaxels
      with weight > 0 are good (0), all others ``NON_SCIENCE | DO_NOT_USE``.
    * ``setup_final_ifucube_model``: NaN flux and var where DO_NOT_USE; err = sqrt(var);
      weightmap = iflux (number of contributing pixels).

    Returns
    -------
    flux, err : numpy.ndarray of float32, shape ``(nz, ny, nx)``
    dq : numpy.ndarray of uint32
    weightmap : numpy.ndarray of float32
    """
    flux = sums.flux.copy()
    var = sums.var.copy()
    good = sums.iflux > 0
    flux[good] = flux[good] / sums.weight[good]
    var[good] = var[good] / (sums.weight[good] * sums.weight[good])
    dq = np.where(sums.weight > 0, 0, NON_SCIENCE | DO_NOT_USE).astype(np.uint32)
    bad = (dq & DO_NOT_USE) != 0
    flux[bad] = np.nan
    var[bad] = np.nan
    err = np.sqrt(var)
    return (flux.reshape(shape).astype(np.float32), err.reshape(shape).astype(np.float32),
            dq.reshape(shape), sums.iflux.reshape(shape).astype(np.float32))


def check_cube_kernels() -> None:
    """Call every wrapped jwst symbol on a tiny input and verify the results.

    Raises
    ------
    CubeKernelError
        Naming the symbol whose import, call convention, return value or arithmetic differs
        from what this module was written against (see ``CUBE_KERNEL_SIGNATURES``).
    """
    # 3 × 3 spaxels of 0.125", 2 planes of 2**-10 µm; one pixel exactly on the central spaxel
    # of plane 0 and one far away in wavelength.
    s = 0.125
    dz = 2.0**-10
    xc = np.array([-s, 0.0, s])
    zc = np.array([4.0, 4.0 + dz])
    cd3 = np.full(2, dz)
    c1 = np.array([0.0, 0.0])
    c2 = np.array([0.0, 0.0])
    wave = np.array([4.0, 3.0])
    flux = np.array([3.0, 5.0])
    err = np.array([0.5, 0.5])
    h = s / 2
    corners = (c1 - h, c2 - h, c1 + h, c2 - h, c1 + h, c2 + h, c1 - h, c2 + h)
    symbol = "jwst.cube_build.cube_match_sky_driz.cube_wrapper_driz"
    try:
        got = drizzle_cube_kernel(xc, xc, zc, cd3, c1, c2, wave, np.full(2, dz), flux, err,
                                  np.ones(2), corners, cdelt1=s, cdelt2=s)
    except CubeKernelError:
        raise
    except Exception as exc:
        raise CubeKernelError(
            f"{symbol} call failed ({type(exc).__name__}: {exc}); expected "
            f"{CUBE_KERNEL_SIGNATURES[symbol]}") from exc
    centre = 4  # plane 0, iy = 1, ix = 1
    expect_w = s * s * dz
    ok = (np.isclose(got.weight[centre], expect_w, rtol=1e-9)
          and np.isclose(got.flux[centre], 3.0 * expect_w, rtol=1e-9)
          and np.isclose(got.var[centre], (0.5 * expect_w) ** 2, rtol=1e-9)
          and got.iflux[centre] == 1.0
          and np.isclose(got.weight.sum(), expect_w, rtol=1e-6))
    if not ok:
        raise CubeKernelError(
            f"{symbol} returned unexpected sums for a pixel covering one spaxel exactly: "
            f"weight {got.weight[centre]!r} (expected {expect_w!r}), flux {got.flux[centre]!r}")

    symbol = "jwst.cube_build.cube_match_sky_pointcloud.cube_wrapper"
    try:
        emsm = shepard_cube_kernel(xc, xc, zc, cd3, c1, c2, np.array([4.0, 3.0]), flux, err,
                                   np.ones(2), weighting="emsm", cdelt1=s, cdelt2=s, rois=0.13,
                                   roiw=dz / 2, scalerad=0.1)
        msm = shepard_cube_kernel(xc, xc, zc, cd3, c1, c2, np.array([4.0, 3.0]), flux, err,
                                  np.ones(2), weighting="msm", cdelt1=s, cdelt2=s, rois=0.13,
                                  roiw=dz / 2, weight_power=2.0, softrad=0.01)
    except CubeKernelError:
        raise
    except Exception as exc:
        raise CubeKernelError(
            f"{symbol} call failed ({type(exc).__name__}: {exc}); expected "
            f"{CUBE_KERNEL_SIGNATURES[symbol]}") from exc
    neighbour = 5  # plane 0, iy = 1, ix = 2: one spaxel away
    ok = (np.isclose(emsm.weight[centre], 1.0)
          and np.isclose(emsm.weight[neighbour], np.exp(-1.0 / (0.1 / s)))
          and np.isclose(msm.weight[centre], 1.0 / 0.01)
          and np.isclose(msm.weight[neighbour], 1.0)
          and np.isclose(emsm.flux[centre], 3.0) and emsm.iflux[centre] == 1.0
          and emsm.weight[9:].sum() == 0.0)
    if not ok:
        raise CubeKernelError(
            f"{symbol} returned unexpected Shepard weights: emsm centre/neighbour "
            f"{emsm.weight[centre]!r}/{emsm.weight[neighbour]!r}, msm "
            f"{msm.weight[centre]!r}/{msm.weight[neighbour]!r}")

    symbol = "jwst.cube_build.coord.radec2std"
    try:
        xi, eta = sky_to_cube_plane(10.0, 0.0, np.array([10.0 + 1 / 3600]), np.array([1 / 3600]))
    except Exception as exc:
        raise CubeKernelError(f"{symbol} call failed ({type(exc).__name__}: {exc})") from exc
    if not (np.isclose(xi[0], -1.0, atol=1e-6) and np.isclose(eta[0], 1.0, atol=1e-6)):
        raise CubeKernelError(
            f"{symbol} no longer maps 1\" east/north to xi = -1, eta = +1 (got {xi}, {eta})")
