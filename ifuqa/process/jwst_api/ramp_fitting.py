"""jwst's ``jump`` and ``ramp_fitting`` steps: jumps detected and slopes fitted on a simulated ramp.

:func:`fit_ramps` runs ``jwst.jump.JumpStep`` and ``jwst.ramp_fitting.RampFitStep`` through their
``process`` methods, with uniform in-memory GAIN and READNOISE reference models given as step
overrides, so no CRDS lookup happens. It is the ramp-fitting stage the simulator is handed
(:func:`ifuqa.simulate.simulate` with ``ramp_fitter=``) for scenes simulated with ramps.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.process.jwst_api._api import ApiSpec, resolve

__all__ = ["REQUIRED_API", "RampFitResult", "check_behaviour", "fit_ramps"]

_JUMP_MOD = "jwst.jump"
_RAMP_FIT_MOD = "jwst.ramp_fitting"

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    (_JUMP_MOD, "JumpStep.process"): ("self", "step_input"),
    (_RAMP_FIT_MOD, "RampFitStep.process"): ("self", "step_input"),
}
"""The jwst symbols :func:`fit_ramps` calls."""

_RAMP_STEP_REFERENCES = {"JumpStep": {"gain", "readnoise"}, "RampFitStep": {"gain", "readnoise"}}
"""Reference types fit_ramps supplies as overrides; a step that needs another would try CRDS."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify that both steps need only the references :func:`fit_ramps` supplies.

    Returns
    -------
    checked, problems : list of str
    """
    checked: list[str] = []
    problems: list[str] = []
    for step_name, module in (("JumpStep", _JUMP_MOD), ("RampFitStep", _RAMP_FIT_MOD)):
        try:
            step_class = resolve(module, step_name)
        except (ImportError, AttributeError):
            continue  # reported by the signature check
        needed = set(getattr(step_class, "reference_file_types", []))
        if needed != _RAMP_STEP_REFERENCES[step_name]:
            problems.append(f"changed: {module}.{step_name} reference files are {sorted(needed)}; "
                            f"fit_ramps supplies {sorted(_RAMP_STEP_REFERENCES[step_name])}")
        else:
            checked.append(f"{module}.{step_name} references {sorted(needed)}")
    return checked, problems


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
