"""NIRSpec H2RG detector noise of a simulated exposure: read noise with 1/f structure, Poisson
noise.

Orientation
-----------
All public images are in the pipeline (DMS) orientation: dispersion along x (axis 1). Noise is
generated physically in the *detector readout frame* used by NSClean
(:mod:`jwst.clean_flicker_noise.nsclean`) and then oriented to DMS:

* detector frame: ``nlines`` rows (slow scan, one *line* after another) and four outputs that are
  vertical strips of 512 columns each; within an output the fast scan runs along the row.
  Outputs 0 and 2 read towards increasing column, outputs 1 and 3 towards decreasing column
  (alternate H2RG outputs scan in opposite directions).
* NRS1: ``dms = det.T``; NRS2: ``dms = det[::-1].T`` (NSClean goes back with ``dms.T`` and
  ``dms.T[::-1]``).

In DMS orientation the outputs are therefore horizontal strips of 512 *rows*, the fast scan runs
along y within a strip and the slow scan along x, so 1/f noise shows up as **vertical banding**
(perpendicular to the dispersion).

Read-noise model (per frame read, e⁻; defaults from ``/work/shared/KNOWN_ISSUES.md``)
---------------------------------------------------------------------------------
* white read noise, ``white_e`` = 5.2, times :data:`IRS2_WHITE_NOISE_SCALE` for IRS2 readouts;
* correlated pink (1/f) noise, ``correlated_pink_e`` = 3.0: one time stream in readout order
  (10 µs per pixel, 512 pixels + 12 overhead samples per line and output) shared by all four
  outputs;
* uncorrelated pink noise, ``uncorrelated_pink_e`` = 1.0: one independent stream per output;
* alternating-column noise (ACN), ``acn_e`` = 0.5: per line and output, one Gaussian offset for
  the even and one for the odd fast-scan samples;
* picture frame, ``picture_frame_e`` = 0.3: a smooth additive pattern that is largest at the
  detector edges. Each of the four edges contributes ``a·exp(−d/λ)`` with ``d`` the distance (px)
  from that edge, ``λ =`` :data:`PICTURE_FRAME_SCALE_PX` and an independent amplitude
  ``a ~ N(0, picture_frame_e²)`` per frame, so the rms at an edge (away from corners) is
  ``picture_frame_e`` and it falls to ~0 in the middle of the detector.

Pink noise has a one-sided power spectral density ∝ 1/f from 1/(stream length) to the Nyquist
frequency (see :func:`pink_noise`); IRS2 reference correction does not remove it (NS-IFU03).

Rates
-----
:func:`rate_noise` returns the read-noise contribution to an unweighted least-squares slope over
``ngroups`` groups. Per-group noise (white and 1/f) is treated as independent between groups, so
the slope noise is a linear combination of independent frames with total weight
``sqrt(12 / (N (N² − 1))) / t_group``; one equivalent frame with that scale is drawn instead of
``N`` frames. Frame averaging within groups (NRS, NRSIRS2) is *not* modelled: a group has the noise
of one frame read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.fft import irfft, next_fast_len

from ifuqa.instrument.readout import (
    LINE_OVERHEAD_PX,
    N_OUTPUTS,
    check_detector,
    check_shape,
    detector_to_dms,
)

IRS2_WHITE_NOISE_SCALE = 0.7
"""Effective white read noise per frame of IRS2 readouts (NRSIRS2, NRSIRS2RAPID) relative to
traditional readouts (NRS, NRSRAPID). IRS2's interleaved reference pixels (Rauscher et al. 2017,
PASP 129, 105003) lower the white read noise per frame; ~0.7 is the simulation's assumption. The
1/f components are left unchanged (NS-IFU03)."""
PICTURE_FRAME_SCALE_PX = 100.0
"""e-folding distance (px) of the picture-frame pattern from each detector edge."""


# ----------------------------------------------------------------------------- noise model


@dataclass(frozen=True)
class NoiseModel:
    """Read-noise amplitudes of one frame read (e⁻ rms) and the readout pattern.

    Parameters
    ----------
    white_e : float
        White read noise per frame of a traditional readout (e⁻).
    correlated_pink_e : float
        rms of the pink (1/f) noise stream shared by all outputs (e⁻).
    uncorrelated_pink_e : float
        rms of the independent pink noise stream of each output (e⁻).
    acn_e : float
        rms of the alternating-column (even/odd fast-scan sample) offsets per line (e⁻).
    picture_frame_e : float
        rms of the picture-frame pattern at a detector edge (e⁻).
    readpatt : str
        Readout pattern (``NRSIRS2RAPID``, ``NRSIRS2``, ``NRSRAPID``, ``NRS``).
    """

    white_e: float = 5.2
    correlated_pink_e: float = 3.0
    uncorrelated_pink_e: float = 1.0
    acn_e: float = 0.5
    picture_frame_e: float = 0.3
    readpatt: str = "NRSIRS2RAPID"

    def __post_init__(self) -> None:
        for name in ("white_e", "correlated_pink_e", "uncorrelated_pink_e", "acn_e",
                     "picture_frame_e"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"NoiseModel.{name} must be finite and >= 0, got {value!r}")

    def scaled(self, *, white: float = 1.0, one_over_f: float = 1.0) -> NoiseModel:
        """A copy with white noise × ``white`` and every correlated term × ``one_over_f``.

        Parameters
        ----------
        white : float
            Factor on ``white_e``.
        one_over_f : float
            Factor on the pink, ACN and picture-frame amplitudes.

        Returns
        -------
        NoiseModel
        """
        return replace(
            self,
            white_e=self.white_e * white,
            correlated_pink_e=self.correlated_pink_e * one_over_f,
            uncorrelated_pink_e=self.uncorrelated_pink_e * one_over_f,
            acn_e=self.acn_e * one_over_f,
            picture_frame_e=self.picture_frame_e * one_over_f,
        )

    @property
    def irs2(self) -> bool:
        """True for IRS2 readout patterns (``NRSIRS2*``)."""
        return self.readpatt.upper().startswith("NRSIRS2")

    @property
    def white_frame_e(self) -> float:
        """Effective white read noise of one frame read (e⁻), including the IRS2 reduction."""
        return self.white_e * (IRS2_WHITE_NOISE_SCALE if self.irs2 else 1.0)

    def one_over_f_rms(self, shape: tuple[int, int] = (2048, 2048)) -> float:
        """Expected per-pixel rms (e⁻) of :func:`one_over_f_frame` averaged over an image.

        Parameters
        ----------
        shape : tuple of int
            Image shape (DMS orientation).

        Returns
        -------
        float
        """
        ny, nx = check_shape(shape)
        pf_ms = 0.0
        if self.picture_frame_e > 0:
            strip = -(-ny // N_OUTPUTS)
            prof_l, prof_c = _edge_profiles(nx), _edge_profiles(N_OUTPUTS * strip)
            pf_ms = self.picture_frame_e**2 * float((prof_l**2).mean() * 2 + (prof_c**2).mean() * 2)
        return math.sqrt(self.correlated_pink_e**2 + self.uncorrelated_pink_e**2
                         + self.acn_e**2 + pf_ms)


@dataclass(frozen=True)
class RateNoise:
    """Read-noise contribution to a count-rate image.

    Attributes
    ----------
    image : numpy.ndarray
        Noise to add to the rate (float64, e⁻/s): white + 1/f.
    white_sigma : float
        Per-pixel sigma of the white part of ``image`` (e⁻/s).
    banding_sigma : float
        Expected rms of the 1/f part of ``image`` (pinks, ACN, picture frame; e⁻/s).
    """

    image: np.ndarray
    white_sigma: float
    banding_sigma: float


def _edge_profiles(n: int) -> np.ndarray:
    """exp(−d/λ) from the low edge of an axis of length ``n`` (the high edge is its reverse)."""
    return np.exp(-np.arange(n) / PICTURE_FRAME_SCALE_PX)


def slope_weight(ngroups: int, group_time_s: float) -> float:
    """Slope sigma per unit per-group sigma of an unweighted least-squares fit.

    Parameters
    ----------
    ngroups : int
        Number of groups (≥ 2).
    group_time_s : float
        Time between groups (s).

    Returns
    -------
    float
        ``sqrt(12 / (N (N² − 1))) / t_group`` (1/s).
    """
    n = int(ngroups)
    if n < 2:
        raise ValueError(f"ngroups must be >= 2 for a slope fit, got {ngroups!r}")
    if not (np.isfinite(group_time_s) and group_time_s > 0):
        raise ValueError(f"group_time_s must be > 0, got {group_time_s!r}")
    return math.sqrt(12.0 / (n * (n * n - 1.0))) / float(group_time_s)


# ----------------------------------------------------------------------------- 1/f noise


def pink_noise(nsamples: int, rms: float, rng: np.random.Generator, *,
               nstreams: int | None = None) -> np.ndarray:
    """Gaussian noise with a one-sided power spectral density ∝ 1/f.

    The spectrum is complex Gaussian with amplitudes ∝ f^−1/2 at the frequencies ``k/n_fft``
    (``k ≥ 1``, zero mean), inverse-FFT'd and truncated to ``nsamples``; ``n_fft`` is the next
    fast FFT length ≥ ``nsamples``. The result is scaled so that the *expected* per-sample
    variance is ``rms²`` (single realisations scatter around it, mostly through the lowest
    frequencies).

    Parameters
    ----------
    nsamples : int
        Length of each stream.
    rms : float
        Expected rms per sample.
    rng : numpy.random.Generator
        Random generator.
    nstreams : int, optional
        Number of independent streams; if given, the result has shape ``(nstreams, nsamples)``.

    Returns
    -------
    numpy.ndarray
    """
    n = int(nsamples)
    if n < 2:
        raise ValueError(f"nsamples must be >= 2, got {nsamples!r}")
    lead = () if nstreams is None else (int(nstreams),)
    nfft = next_fast_len(n, real=True)
    k = np.arange(1, nfft // 2 + 1, dtype=float)
    amp = k**-0.5
    weight = np.full(k.size, 4.0)
    if nfft % 2 == 0:
        weight[-1] = 1.0  # irfft keeps only the real part of the Nyquist term
    var = float((weight * amp**2).sum()) / nfft**2
    spec = np.zeros((*lead, nfft // 2 + 1), dtype=complex)
    g = rng.standard_normal((*lead, 2, k.size))
    spec[..., 1:] = amp * (g[..., 0, :] + 1j * g[..., 1, :])
    out = irfft(spec, n=nfft, axis=-1)[..., :n]
    out *= rms / math.sqrt(var)
    return out


def one_over_f_frame(shape: tuple[int, int] = (2048, 2048), *, model: NoiseModel,
                     rng: np.random.Generator, detector: str = "NRS1") -> np.ndarray:
    """One frame read of correlated read noise (pinks + ACN + picture frame), e⁻, DMS orientation.

    The time streams are generated in readout order (``nlines = shape[1]`` lines of
    ``512 + 12`` samples per output for a full frame; the fast-scan length per output is
    ``ceil(shape[0] / 4)``), the overhead samples are dropped, odd outputs are mirrored along the
    fast scan and the detector frame is oriented to DMS for ``detector`` (see module docstring).
    Components with zero amplitude are skipped (and draw no random numbers).

    Parameters
    ----------
    shape : tuple of int
        Image shape (DMS orientation).
    model : NoiseModel
        Noise amplitudes.
    rng : numpy.random.Generator
        Random generator.
    detector : {"NRS1", "NRS2"}
        Detector, which sets the orientation.

    Returns
    -------
    numpy.ndarray
        float64 array of ``shape``.
    """
    ny, nx = check_shape(shape)
    detector = check_detector(detector)
    strip = -(-ny // N_OUTPUTS)
    nlines = nx
    line_len = strip + LINE_OVERHEAD_PX
    nsamp = nlines * line_len
    det = np.zeros((nlines, N_OUTPUTS * strip))
    blocks = [det[:, j * strip:(j + 1) * strip] for j in range(N_OUTPUTS)]
    # readout-order views: odd outputs scan towards decreasing column
    ordered = [b if j % 2 == 0 else b[:, ::-1] for j, b in enumerate(blocks)]

    if model.correlated_pink_e > 0:
        corr = pink_noise(nsamp, model.correlated_pink_e, rng)
        corr = corr.reshape(nlines, line_len)[:, :strip]
        for view in ordered:
            view += corr
    if model.uncorrelated_pink_e > 0:
        unc = pink_noise(nsamp, model.uncorrelated_pink_e, rng, nstreams=N_OUTPUTS)
        unc = unc.reshape(N_OUTPUTS, nlines, line_len)[:, :, :strip]
        for j, view in enumerate(ordered):
            view += unc[j]
    if model.acn_e > 0:
        offsets = rng.normal(0.0, model.acn_e, size=(N_OUTPUTS, nlines, 2))
        parity = np.arange(strip) % 2
        for j, view in enumerate(ordered):
            view += offsets[j][:, parity]
    if model.picture_frame_e > 0:
        amps = rng.normal(0.0, model.picture_frame_e, size=4)
        prof_l = _edge_profiles(nlines)
        prof_c = _edge_profiles(det.shape[1])
        det += (amps[0] * prof_l + amps[1] * prof_l[::-1])[:, None]
        det += (amps[2] * prof_c + amps[3] * prof_c[::-1])[None, :]
    return np.ascontiguousarray(detector_to_dms(det, detector)[:ny, :nx])


def read_noise_frame(shape: tuple[int, int] = (2048, 2048), *, model: NoiseModel,
                     rng: np.random.Generator, detector: str = "NRS1") -> np.ndarray:
    """One frame read of read noise: white (``model.white_frame_e``) + :func:`one_over_f_frame`.

    Parameters
    ----------
    shape : tuple of int
        Image shape (DMS orientation).
    model : NoiseModel
        Noise amplitudes.
    rng : numpy.random.Generator
        Random generator.
    detector : {"NRS1", "NRS2"}
        Detector, which sets the orientation of the 1/f pattern.

    Returns
    -------
    numpy.ndarray
        float64 e⁻.
    """
    frame = one_over_f_frame(shape, model=model, rng=rng, detector=detector)
    if model.white_frame_e > 0:
        frame += rng.normal(0.0, model.white_frame_e, size=frame.shape)
    return frame


def rate_noise(shape: tuple[int, int], *, ngroups: int, group_time_s: float,
               rng: np.random.Generator, model: NoiseModel,
               detector: str = "NRS1") -> RateNoise:
    """Read noise of an unweighted least-squares slope over ``ngroups`` groups (e⁻/s).

    One white frame and one :func:`one_over_f_frame` are drawn and scaled by
    :func:`slope_weight`, which is exact for Gaussian noise independent between groups.

    Parameters
    ----------
    shape : tuple of int
        Image shape (DMS orientation).
    ngroups : int
        Groups in the integration (≥ 2).
    group_time_s : float
        Group time (s).
    rng : numpy.random.Generator
        Random generator.
    model : NoiseModel
        Per-frame noise amplitudes and readout pattern.
    detector : {"NRS1", "NRS2"}
        Detector, which sets the orientation of the 1/f pattern.

    Returns
    -------
    RateNoise

    Raises
    ------
    ValueError
        If ``ngroups < 2`` or ``group_time_s <= 0``.
    """
    w = slope_weight(ngroups, group_time_s)
    ny, nx = check_shape(shape)
    white_sigma = model.white_frame_e * w
    image = one_over_f_frame((ny, nx), model=model, rng=rng, detector=detector)
    image *= w
    if white_sigma > 0:
        image += rng.normal(0.0, white_sigma, size=image.shape)
    return RateNoise(image=image, white_sigma=float(white_sigma),
                     banding_sigma=float(model.one_over_f_rms((ny, nx)) * w))


def add_poisson(signal_e_per_s: np.ndarray, exposure_time_s: float,
                rng: np.random.Generator) -> np.ndarray:
    """Poisson realisation of a rate: ``Poisson(signal · t) / t`` (e⁻/s).

    Negative expected counts are treated as 0; non-finite inputs are returned unchanged
    (NaN stays NaN).

    Parameters
    ----------
    signal_e_per_s : numpy.ndarray
        Expected rate (e⁻/s).
    exposure_time_s : float
        Exposure time (s), > 0.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape.
    """
    if not (np.isfinite(exposure_time_s) and exposure_time_s > 0):
        raise ValueError(f"exposure_time_s must be > 0, got {exposure_time_s!r}")
    signal = np.asarray(signal_e_per_s, dtype=float)
    finite = np.isfinite(signal)
    lam = np.where(finite & (signal > 0), signal, 0.0) * exposure_time_s
    out = rng.poisson(lam).astype(float) / exposure_time_s
    if not finite.all():
        out[~finite] = signal[~finite]
    return out
