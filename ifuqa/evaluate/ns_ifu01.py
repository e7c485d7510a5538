"""NS-IFU01 — holes at the PSF peak from over-eager outlier rejection.

Metrics: depth of the PSF peak against a cube built without outlier rejection (synthetic), the
central depression of the PSF without truth (any cube), the share of PSF-core detector pixels
flagged, and the recall of injected warm pixels and cosmic rays above 10 σ (synthetic).

Cosmic rays are caught by two stages: jump detection on the ramps (``JUMP_DET``, the stage built
for transients) and outlier detection across dithers (``OUTLIER``, built for pixels that are bad in
every exposure). Their recall is judged only for scenes simulated with ramps (``[noise] ramps =
true``), where every hit is injected and jwst's jump step sees it; with the default statistical
model only the hits jump detection would have missed reach the rate image, and no stage targets
those (:func:`residual_cosmic_ray_flags` measures it for the record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ifuqa.evaluate import NotApplicable
from ifuqa.evaluate._common import (
    cube_fwhm,
    detect_source,
    dither_positions,
    limit_for,
    the_cube,
)
from ifuqa.evaluate.coverage import require_clear_of_field_edges
from ifuqa.metrics.apertures import binned_images
from ifuqa.metrics.flags import core_flag_fraction, injected_outlier_recall
from ifuqa.metrics.holes import peak_depth_against_reference, peak_hole
from ifuqa.metrics.result import MetricResult
from ifuqa.products import read_cube
from ifuqa.products.discovery import product_stem
from ifuqa.products.images import read_images
from ifuqa.simulate.truth import (
    ArtefactTruth,
    artefact_model,
    artefact_truth_path,
    read_artefact_truth,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ifuqa.products.dataset import Dataset
    from ifuqa.verdicts.thresholds import Thresholds

MIN_CORE_PIXELS = 200
"""Core pixels needed for the flagged fraction to be meaningful at the 1 % level."""

FULLY_SAMPLED_DITHERS = 4
"""Dither positions from which the resampled PSF core of a cube is smooth enough for the hole
metric alone: with a 4-point dither the noiseless cube built without outlier rejection reads
3.0 ± 0.3 % (limit 10 %), as recommended for point sources by Law et al. (2023)."""

RESAMPLING_DENT_PERCENT = 16.8
"""Largest central depression that resampling alone gives the undersampled PSF of a cube from
fewer than 4 dither positions, without any outlier rejection (measured 2026-12-07 on the
noiseless cube built without outlier rejection of a centred G395H point source, 2-point nod,
3.40-3.48 um: per-bin depths 0.4-16.8 %, docs/explore_findings.md finding 4; one dither position,
the NS-IFU05 defect dataset of ``bright_point_g395h`` where jwst's outlier detection has no second
exposure and flags nothing: 14.7 ± 0.6 %). With fewer than 4 positions it enters the hole's
uncertainty as a systematic term, a dent anywhere in [0, 16.8] %: sigma = 16.8 / sqrt(12)."""

__all__ = ["TRUTH_CACHE", "TruthOfLastDataset", "artefact_truth", "core_flags",
           "cosmic_ray_flags", "exposure_flags", "hole", "peak_depth", "require_outlier_detection",
           "residual_cosmic_ray_flags", "warm_pixel_flags"]


def require_outlier_detection(dataset: Dataset) -> None:
    """NotApplicable when the cube has one dither position: jwst's IFU outlier detection
    compares the exposures of different positions and does not run on one (its step is skipped),
    so neither a hole nor a missed outlier can come from it; a dent at the PSF peak of such a cube
    is resampling's (up to ~30 % at one position, measured 2026-12-07 on the release
    catalogue's one-position corner scenes)."""
    positions, known_from = dither_positions(dataset)
    if positions == 1:
        raise NotApplicable(f"one dither position ({known_from}): outlier detection compares "
                            "dither positions and does not run on one exposure (jwst skips it), "
                            "so it can neither dig a hole nor catch an outlier here")


def hole(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Hole at the PSF peak in the cube, in wavelength bins (no truth needed): how far the core
    falls below a smooth PSF fitted to each bin (:func:`ifuqa.metrics.holes.peak_hole`).

    With fewer than :data:`FULLY_SAMPLED_DITHERS` dither positions in the cube
    (:func:`~ifuqa.evaluate._common.dither_positions`) resampling alone dents the core by up to
    :data:`RESAMPLING_DENT_PERCENT`; that enters the uncertainty, so a clean cube of a 2-point
    nod is "could not decide" and only a hole deeper than resampling can make fails. A cube of
    one position is not applicable (:func:`require_outlier_detection`), nor one where a dither
    position's field edge runs through the PSF core, which drizzle's coverage weighting dents or
    raises by a few % (:func:`ifuqa.evaluate.coverage.require_clear_of_field_edges`)."""
    require_outlier_detection(dataset)
    cube = the_cube(dataset.s3d)
    detection = detect_source(cube)
    coverage = require_clear_of_field_edges(
        dataset, cube, detection.center_xy,
        what="the hole metric (a dent below a smooth PSF)")
    fwhm_pix = cube_fwhm(cube) / cube.spaxel_arcsec
    limit = limit_for(thresholds, "ns_ifu01.psf_peak_hole_depth", cube)
    result = peak_hole(cube.data, cube.wavelength_um,
                       radius_pix=2.5 * float(np.median(fwhm_pix)), fwhm_pix=fwhm_pix,
                       threshold_percent=limit.value)
    result.evidence.update(detection.evidence(), **limit.evidence())
    if coverage is not None:
        result.evidence.update(coverage.evidence())
    positions, known_from = dither_positions(dataset)
    result.evidence.update(dither_positions=positions, dither_positions_from=known_from)
    if positions is not None and positions < FULLY_SAMPLED_DITHERS and np.isfinite(result.value):
        statistical = float(result.uncertainty or 0.0)
        systematic = RESAMPLING_DENT_PERCENT / np.sqrt(12.0)
        result.uncertainty = float(np.hypot(statistical, systematic))
        result.evidence.update(statistical_uncertainty_percent=statistical,
                               resampling_uncertainty_percent=float(systematic))
        result.message += (f"; {positions} dither position(s) ({known_from}), fewer than "
                           f"{FULLY_SAMPLED_DITHERS}: resampling alone dents the undersampled "
                           f"PSF core by up to {RESAMPLING_DENT_PERCENT} %, which enters the "
                           f"uncertainty (± {systematic:.1f} %)")
    return result


def peak_depth(dataset: Dataset, thresholds: Thresholds, *, n_bins: int = 6) -> MetricResult:
    """Depth of the PSF peak against the no-rejection reference cube (deepest of ``n_bins``)."""
    if dataset.reference_s3d is None:
        raise NotApplicable("no noiseless reference cube for this dataset (built for "
                            "dithered, centred synthetic point sources only)")
    cube = the_cube(dataset.s3d)
    threshold = limit_for(thresholds, "ns_ifu01.psf_peak_depth")
    detection = detect_source(cube, n_bins=n_bins)
    ref = read_cube(dataset.reference_s3d)
    test_imgs, waves = binned_images(cube.data, cube.wavelength_um, n_bins)
    ref_imgs, _ = binned_images(ref.data, ref.wavelength_um, n_bins)
    results = [peak_depth_against_reference(t, r, threshold_percent=threshold.value)
               for t, r in zip(test_imgs, ref_imgs, strict=True)]
    # the peak spaxel carries about a quarter of the bin's aperture S/N
    sigmas = 100.0 * 4.0 / np.where(np.isfinite(detection.snr_bins), detection.snr_bins,
                                    np.nan)
    for result, sigma in zip(results, sigmas, strict=False):
        result.uncertainty = float(sigma) if np.isfinite(sigma) else None
    worst = max(results, key=lambda r: r.value - 3.0 * (r.uncertainty or 0.0))
    worst.plot["wavelength_um"] = waves
    worst.plot["depth_percent"] = np.array([r.value for r in results])
    worst.message += f" (the most significant of {n_bins} wavelength bins)"
    worst.evidence.update(detection.evidence(), **threshold.evidence())
    return worst


def _fill_flagged(values: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Replace undefined values at flagged pixels by the median of their defined 8-neighbours
    (the pipeline sets outliers to NaN in the cal, hiding the signal they had)."""
    out = values.copy()
    jj, ii = np.nonzero(flagged & ~np.isfinite(values))
    ny, nx = values.shape
    for j, i in zip(jj, ii, strict=True):
        patch = values[max(j - 1, 0):min(j + 2, ny), max(i - 1, 0):min(i + 2, nx)]
        if np.isfinite(patch).any():
            out[j, i] = np.nanmedian(patch)
    return out


def exposure_flags(dataset: Dataset, *, use_rates: bool = True,
                   flags: tuple[str, ...] = ("OUTLIER",)) -> Iterator[tuple[Any, ...]]:
    """The flags and signal of each exposure, as NS-IFU01's flag checks use them.

    Only the extensions used are read (:func:`ifuqa.products.images.read_images`: the cal's
    DQ, the rate's SCI and ERR; the cal's SCI and ERR when there is no rate), not whole
    datamodels: the arrays are the datamodels' (``model.dq``, ``model.data``, ``model.err``).

    Parameters
    ----------
    dataset : Dataset
        Its cal (or crf) files, and rate files matched to them by product stem.
    use_rates : bool
        Take the signal from the rate file of the same stem when there is one; else (or when
        False) from the cal image, its outliers (set to NaN by the pipeline) filled from their
        neighbours.
    flags : tuple of str
        DQ flag names (:data:`stdatamodels.jwst.datamodels.dqflags.pixel`) that count as
        flagged.

    Yields
    ------
    (str, numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Product stem, pixels with any of ``flags`` (bool), signal and noise (float).

    Raises
    ------
    NotApplicable
        The dataset has no cal/crf files.
    ProductError
        A file is missing, truncated, corrupt or lacks an extension (naming it).
    """
    from stdatamodels.jwst.datamodels import dqflags

    if not dataset.cal:
        raise NotApplicable("no cal/crf files (outlier flags live in their DQ)")
    outlier = dqflags.pixel["OUTLIER"]
    bits = 0
    for name in flags:
        bits |= dqflags.pixel[name]
    rates = {product_stem(p): p for p in dataset.rate} if use_rates else {}
    for cal in dataset.cal:
        stem = product_stem(cal)
        images = read_images(cal, ("DQ",) if stem in rates else ("SCI", "ERR", "DQ"))
        dq = images["DQ"]
        flagged = (dq & bits) > 0
        if stem in rates:
            rate = read_images(rates[stem], ("SCI", "ERR"))
            signal = np.asarray(rate["SCI"], dtype=float)
            noise = np.asarray(rate["ERR"], dtype=float)
        else:
            outliers = (dq & outlier) > 0
            signal = _fill_flagged(np.asarray(images["SCI"], dtype=float), outliers)
            noise = _fill_flagged(np.asarray(images["ERR"], dtype=float), outliers)
        yield stem, flagged, signal, noise


class TruthOfLastDataset:
    """The artefact truth of the exposures of the last ``folders`` truth folders asked for,
    read once.

    NS-IFU01's flag checks of one dataset (core flags, warm-pixel and cosmic-ray recall) run one
    after the other (also under xdist, which hands a worker all the checks of a dataset) and
    each needs every exposure's truth, a tile-compressed file that takes about 0.5 s to
    decompress. The defect datasets of a scene share its simulation folder, and a worker checks
    a few other datasets between them, so the last :data:`TRUTH_FOLDERS` folders are kept
    (about 70 MB per exposure); asking for another forgets the least recently used. Entries are
    keyed by the file's size and modification time, so a rewritten file is read again; the
    arrays are read-only, as callers share them.
    """

    def __init__(self, folders: int | None = None) -> None:
        self.folders = TRUTH_FOLDERS if folders is None else max(int(folders), 1)
        self.entries: dict[str, dict[tuple[str, int | None, int | None],
                                     ArtefactTruth | None]] = {}

    def get(self, folder: Path, stem: str) -> ArtefactTruth | None:
        """:func:`ifuqa.simulate.truth.read_artefact_truth` of ``folder`` and ``stem``, read
        once while the file is unchanged and its folder is one of the last asked for."""
        path = artefact_truth_path(folder, stem)
        try:
            stat = path.stat()
            key = (stem, stat.st_size, stat.st_mtime_ns)
        except OSError:
            key = (stem, None, None)
        entries = self.entries.pop(str(folder), {})
        self.entries[str(folder)] = entries  # now the most recently used
        while len(self.entries) > self.folders:
            self.entries.pop(next(iter(self.entries)))
        if key not in entries:
            truth = read_artefact_truth(folder, stem)
            if truth is not None:
                for array in (truth.cosmic_ray_mask, truth.cosmic_ray_rate_dn_s,
                              truth.warm_dn_s):
                    array.setflags(write=False)
            entries[key] = truth
        return entries[key]


TRUTH_FOLDERS = 3
"""Simulation folders whose artefact truth :class:`TruthOfLastDataset` keeps per process."""


TRUTH_CACHE = TruthOfLastDataset()
"""The process's artefact truth of the last datasets (:class:`TruthOfLastDataset`)."""


def artefact_truth(folder: Path, stem: str) -> ArtefactTruth | None:
    """The artefact truth of one exposure (None when the folder has none for it), read once per
    dataset (:data:`TRUTH_CACHE`); its arrays are read-only.

    Parameters
    ----------
    folder : path
        The simulation folder (``dataset.truth_dir``).
    stem : str
        The exposure's product stem.

    Returns
    -------
    ArtefactTruth or None
    """
    return TRUTH_CACHE.get(folder, stem)


def core_flags(dataset: Dataset, thresholds: Thresholds, *, use_rates: bool = True) -> MetricResult:
    """Share of PSF-core pixels (> 30 % of the column's peak) flagged, over all exposures."""
    flagged_all, signal_all, noise_all = [], [], []
    for stem, flagged, rate, err in exposure_flags(dataset, use_rates=use_rates):
        sig = rate.copy()
        artefacts = (artefact_truth(dataset.truth_dir, stem)
                     if dataset.truth_dir is not None else None)
        if artefacts is not None:
            sig[artefacts.cosmic_ray_mask] = 0.0
            sig[artefacts.warm_dn_s > 0] = 0.0
        flagged_all.append(flagged)
        signal_all.append(sig)
        noise_all.append(err)
    if not flagged_all:
        raise NotApplicable("no cal file matches a rate file")
    result = core_flag_fraction(np.concatenate(flagged_all, axis=1),
                                np.concatenate(signal_all, axis=1),
                                np.concatenate(noise_all, axis=1),
                                threshold_percent=thresholds["ns_ifu01.psf_core_flagged"])
    if result.details["core_pixels"] < MIN_CORE_PIXELS:
        raise NotApplicable(f"only {result.details['core_pixels']} PSF-core pixels detected at "
                            f"S/N >= 20 (needs {MIN_CORE_PIXELS} for a percent-level fraction)")
    return result


def cosmic_ray_model(dataset: Dataset) -> str:
    """How the dataset's cosmic rays were injected: ``"ramps"`` (every hit, in simulated ramps
    fitted by jwst) or ``"residual"`` (only the hits jump detection would miss, in the rate)."""
    if dataset.truth_dir is None:
        raise NotApplicable("artefact truth exists only for synthetic data")
    model = artefact_model(dataset.truth_dir)
    if model is None:
        raise NotApplicable(f"no cosmic-ray truth masks in {dataset.truth_dir}")
    return model


def _truth_recall(dataset: Dataset, extension: str, *, flags: tuple[str, ...] = ("OUTLIER",),
                  **kwargs: Any) -> MetricResult:
    """Recall of the injected artefacts ``extension`` (``"WARM"`` or ``"CRRATE"``)."""
    if dataset.truth_dir is None:
        raise NotApplicable("artefact truth exists only for synthetic data")
    flagged_all, injected_all, sigma_all = [], [], []
    for stem, flagged, _, err in exposure_flags(dataset, flags=flags):
        artefacts = artefact_truth(dataset.truth_dir, stem)
        if artefacts is None:
            raise NotApplicable(f"no artefact truth for {stem} in {dataset.truth_dir}")
        flagged_all.append(flagged)
        injected_all.append(artefacts.warm_dn_s if extension == "WARM"
                            else artefacts.cosmic_ray_rate_dn_s)
        sigma_all.append(np.where(np.isfinite(err) & (err > 0), err, np.inf))
    result = injected_outlier_recall(np.concatenate(flagged_all), np.concatenate(injected_all),
                                     np.concatenate(sigma_all), **kwargs)
    if result.details["pixels"] == 0:
        raise NotApplicable(f"no injected {kwargs.get('what', 'artefact')} above 10 sigma")
    return result


def warm_pixel_flags(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Recall of injected warm pixels (outliers at the same detector pixel in every dither,
    absent from the bad-pixel mask: what jwst's IFU method targets) above 10 σ. Not applicable
    to one dither position (:func:`require_outlier_detection`)."""
    require_outlier_detection(dataset)
    return _truth_recall(dataset, "WARM", metric="warm_pixel_recall", what="warm",
                         threshold_percent=thresholds["ns_ifu01.warm_pixel_recall"])


def cosmic_ray_flags(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Recall of cosmic rays above 10 σ by the chain: jump detection on the ramps
    (``JUMP_DET``) or outlier detection (``OUTLIER``). A hit counts as above 10 σ when what it
    would add to the slope, had jump detection missed it, exceeds 10 × the rate's error.
    Needs a scene simulated with ramps."""
    model = cosmic_ray_model(dataset)
    if model != "ramps":
        raise NotApplicable(
            "cosmic rays were injected into the rate images (only the hits jump detection would "
            "miss, which no pipeline stage targets); simulate with [noise] ramps = true to "
            "measure cosmic-ray rejection")
    return _truth_recall(dataset, "CRRATE", flags=("JUMP_DET", "OUTLIER"),
                         metric="cosmic_ray_recall", what="cosmic-ray",
                         threshold_percent=thresholds["ns_ifu01.cosmic_ray_recall"])


def residual_cosmic_ray_flags(dataset: Dataset, thresholds: Thresholds) -> MetricResult:
    """Recall, by outlier detection alone, of cosmic rays left in the rate images (statistical
    model). jwst's IFU method compares dithers and does not target transients seen in one
    exposure: recorded for information, not a shipped check."""
    require_outlier_detection(dataset)
    if cosmic_ray_model(dataset) != "residual":
        raise NotApplicable("the scene was simulated with ramps: use cosmic_ray_flags")
    return _truth_recall(dataset, "CRRATE", metric="residual_cosmic_ray_recall",
                         what="residual cosmic-ray",
                         threshold_percent=thresholds["ns_ifu01.residual_cosmic_ray_recall"])
