"""How far a cube's error array understates the noise of an aperture spectrum, measured where
the cube has no source.

Cube building spreads each detector pixel over several spaxels and planes (3-D drizzle), so the
noise of neighbouring voxels is correlated, and an error array propagated voxel by voxel
understates the scatter of a sum over an aperture and a range of wavelengths. The factor is
calibrated on the cube itself, in apertures of the extraction's radius placed on source-free
spaxels: the scatter of their binned sums over the variance the error array predicts for them.
It is independent of the source's spectrum, which is what a flux metric then judges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ifuqa.util.stats import mad_std_about_zero

__all__ = ["NoiseCalibration", "aperture_noise_factor", "circular_aperture_sums"]


@dataclass(frozen=True)
class NoiseCalibration:
    """The measured factor and what it rests on.

    Attributes
    ----------
    factor : float
        Measured noise of a binned aperture sum / the noise its error array predicts (1: the
        error array is right; NaN: not measurable).
    apertures : int
        Source-free apertures used.
    bins : int
        Wavelength bins used.
    plane_variance : numpy.ndarray or None
        Per plane, the variance the error array gives the sum of one such aperture (mean over
        the apertures used); None when the factor could not be measured.
    """

    factor: float
    apertures: int
    bins: int
    plane_variance: np.ndarray | None = None

    @property
    def evidence(self) -> dict[str, float | int]:
        """JSON-serialisable summary."""
        return {"noise_factor": round(self.factor, 4), "noise_apertures": self.apertures,
                "noise_bins": self.bins}


def _aperture_centres(covered: np.ndarray, source_xy: tuple[float, float], radius: float,
                      exclude: float) -> list[tuple[int, int]]:
    """Non-overlapping aperture centres on a grid, wholly on covered spaxels, beyond
    ``exclude`` spaxels from the source."""
    ny, nx = covered.shape
    step = int(np.ceil(2 * radius + 1))
    r = int(np.ceil(radius))
    out = []
    for cy in range(r, ny - r, step):
        for cx in range(r, nx - r, step):
            if np.hypot(cx - source_xy[0], cy - source_xy[1]) <= exclude + radius:
                continue
            if covered[cy - r:cy + r + 1, cx - r:cx + r + 1].all():
                out.append((cx, cy))
    return out


def circular_aperture_sums(data: np.ndarray, err: np.ndarray, centre: tuple[float, float],
                           radius_pix: float) -> tuple[np.ndarray, np.ndarray]:
    """Per plane, the sum of the finite voxels whose centres lie within ``radius_pix`` of
    ``centre`` (0-based spaxels), and the variance the error array gives that sum.

    Examples
    --------
    >>> cube = np.ones((3, 9, 9))
    >>> total, variance = circular_aperture_sums(cube, 0.1 * cube, (4, 4), 1.0)
    >>> total.tolist(), np.round(variance, 3).tolist()
    ([5.0, 5.0, 5.0], [0.05, 0.05, 0.05])
    """
    ny, nx = data.shape[1:]
    yy, xx = np.mgrid[:ny, :nx]
    disc = np.hypot(xx - centre[0], yy - centre[1]) <= radius_pix
    values, errors = data[:, disc], err[:, disc]
    ok = np.isfinite(values) & np.isfinite(errors)
    return (np.where(ok, values, 0.0).sum(axis=1),
            np.where(ok, errors.astype(float) ** 2, 0.0).sum(axis=1))


def aperture_noise_factor(data: np.ndarray, err: np.ndarray, source_xy: tuple[float, float],
                          radius_pix: float, exclude_pix: float, *, n_bins: int = 20,
                          trend_degree: int = 2, min_apertures: int = 2) -> NoiseCalibration:
    """The factor by which the error array understates the noise of a binned aperture sum.

    Definition: apertures of ``radius_pix`` spaxels are placed on a grid over spaxels covered
    in at least 95 % of the planes, more than ``exclude_pix`` from the source; each aperture's
    flux is summed over the planes of each of ``n_bins`` equal wavelength bins. A polynomial of
    ``trend_degree`` in wavelength is fitted to each aperture's binned sums and removed (a
    background, or the source's far wings, change slowly with wavelength; bins beyond 5 robust
    σ are left out of the fit); each residual is divided by the noise the error array gives its
    binned sum (``sqrt(Σ err²)``), and the factor is the robust standard deviation (MAD) of
    those normalised residuals over every aperture and bin, corrected for the
    ``trend_degree + 1`` fitted parameters. Robust, because a residual cosmic ray in one voxel
    would otherwise dominate a bin's sum: the factor describes the Gaussian core of the noise,
    and outliers are the outlier checks' business.

    Parameters
    ----------
    data, err : numpy.ndarray
        Cube and its error array, (plane, y, x).
    source_xy : (float, float)
        The source's position (0-based spaxels).
    radius_pix : float
        Aperture radius (spaxels), that of the extraction.
    exclude_pix : float
        Keep apertures' centres more than this plus ``radius_pix`` from the source.
    n_bins : int
        Wavelength bins (those of the flux metric).
    trend_degree : int
        Degree of the slow trend removed from each aperture's binned sums.
    min_apertures : int
        Fewer source-free apertures than this: factor NaN.

    Returns
    -------
    NoiseCalibration

    Examples
    --------
    White noise of σ = 1 whose error array says 0.5, under a background that rises with
    wavelength: the error array understates the noise by 2, and the background does not count:

    >>> rng = np.random.default_rng(1)
    >>> data = rng.normal(0.0, 1.0, (400, 40, 40)) + np.linspace(0, 5, 400)[:, None, None]
    >>> cal = aperture_noise_factor(data, np.full(data.shape, 0.5), (20, 20), 2.0, 6.0)
    >>> round(cal.factor, 1), cal.apertures >= 4
    (2.1, True)
    """
    data = np.asarray(data, dtype=float)
    err = np.asarray(err, dtype=float)
    finite = np.isfinite(data) & np.isfinite(err)
    covered = finite.mean(axis=0) >= 0.95
    centres = _aperture_centres(covered, source_xy, radius_pix, exclude_pix)
    n_planes = data.shape[0]
    dof = n_bins - trend_degree - 1
    if len(centres) < min_apertures or n_planes < n_bins or dof < 2:
        return NoiseCalibration(float("nan"), len(centres), 0)
    edges = np.linspace(0, n_planes, n_bins + 1).astype(int)
    x = np.linspace(-1.0, 1.0, n_bins)
    normalised, plane_variances = [], []
    for centre in centres:
        sums, variances = circular_aperture_sums(data, err, centre, radius_pix)
        binned = np.add.reduceat(sums, edges[:-1])
        predicted = np.add.reduceat(variances, edges[:-1])
        if not (predicted > 0).all():
            continue
        plane_variances.append(variances)
        keep = np.ones(n_bins, dtype=bool)
        for _ in range(2):
            resid = binned - np.polyval(np.polyfit(x[keep], binned[keep], trend_degree), x)
            keep = np.abs(resid) <= 5.0 * max(mad_std_about_zero(resid[keep]), 1e-300)
        normalised.append(resid / np.sqrt(predicted))
    if len(normalised) < min_apertures:
        return NoiseCalibration(float("nan"), len(normalised), 0)
    factor = mad_std_about_zero(np.concatenate(normalised)) * np.sqrt(n_bins / dof)
    return NoiseCalibration(float(factor), len(normalised), n_bins,
                            np.mean(plane_variances, axis=0))
