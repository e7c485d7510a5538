"""Detector artefacts of a simulated exposure: cosmic-ray hits (Moyal deposits on short tracks
with charge diffusion), warm pixels absent from the bad-pixel mask, and the DQ array (reference
border, hot and dead pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ifuqa.instrument.readout import REFERENCE_BORDER_PX, check_shape
from ifuqa.scenario.schema import Scenario

# Cosmic rays: Landau-like (Moyal) deposited charge and a short track with charge diffusion.
_CR_MPV_E = 2400.0  # Moyal location: most probable deposit (e⁻)
_CR_WIDTH_E = 800.0  # Moyal scale (e⁻); median deposit ≈ 2400 + 0.788·800 ≈ 3030 e⁻
_CR_MIN_E = 100.0  # floor of the deposit (e⁻)
_CR_EXTRA_TRACK_MEAN = 2.0 / 3.0  # track length = 1 + Poisson(2/3) pixels → mean 5/3
_CR_NEIGHBOUR_FRACTION = 0.06  # fraction of a track pixel's charge in each 4-neighbour
_TRACK_DIRECTIONS = np.array([(0, 1), (1, 0), (1, 1), (1, -1)])


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
    ny, nx = check_shape(shape)
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
    ny, nx = check_shape(shape)
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


COSMIC_RAY_RATE_PER_CM2_S = 3.0
"""Cosmic-ray hits per cm² per second on the detectors (KNOWN_ISSUES: ~2–5)."""


JUMP_DETECTION_MISS_FRACTION = 0.02
"""Fraction of cosmic-ray hits that ramp fitting's jump detection misses when it can work."""

WARM_PIXEL_FRACTION = 3.0e-4
"""Fraction of detector pixels that are warm but absent from the bad-pixel mask."""


def cosmic_ray_residual_fraction(ngroups: int) -> float:
    """Fraction of cosmic-ray hits that survive ramp fitting into the count-rate image.

    A hit before the first or after the last read only offsets the ramp; a hit between reads is
    a jump that ramp fitting's jump detection removes (the ramp is fitted on either side) —
    except with two groups, where the single difference cannot be tested, and for a small
    fraction of missed jumps (faint or shower-like hits): :data:`JUMP_DETECTION_MISS_FRACTION`.
    The truth mask records exactly the hits that remain in the rate.
    """
    return 1.0 if int(ngroups) <= 2 else JUMP_DETECTION_MISS_FRACTION


def warm_pixels(scenario: Scenario, detector: str,
                shape: tuple[int, int]) -> np.ndarray:
    """Extra count rate (e⁻/s) of warm pixels that are not in the bad-pixel mask.

    These time-variable bad pixels sit at the same detector pixels in every exposure of the
    observation (drawn from a generator seeded by the scenario seed and the detector only) —
    the outliers jwst's IFU outlier method is designed to find. Rates are log-uniform between
    0.5 and 50 e⁻/s; the density is :data:`WARM_PIXEL_FRACTION` × ``noise.warm_pixels``.
    """
    image = np.zeros(shape)
    fraction = WARM_PIXEL_FRACTION * scenario.noise.warm_pixels
    if fraction <= 0:
        return image
    rng = np.random.default_rng(np.random.SeedSequence(
        [scenario.seed, 7919, 0 if detector == "NRS1" else 1]))
    n = rng.poisson(fraction * shape[0] * shape[1])
    ys = rng.integers(4, shape[0] - 4, n)
    xs = rng.integers(4, shape[1] - 4, n)
    image[ys, xs] = np.exp(rng.uniform(np.log(0.5), np.log(50.0), n))
    return image
