"""NIRSpec H2RG detector effects: read noise with 1/f structure, Poisson noise, cosmic rays, DQ.

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
import warnings
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

__all__ = [
    "IRS2_WHITE_NOISE_SCALE",
    "LINE_OVERHEAD_PX",
    "N_OUTPUTS",
    "PICTURE_FRAME_SCALE_PX",
    "PIXEL_TIME_S",
    "REFERENCE_BORDER_PX",
    "CosmicRayDeposits",
    "CosmicRayResult",
    "NoiseModel",
    "RateNoise",
    "add_poisson",
    "banding_amplitude",
    "column_power_spectrum",
    "cosmic_ray_deposits",
    "cosmic_rays",
    "dq_for_detector",
    "one_over_f_frame",
    "pink_noise",
    "rate_noise",
    "read_noise_frame",
    "slope_weight",
]

PIXEL_TIME_S = 10e-6
"""Pixel dwell time of the readout (s)."""
LINE_OVERHEAD_PX = 12
"""Overhead samples (pixel times) at the end of every line of an output."""
N_OUTPUTS = 4
"""Readout outputs per detector."""
IRS2_WHITE_NOISE_SCALE = 0.7
"""Effective white read noise per frame of IRS2 readouts (NRSIRS2, NRSIRS2RAPID) relative to
traditional readouts (NRS, NRSRAPID). IRS2's interleaved reference pixels (Rauscher et al. 2017,
PASP 129, 105003) lower the white read noise per frame; ~0.7 is the simulation's assumption. The
1/f components are left unchanged (NS-IFU03)."""
PICTURE_FRAME_SCALE_PX = 100.0
"""e-folding distance (px) of the picture-frame pattern from each detector edge."""
REFERENCE_BORDER_PX = 4
"""Width (px) of the reference-pixel border of the H2RG."""

# Cosmic rays: Landau-like (Moyal) deposited charge and a short track with charge diffusion.
_CR_MPV_E = 2400.0  # Moyal location: most probable deposit (e⁻)
_CR_WIDTH_E = 800.0  # Moyal scale (e⁻); median deposit ≈ 2400 + 0.788·800 ≈ 3030 e⁻
_CR_MIN_E = 100.0  # floor of the deposit (e⁻)
_CR_EXTRA_TRACK_MEAN = 2.0 / 3.0  # track length = 1 + Poisson(2/3) pixels → mean 5/3
_CR_NEIGHBOUR_FRACTION = 0.06  # fraction of a track pixel's charge in each 4-neighbour
_TRACK_DIRECTIONS = np.array([(0, 1), (1, 0), (1, 1), (1, -1)])


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
        ny, nx = _check_shape(shape)
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


@dataclass(frozen=True)
class CosmicRayResult:
    """Cosmic-ray hits of one exposure.

    Attributes
    ----------
    image : numpy.ndarray
        Deposited charge divided by the exposure time (float64, e⁻/s).
    mask : numpy.ndarray
        Pixels that received charge (bool).
    n_hits : int
        Number of hits.
    hit_centres : numpy.ndarray
        ``(n_hits, 2)`` integer (y, x) of the central pixel of each hit.
    """

    image: np.ndarray
    mask: np.ndarray
    n_hits: int
    hit_centres: np.ndarray


# ----------------------------------------------------------------------------- helpers


def _check_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"shape must be 2-D, got {shape!r}")
    ny, nx = (int(s) for s in shape)
    if ny < 1 or nx < 1:
        raise ValueError(f"shape must be positive, got {shape!r}")
    return ny, nx


def _check_detector(detector: str) -> str:
    det = detector.upper()
    if det not in ("NRS1", "NRS2"):
        raise ValueError(f"detector must be 'NRS1' or 'NRS2', got {detector!r}")
    return det


def _edge_profiles(n: int) -> np.ndarray:
    """exp(−d/λ) from the low edge of an axis of length ``n`` (the high edge is its reverse)."""
    return np.exp(-np.arange(n) / PICTURE_FRAME_SCALE_PX)


def _dms_to_det(image: np.ndarray, detector: str) -> np.ndarray:
    return image.T if detector == "NRS1" else image.T[::-1]


def _det_to_dms(det: np.ndarray, detector: str) -> np.ndarray:
    return det.T if detector == "NRS1" else det[::-1].T


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
    ny, nx = _check_shape(shape)
    detector = _check_detector(detector)
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
    return np.ascontiguousarray(_det_to_dms(det, detector)[:ny, :nx])


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
    ny, nx = _check_shape(shape)
    white_sigma = model.white_frame_e * w
    image = one_over_f_frame((ny, nx), model=model, rng=rng, detector=detector)
    image *= w
    if white_sigma > 0:
        image += rng.normal(0.0, white_sigma, size=image.shape)
    return RateNoise(image=image, white_sigma=float(white_sigma),
                     banding_sigma=float(model.one_over_f_rms((ny, nx)) * w))


# ----------------------------------------------------------------------------- photons, CRs, DQ


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


@dataclass(frozen=True)
class CosmicRayDeposits:
    """Charge that cosmic-ray hits left in individual pixels (before any time binning).

    Attributes
    ----------
    pixel : numpy.ndarray
        Flat pixel index (``y · nx + x``) of each deposit (int64).
    charge_e : numpy.ndarray
        Charge of each deposit (e⁻, float64).
    hit : numpy.ndarray
        Index of the hit each deposit belongs to (int64).
    n_hits : int
        Number of hits.
    hit_centres : numpy.ndarray
        ``(n_hits, 2)`` integer (y, x) of the central pixel of each hit.
    shape : tuple of int
        Image shape.
    """

    pixel: np.ndarray
    charge_e: np.ndarray
    hit: np.ndarray
    n_hits: int
    hit_centres: np.ndarray
    shape: tuple[int, int]

    def image(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Charge per pixel (e⁻), each hit's deposits optionally multiplied by ``weights[hit]``."""
        charge = self.charge_e if weights is None else self.charge_e * np.asarray(weights)[self.hit]
        ny, nx = self.shape
        return np.bincount(self.pixel, weights=charge, minlength=ny * nx).reshape(ny, nx)


def cosmic_ray_deposits(shape: tuple[int, int], duration_s: float, rng: np.random.Generator, *,
                        rate_per_cm2_s: float = 3.0, pixel_um: float = 18.0) -> CosmicRayDeposits:
    """Cosmic-ray hits over ``duration_s`` and the charge each left in each pixel.

    Model
    -----
    * number of hits ~ Poisson(rate · area · t), area = ``ny·nx·(pixel_um·1e−4)²`` cm²;
    * centres uniform over the image;
    * deposited charge Landau-like: a Moyal variate ``E = 2400 + 800·(−ln Z²)`` e⁻ (``Z`` standard
      normal), floored at 100 e⁻; median ≈ 3000 e⁻, long high-energy tail;
    * footprint: a straight track of ``1 + Poisson(2/3)`` pixels centred on the hit, in one of
      four directions (horizontal, vertical, two diagonals), sharing the charge equally; each
      track pixel keeps 76 % of its share and gives 6 % to each 4-neighbour (charge diffusion).
      A track of ``k`` pixels covers ``3k + 2`` pixels, 7 on average (fewer at the image edges
      and where hits overlap).

    Parameters
    ----------
    shape : tuple of int
        Image shape.
    duration_s : float
        Time over which hits accumulate (s), > 0.
    rng : numpy.random.Generator
        Random generator.
    rate_per_cm2_s : float
        Hit rate (cm⁻² s⁻¹); ≤ 0 gives no hits.
    pixel_um : float
        Pixel pitch (µm).

    Returns
    -------
    CosmicRayDeposits
    """
    ny, nx = _check_shape(shape)
    if not (np.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"the exposure (duration_s) must be > 0 s, got {duration_s!r}")
    area_cm2 = ny * nx * (pixel_um * 1e-4) ** 2
    expected = max(float(rate_per_cm2_s), 0.0) * area_cm2 * duration_s
    n_hits = int(rng.poisson(expected))
    centres = np.column_stack([rng.integers(0, ny, n_hits), rng.integers(0, nx, n_hits)])
    pixels, charges, hits = [], [], []
    if n_hits:
        z = rng.standard_normal(n_hits)
        with np.errstate(divide="ignore"):
            energy = _CR_MPV_E - _CR_WIDTH_E * np.log(z * z)
        energy = np.clip(np.nan_to_num(energy, posinf=_CR_MIN_E), _CR_MIN_E, None)
        length = 1 + rng.poisson(_CR_EXTRA_TRACK_MEAN, n_hits)
        direction = _TRACK_DIRECTIONS[rng.integers(0, len(_TRACK_DIRECTIONS), n_hits)]
        # track pixels: offsets j − (k−1)//2 along the direction
        hit = np.repeat(np.arange(n_hits), length)
        start = np.cumsum(length) - length
        j = np.arange(hit.size) - start[hit] - (length[hit] - 1) // 2
        ty = centres[hit, 0] + j * direction[hit, 0]
        tx = centres[hit, 1] + j * direction[hit, 1]
        share = energy[hit] / length[hit]
        f = _CR_NEIGHBOUR_FRACTION
        for (dy, dx), frac in (((0, 0), 1 - 4 * f), ((1, 0), f), ((-1, 0), f), ((0, 1), f),
                               ((0, -1), f)):
            py, px = ty + dy, tx + dx
            ok = (py >= 0) & (py < ny) & (px >= 0) & (px < nx)
            pixels.append(py[ok] * nx + px[ok])
            charges.append(share[ok] * frac)
            hits.append(hit[ok])
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
    return CosmicRayDeposits(
        pixel=np.concatenate(pixels).astype(np.int64) if pixels else empty_i,
        charge_e=np.concatenate(charges) if charges else empty_f,
        hit=np.concatenate(hits).astype(np.int64) if hits else empty_i,
        n_hits=n_hits, hit_centres=centres.astype(np.int64), shape=(ny, nx))


def cosmic_rays(shape: tuple[int, int], exposure_time_s: float, rng: np.random.Generator, *,
                rate_per_cm2_s: float = 3.0, pixel_um: float = 18.0) -> CosmicRayResult:
    """Cosmic-ray hits accumulated over an exposure, as charge / exposure time.

    The hits are those of :func:`cosmic_ray_deposits` (same model, same random draws).

    Parameters
    ----------
    shape : tuple of int
        Image shape.
    exposure_time_s : float
        Exposure time (s); the image is charge / exposure time.
    rng : numpy.random.Generator
        Random generator.
    rate_per_cm2_s : float
        Hit rate (cm⁻² s⁻¹); ≤ 0 gives no hits.
    pixel_um : float
        Pixel pitch (µm).

    Returns
    -------
    CosmicRayResult
    """
    deposits = cosmic_ray_deposits(shape, exposure_time_s, rng, rate_per_cm2_s=rate_per_cm2_s,
                                   pixel_um=pixel_um)
    image = deposits.image() / exposure_time_s
    return CosmicRayResult(image=image, mask=image > 0, n_hits=deposits.n_hits,
                           hit_centres=deposits.hit_centres)


def dq_for_detector(shape: tuple[int, int], rng: np.random.Generator, *,
                    hot_fraction: float = 1e-4, dead_fraction: float = 5e-5) -> np.ndarray:
    """Data-quality array: reference-pixel border plus random hot and dead pixels.

    ``REFERENCE_PIXEL`` is set on the :data:`REFERENCE_BORDER_PX`-pixel border; each pixel
    inside it is independently ``HOT`` with probability ``hot_fraction`` and ``DEAD | DO_NOT_USE``
    with probability ``dead_fraction`` (flag values from ``stdatamodels``). Only flags are made:
    hot pixels add no signal here.

    Parameters
    ----------
    shape : tuple of int
        Image shape.
    rng : numpy.random.Generator
        Random generator.
    hot_fraction, dead_fraction : float
        Fractions of science pixels flagged hot / dead.

    Returns
    -------
    numpy.ndarray
        uint32 DQ array.
    """
    from stdatamodels.jwst.datamodels import dqflags

    flags = dqflags.pixel
    ny, nx = _check_shape(shape)
    dq = np.zeros((ny, nx), dtype=np.uint32)
    b = REFERENCE_BORDER_PX
    ref = np.uint32(flags["REFERENCE_PIXEL"])
    dq[:b, :] |= ref
    dq[-b:, :] |= ref
    dq[:, :b] |= ref
    dq[:, -b:] |= ref
    inner = dq[b:-b, b:-b]
    if inner.size:
        u = rng.random(inner.shape)
        inner[u < hot_fraction] |= np.uint32(flags["HOT"])
        dead = (u >= hot_fraction) & (u < hot_fraction + dead_fraction)
        inner[dead] |= np.uint32(flags["DEAD"] | flags["DO_NOT_USE"])
    return dq


# ----------------------------------------------------------------------------- metrics


def _strip_column_medians(image: np.ndarray, mask: np.ndarray,
                          min_pixels: int) -> np.ndarray:
    """(n_outputs, nx) medians of masked finite pixels per column within each output strip."""
    image = np.asarray(image, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    if image.shape != mask.shape or image.ndim != 2:
        raise ValueError("image and mask must be 2-D arrays of the same shape")
    good = mask & np.isfinite(image)
    ny = image.shape[0]
    strip = -(-ny // N_OUTPUTS)
    data = np.where(good, image, np.nan)
    out = np.full((N_OUTPUTS, image.shape[1]), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        for j in range(N_OUTPUTS):
            rows = slice(j * strip, min((j + 1) * strip, ny))
            if rows.start >= ny:
                continue
            med = np.nanmedian(data[rows], axis=0)
            med[good[rows].sum(axis=0) < min_pixels] = np.nan
            out[j] = med
    return out


def banding_amplitude(image: np.ndarray, mask: np.ndarray, *, min_pixels: int = 16) -> float:
    """Robust rms of vertical banding (DMS orientation) in the ``mask`` pixels.

    For each output strip (``ceil(ny/4)`` rows) the median of every column over the masked,
    finite pixels is taken (columns with fewer than ``min_pixels`` such pixels are skipped); the
    global median is subtracted and ``1.4826·MAD`` of the column medians is returned.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (DMS orientation).
    mask : numpy.ndarray
        True where a pixel may be used (e.g. unilluminated).
    min_pixels : int
        Minimum pixels per column segment.

    Returns
    -------
    float
        Banding amplitude in the units of ``image``; NaN if no column segment qualifies.
    """
    meds = _strip_column_medians(image, mask, min_pixels)
    vals = meds[np.isfinite(meds)]
    if vals.size == 0:
        return float("nan")
    vals = vals - np.median(vals)
    return float(1.4826 * np.median(np.abs(vals - np.median(vals))))


def column_power_spectrum(image: np.ndarray, mask: np.ndarray, *,
                          kind: Literal["stream", "profile"] = "stream",
                          detector: str = "NRS1",
                          segment_length: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of the read-noise pattern, for 1/f slope checks.

    ``kind="stream"`` (default): the image is reordered into the four readout-ordered time
    streams of ``detector`` (overhead gaps ignored, so frequencies are in cycles per pixel read);
    pixels outside ``mask`` or non-finite are replaced by the median of the usable pixels of the
    same line and output (or of the image). The one-sided PSD is Welch-averaged over Hann-windowed
    segments of ``segment_length`` samples and over outputs.

    ``kind="profile"``: the per-output column medians of :func:`banding_amplitude` form one
    profile per output along x (one sample per line); missing columns are linearly
    interpolated, and the PSD (Hann window) is averaged over outputs. Frequencies are in cycles
    per column.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (DMS orientation).
    mask : numpy.ndarray
        True where a pixel may be used.
    kind : {"stream", "profile"}
        What to transform.
    detector : {"NRS1", "NRS2"}
        Detector orientation (``kind="stream"`` only).
    segment_length : int
        Welch segment length (``kind="stream"`` only); capped at the stream length.

    Returns
    -------
    freq : numpy.ndarray
        Frequencies (cycles per pixel read, or per column), DC excluded.
    power : numpy.ndarray
        One-sided power spectral density ((image units)² per cycle/px).
    """
    image = np.asarray(image, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    if image.shape != mask.shape or image.ndim != 2:
        raise ValueError("image and mask must be 2-D arrays of the same shape")
    if kind == "profile":
        prof = _strip_column_medians(image, mask, 1)
        rows = []
        x = np.arange(prof.shape[1])
        for p in prof:
            ok = np.isfinite(p)
            if ok.sum() >= 2:
                rows.append(np.interp(x, x[ok], p[ok]))
        if not rows:
            raise ValueError("no usable pixels in mask")
        series = np.array(rows)
    elif kind == "stream":
        detector = _check_detector(detector)
        good = mask & np.isfinite(image)
        if not good.any():
            raise ValueError("no usable pixels in mask")
        det = _dms_to_det(image, detector)
        gdet = _dms_to_det(good, detector)
        strip = -(-det.shape[1] // N_OUTPUTS)
        fill = float(np.median(image[good]))
        series_list = []
        for j in range(N_OUTPUTS):
            cols = slice(j * strip, min((j + 1) * strip, det.shape[1]))
            if cols.start >= det.shape[1]:
                continue
            block, gblock = det[:, cols], gdet[:, cols]
            if j % 2:
                block, gblock = block[:, ::-1], gblock[:, ::-1]
            block = np.array(block)
            if not gblock.all():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    line_med = np.nanmedian(np.where(gblock, block, np.nan), axis=1)
                line_med = np.where(np.isfinite(line_med), line_med, fill)
                block = np.where(gblock, block, line_med[:, None])
            series_list.append(block.ravel())
        series = np.array(series_list)
    else:
        raise ValueError(f"kind must be 'stream' or 'profile', got {kind!r}")

    n = series.shape[1]
    seg = n if kind == "profile" else max(2, min(int(segment_length), n))
    nseg = n // seg
    segs = series[:, :nseg * seg].reshape(series.shape[0] * nseg, seg)
    segs = segs - segs.mean(axis=1, keepdims=True)
    window = np.hanning(seg)
    spec = np.abs(rfft(segs * window, axis=1)) ** 2
    power = 2.0 * spec.mean(axis=0) / float((window**2).sum())
    freq = np.arange(power.size) / seg
    return freq[1:], power[1:]
