"""Up-the-ramp exposures: simulate the groups, fit them with jwst's jump detection and ramp fitting.

By default the simulator writes count-rate images straight away and injects only the cosmic rays
that jump detection would have missed (a statistical model). With ``[noise] ramps = true`` in a
scenario it instead builds every group of the integration — shot noise accumulating group by
group, white read noise in every read, *every* cosmic-ray hit arriving at a random time — and turns
the ramps into a count rate with jwst's own ``JumpStep`` and ``RampFitStep`` (through
:func:`ifuqa.process.jwst_api.ramp_fitting.fit_ramps`). Cosmic-ray rejection is then measured, not
assumed: a hit is *caught* when jump detection flags its pixel (``JUMP_DET``) or outlier detection
flags it (``OUTLIER``).

Model and simplifications
-------------------------
* Reads at ``t_i = (i + 1) · t_group`` (``i = 0 … N−1``; one frame per group, no group gap, as the
  NIRSpec RAPID and IRS2RAPID patterns); the reset is at ``t = 0``.
* A hit arrives at a uniform time in ``[0, N · t_group)`` and is present in every read after it;
  a hit before the first read only offsets the ramp and does not change the slope.
* Every read gets its own white read noise and its own 1/f frame
  (:func:`ifuqa.simulate.noise.one_over_f_frame`: pink noise in readout order, alternating-column
  noise, picture frame), so jump detection sees the correlated noise too and the rate's 1/f
  pattern comes out of jwst's slope fit. The READNOISE reference handed to jwst is the total
  correlated-double-sampling noise ``√2 · √(white² + 1/f rms²)``, as CRDS references measured
  on darks are.
* The detector is linear and does not saturate; non-linearity and persistence are not modelled.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ifuqa.simulate.artefacts import cosmic_ray_deposits
from ifuqa.simulate.noise import one_over_f_frame

if TYPE_CHECKING:
    from ifuqa.simulate.artefacts import CosmicRayDeposits
    from ifuqa.simulate.noise import NoiseModel

__all__ = [
    "RampRate",
    "arrival_groups",
    "cosmic_ray_slope_weights",
    "ramp_rate",
]


class FittedRamp(Protocol):
    """What a ramp-fitting stage returns: the rate image and its DQ, variances and error
    (DN/s), and the time each of its steps took."""

    rate_dn_s: np.ndarray
    dq: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    err: np.ndarray
    timings_s: dict[str, float]


class RampFitter(Protocol):
    """A ramp-fitting stage (jwst's jump and ramp-fit steps in ifuqa's processing layer)."""

    def __call__(self, ramp: np.ndarray, *, pixel_dq: np.ndarray, group_time_s: float,
                 detector: str, readpatt: str, gain: float,
                 readnoise_cds_dn: float) -> FittedRamp:
        """Fit a ``(1, ngroups, ny, nx)`` ramp in DN."""
        ...


@dataclass(frozen=True)
class RampRate:
    """A count-rate image fitted from simulated ramps, with the truth of its cosmic rays (e⁻/s).

    Attributes
    ----------
    rate_e : numpy.ndarray
        Fitted count rate (e⁻/s).
    var_poisson_e, var_rnoise_e : numpy.ndarray
        Ramp fitting's Poisson and read-noise variances of the rate ((e⁻/s)²).
    dq : numpy.ndarray
        Pixel DQ: the detector's own flags plus ramp fitting's (``JUMP_DET`` where a jump was
        found in any group).
    cr_mask : numpy.ndarray
        Pixels that received charge from a cosmic ray after the first read (bool).
    cr_rate_e : numpy.ndarray
        What the hits would add to an unweighted least-squares slope if no jump were detected
        (e⁻/s); zero for hits before the first read.
    n_hits : int
        Number of hits over the integration (all of them, not only the slope-changing ones).
    timings_s : dict
        Seconds spent building the ramps and in jwst's jump and ramp-fit steps.
    """

    rate_e: np.ndarray
    var_poisson_e: np.ndarray
    var_rnoise_e: np.ndarray
    dq: np.ndarray
    cr_mask: np.ndarray
    cr_rate_e: np.ndarray
    n_hits: int
    timings_s: dict[str, float] = field(default_factory=dict)


def cosmic_ray_slope_weights(ngroups: int, group_time_s: float) -> np.ndarray:
    """Slope (s⁻¹ per e⁻) that a charge step first present in group ``k`` adds to a fit.

    For an unweighted least-squares line through ``N`` equally spaced reads, a step of ``Q`` e⁻
    present in reads ``k … N−1`` changes the slope by ``Q · Σ_{i≥k} c_i / (t_group · Σ c_i²)``,
    with ``c_i = i − (N−1)/2``. The weight is 0 for ``k = 0`` (a hit before the first read) and
    largest for a hit in the middle of the ramp.

    Parameters
    ----------
    ngroups : int
        Groups in the integration (≥ 2).
    group_time_s : float
        Time between groups (s), > 0.

    Returns
    -------
    numpy.ndarray
        ``(ngroups,)`` weights, index = first group containing the step.
    """
    n = int(ngroups)
    if n < 2:
        raise ValueError(f"ngroups must be >= 2 for a slope fit, got {ngroups!r}")
    if not (math.isfinite(group_time_s) and group_time_s > 0):
        raise ValueError(f"group_time_s must be > 0, got {group_time_s!r}")
    c = np.arange(n) - (n - 1) / 2.0
    tail = np.cumsum(c[::-1])[::-1]  # Σ_{i≥k} c_i
    return tail / (group_time_s * float(np.sum(c * c)))


def arrival_groups(n_hits: int, ngroups: int, rng: np.random.Generator) -> np.ndarray:
    """First group that contains each hit, for arrival times uniform over the integration.

    Parameters
    ----------
    n_hits : int
        Number of hits.
    ngroups : int
        Groups in the integration.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``(n_hits,)`` integers in ``[0, ngroups)``; 0 means before the first read.
    """
    arrival = rng.uniform(0.0, float(ngroups), int(n_hits))
    return np.minimum(arrival.astype(np.int64), int(ngroups) - 1)


def _build_ramps(signal_e: np.ndarray, deposits: CosmicRayDeposits, first_group: np.ndarray, *,
                 ngroups: int, group_time_s: float, noise: NoiseModel, detector: str,
                 gain: float, poisson: bool, rng: np.random.Generator) -> np.ndarray:
    """``(1, ngroups, ny, nx)`` float32 ramp in DN, built one group at a time."""
    ny, nx = signal_e.shape
    ramp = np.empty((1, ngroups, ny, nx), dtype=np.float32)
    expected = np.clip(np.nan_to_num(signal_e, nan=0.0), 0.0, None) * group_time_s
    accumulated = np.zeros(ny * nx)
    lit_flat = np.flatnonzero(expected > 0)
    expected_lit = expected.ravel()[lit_flat]
    deposit_group = first_group[deposits.hit]
    white = np.float32(noise.white_frame_e)
    correlated = noise.one_over_f_rms((ny, nx)) > 0
    for g in range(ngroups):
        # charge collected between read g−1 (or the reset) and read g
        if poisson:
            accumulated[lit_flat] += rng.poisson(expected_lit)
        else:
            accumulated[lit_flat] += expected_lit
        arriving = deposit_group == g
        if np.any(arriving):
            np.add.at(accumulated, deposits.pixel[arriving], deposits.charge_e[arriving])
        read = accumulated.reshape(ny, nx).astype(np.float32)
        if white > 0:
            read += rng.standard_normal((ny, nx), dtype=np.float32) * white
        if correlated:
            read += one_over_f_frame((ny, nx), model=noise, rng=rng,
                                         detector=detector).astype(np.float32)
        ramp[0, g] = read / np.float32(gain)
    return ramp


def ramp_rate(signal_e: np.ndarray, *, ngroups: int, group_time_s: float, detector: str,
              gain: float, noise: NoiseModel, poisson: bool, pixel_dq: np.ndarray,
              cosmic_ray_rate_per_cm2_s: float, rng: np.random.Generator,
              fit_ramps: RampFitter) -> RampRate:
    """Simulate one integration's ramps and fit them with the ramp-fitting stage it is handed.

    Parameters
    ----------
    signal_e : numpy.ndarray
        Expected count rate of every source of charge (scene, background, warm pixels), e⁻/s.
    ngroups, group_time_s : int, float
        Groups in the integration and the time between them (s).
    detector : str
        ``NRS1`` or ``NRS2`` (sets the orientation of the 1/f pattern).
    gain : float
        e⁻ per DN.
    noise : ifuqa.simulate.noise.NoiseModel
        Read noise of one read (white and correlated) and the readout pattern.
    poisson : bool
        Draw shot noise group by group (else the expected charge accumulates exactly).
    pixel_dq : numpy.ndarray
        Detector DQ (dead, hot, reference pixels), passed to jwst as the ramp's PIXELDQ.
    cosmic_ray_rate_per_cm2_s : float
        Hit rate of :func:`ifuqa.simulate.artefacts.cosmic_ray_deposits` over the whole integration.
    rng : numpy.random.Generator
        Random generator.
    fit_ramps : RampFitter
        The ramp-fitting stage: jwst's jump and ramp-fit steps
        (:func:`ifuqa.process.jwst_api.ramp_fitting.fit_ramps`).

    Returns
    -------
    RampRate
    """
    shape = signal_e.shape
    deposits = cosmic_ray_deposits(shape, ngroups * group_time_s, rng,
                                       rate_per_cm2_s=cosmic_ray_rate_per_cm2_s)
    first_group = arrival_groups(deposits.n_hits, ngroups, rng)
    start = time.perf_counter()
    ramp = _build_ramps(signal_e, deposits, first_group, ngroups=ngroups,
                        group_time_s=group_time_s, noise=noise, detector=detector, gain=gain,
                        poisson=poisson, rng=rng)
    built = time.perf_counter() - start
    per_read_e = math.hypot(noise.white_frame_e, noise.one_over_f_rms(shape))
    fitted = fit_ramps(ramp, pixel_dq=pixel_dq, group_time_s=group_time_s, detector=detector,
                       readpatt=noise.readpatt, gain=gain,
                       readnoise_cds_dn=math.sqrt(2.0) * per_read_e / gain)
    del ramp
    rate_e = fitted.rate_dn_s.astype(float) * gain
    weights = cosmic_ray_slope_weights(ngroups, group_time_s)
    cr_rate = deposits.image(weights[first_group])
    return RampRate(rate_e=rate_e,
                    var_poisson_e=fitted.var_poisson.astype(float) * gain**2,
                    var_rnoise_e=fitted.var_rnoise.astype(float) * gain**2,
                    dq=fitted.dq.astype(np.uint32), cr_mask=cr_rate > 0, cr_rate_e=cr_rate,
                    n_hits=deposits.n_hits,
                    timings_s={"build_ramps": built, **fitted.timings_s})
