"""Synthetic datasets: a scenario simulated and processed by ifuqa, with its truth and the extra
products some checks need (a cube built without outlier rejection as the peak reference; spectra
at other spaxel scales).

Synthetic builds are cached on disk, keyed by everything that determines them (scenario file
contents, seed, processing configuration, ifuqa and jwst versions), and guarded by a file lock so
that pytest-xdist workers share one build.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ifuqa.builds.simulation import simulate_scenario
from ifuqa.process.chain import build_again, extract_again, process
from ifuqa.process.config import ProcessingConfig
from ifuqa.products.dataset import Dataset
from ifuqa.scenario.load import load_scenario
from ifuqa.scenario.schema import Scenario
from ifuqa.simulate.truth import has_truth, read_truth

if TYPE_CHECKING:
    from threadpoolctl import threadpool_limits

    from ifuqa.process.chain import ProcessingResult

__all__ = ["SyntheticSpec", "build_folder", "build_synthetic", "catalogue_spec", "is_built",
           "load_dataset_dir", "reference_dir", "reference_folder", "simulation_dir",
           "simulation_path"]

FLUX_SCALES = (0.05, 0.1, 0.2)
"""Spaxel scales (arcsec) at which flux conservation is measured (NS-IFU02)."""

SCALE_APERTURE_ARCSEC = 0.6
"""Extraction radius of the spaxel-scale study: ≥ 2 spaxels even at 0.2", so the comparison
tests the cube's flux bookkeeping rather than aperture sampling."""


@dataclass(frozen=True)
class SyntheticSpec:
    """A synthetic dataset: a scenario processed with a configuration.

    Attributes
    ----------
    scenario : str
        Catalogue name or TOML path.
    defects : tuple of str
        Known-issue defects re-created in processing (empty: every fix).
    seed : int or None
        Overrides the scenario's seed.
    with_reference : bool
        Also build the cube of the noiseless scene without outlier rejection (the true PSF
        peak for NS-IFU01).
    with_scales : bool
        Also process at the :data:`FLUX_SCALES` spaxel scales (NS-IFU02).
    options : tuple of (str, value)
        Extra :class:`ifuqa.process.config.ProcessingConfig` fields.
    """

    scenario: str
    defects: tuple[str, ...] = ()
    seed: int | None = None
    with_reference: bool = True
    with_scales: bool = False
    options: tuple[tuple[str, object], ...] = ()

    @property
    def label(self) -> str:
        """Dataset name: ``scenario`` or ``scenario[NS-IFU01+...]``."""
        name = Path(self.scenario).stem
        extra = "+".join(self.defects)
        opts = ",".join(f"{k}={v}" for k, v in self.options)
        tags = "+".join(x for x in (extra, opts) if x)
        return f"{name}[{tags}]" if tags else name


def _extras_for(scenario: Scenario) -> dict[str, bool]:
    """Which extra products a synthetic scenario gets (they cost processing time, and the main
    job must stay within minutes): the noiseless reference cube (the true PSF peak, NS-IFU01)
    and the spaxel-scale study (NS-IFU02). The scenario's ``extra_studies`` decides when it is
    set; otherwise they are built for the dithered (>= 4 positions), well centred (no pointing
    offset, no drift) point sources outside the PRISM, simulated without ramps (a
    ramp-simulated scene is there for cosmic-ray rejection) — in the catalogue,
    ``bright_point_g395h`` (``drift_point_g235m``, NS-IFU06's base, sets ``extra_studies =
    false``: the release catalogue measures both studies across 12 grating/filter/detector
    combinations, and the main job's 4-minute budget does not cover a second copy). Other
    scenarios run the truth-free NS-IFU01 hole check and skip these two, saying so.
    """
    if scenario.extra_studies is not None:
        return {"with_reference": scenario.extra_studies, "with_scales": scenario.extra_studies}
    src = scenario.sources[0]
    dithered_point = src.kind == "point" and len(scenario.dithers) >= 4
    centred = tuple(scenario.pointing_offset) == (0.0, 0.0) and tuple(src.drift_mas) == (0.0,
                                                                                          0.0)
    full = dithered_point and centred and scenario.grating != "PRISM" and not scenario.noise.ramps
    return {"with_reference": full, "with_scales": full}



def catalogue_spec(scenario: str, *, defects: tuple[str, ...] = ()) -> SyntheticSpec:
    """The synthetic dataset of a scenario as ``pytest --ifuqa`` builds it: processed with
    ``defects`` (none: every fix), with the extra products its kind of scene gets.

    Parameters
    ----------
    scenario : str
        Catalogue name or TOML path.
    defects : tuple of str
        Defect switches.

    Returns
    -------
    SyntheticSpec
    """
    return SyntheticSpec(scenario, defects=tuple(defects), **_extras_for(load_scenario(scenario)))


BUILD_FORMAT = 11
"""Bumped whenever simulated or processed products change, so that cached builds are redone
(8: builds use one BLAS thread, see :func:`one_blas_thread`; 9: rate files carry the detectors'
read directions and 1/f cleaning is jwst's CleanFlickerNoiseStep with its defaults; 10: the x1d
is jwst's Extract1dStep with ifuqa's EXTRACT1D/APCORR files; 11: the spaxel-scale study extracts
every scale where the main cube's ifu_autocen found the source)."""


def one_blas_thread() -> threadpool_limits:
    """Limit BLAS/OpenMP to one thread while a build is made: a sum split over threads rounds
    differently with their number, so without the limit a build made by a Dask worker (which
    runs one thread per core) and one made in-process would differ in the last bits. With it,
    every build is the same wherever it runs; the parallelism is across builds (xdist
    workers, Dask workers)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    from ifuqa import __version__

    return {"ifuqa": __version__, "build_format": str(BUILD_FORMAT), "jwst": version("jwst"),
            "stcal": version("stcal")}


def _scenario_and_text(spec: SyntheticSpec) -> tuple[Scenario, bytes]:
    """The spec's scenario and the bytes of its file (what the cache keys hash)."""
    scenario = load_scenario(spec.scenario)
    return scenario, (Path(scenario.source_path).read_bytes() if scenario.source_path else b"")


def _key(spec: SyntheticSpec) -> str:
    _, text = _scenario_and_text(spec)
    blob = json.dumps({"spec": repr(spec), "versions": _versions()}, sort_keys=True).encode()
    return hashlib.sha256(text + blob).hexdigest()[:16]


def _config(spec: SyntheticSpec, **overrides: object) -> ProcessingConfig:
    kwargs = dict(spec.options)
    kwargs.update(overrides)
    return ProcessingConfig(defects=frozenset(spec.defects), **kwargs)


def build_folder(spec: SyntheticSpec, cache_root: Path) -> Path:
    """The cache folder of a build (``LABEL-KEY``; complete when it holds ``build.json``)."""
    return Path(cache_root) / f"{spec.label.replace('/', '_')}-{_key(spec)}"


def is_built(spec: SyntheticSpec, cache_root: Path) -> bool:
    """Whether the build of ``spec`` is complete in ``cache_root``."""
    return (build_folder(spec, cache_root) / "build.json").is_file()


def _add_time(timings: dict[str, float] | None, name: str, seconds: float) -> None:
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + seconds


def build_synthetic(spec: SyntheticSpec, cache_root: Path, *,
                    timings: dict[str, float] | None = None) -> Dataset:
    """Simulate and process a synthetic dataset, or reuse the cached build.

    The build is made in a temporary folder renamed onto its cache folder when complete
    (:func:`ifuqa.util.atomic_folder.atomic_folder`), so a build killed half-way leaves
    nothing a later run takes for a build; the same holds for its simulations and reference
    cube.

    Parameters
    ----------
    spec : SyntheticSpec
        What to build.
    cache_root : path
        Cache folder (one sub-folder per build key).
    timings : dict, optional
        Filled with the seconds spent per stage (``simulate``, the processing stages,
        ``reference``, ``spaxel scales``) when the build is made here; left empty when it was
        cached.

    Returns
    -------
    Dataset
    """
    from filelock import FileLock

    from ifuqa.util.atomic_folder import atomic_folder, remove_stale

    root = Path(cache_root)
    root.mkdir(parents=True, exist_ok=True)
    key = _key(spec)
    folder = build_folder(spec, root)
    done = folder / "build.json"
    with FileLock(str(root / f"{key}.lock")):
        if not done.is_file():
            remove_stale(folder)
            with atomic_folder(folder) as tmp, one_blas_thread():
                _build(spec, tmp, timings)
                (tmp / "build.json").write_text(
                    json.dumps({"spec": repr(spec), "versions": _versions()}))
    return load_dataset_dir(folder, name=spec.label, defects=spec.defects)


def simulation_path(spec: SyntheticSpec, root: Path, *, noiseless: bool = False) -> Path:
    """The cache folder of a build's simulation (noisy, or the noiseless reference scene),
    keyed by the scenario file, the seed and the versions."""
    scenario, text = _scenario_and_text(spec)
    key = hashlib.sha256(text + repr((spec.seed, noiseless, _versions())).encode()).hexdigest()
    return Path(root) / f"sim-{scenario.name}{'-noiseless' if noiseless else ''}-{key[:16]}"


def simulation_dir(spec: SyntheticSpec, root: Path, *, noiseless: bool = False,
                   timings: dict[str, float] | None = None) -> Path:
    """Simulations are shared by every processing of the same scenario and seed (made in a
    temporary folder renamed into place when complete)."""
    import time

    from filelock import FileLock

    from ifuqa.util.atomic_folder import atomic_folder, remove_stale

    scenario, _ = _scenario_and_text(spec)
    sim = simulation_path(spec, root, noiseless=noiseless)
    with FileLock(str(sim) + ".lock"):  # one lock per simulation: others proceed meanwhile
        if not has_truth(sim):
            start = time.perf_counter()
            remove_stale(sim)
            with atomic_folder(sim) as tmp, one_blas_thread():
                simulate_scenario(scenario, tmp, seed=spec.seed, noiseless=noiseless)
            _add_time(timings, "simulate (noiseless)" if noiseless else "simulate",
                      time.perf_counter() - start)
    return sim


def _process(sim: Path, out: Path, config: ProcessingConfig, cache: Path,
             timings: dict[str, float] | None, **kwargs: object) -> ProcessingResult:
    result = process(sim, out, config, cache_dir=cache, **kwargs)
    for stage, seconds in result.timings_s.items():
        _add_time(timings, stage, seconds)
    return result


def _build(spec: SyntheticSpec, folder: Path,
           timings: dict[str, float] | None = None) -> None:
    import time

    folder.mkdir(parents=True, exist_ok=True)
    sim = simulation_dir(spec, folder.parent, timings=timings)
    clean_sim = (simulation_dir(spec, folder.parent, noiseless=True, timings=timings)
                 if spec.with_reference else None)
    cache = folder.parent / "stage-cache"
    main = _process(sim, folder / "products", _config(spec), cache, timings,
                    keep_clouds=spec.with_scales)
    if clean_sim is not None:
        start = time.perf_counter()
        (folder / "reference-dir").write_text(str(_reference(spec, clean_sim, cache)))
        _add_time(timings, "reference", time.perf_counter() - start)
    if spec.with_scales:
        start = time.perf_counter()
        for scale in FLUX_SCALES:
            config = _config(spec, spaxel_arcsec=scale,
                             aperture_radius_arcsec=SCALE_APERTURE_ARCSEC)
            if config == dataclasses.replace(main.config,
                                             aperture_radius_arcsec=SCALE_APERTURE_ARCSEC):
                extract_again(main, folder / f"scale-{scale:g}", config)  # the same cube
            else:  # the same point clouds: only the cube is built again
                build_again(main, folder / f"scale-{scale:g}", config)
        main.clouds = []
        _add_time(timings, "spaxel scales", time.perf_counter() - start)
    (folder / "sim").write_text(str(sim))


REFERENCE_IRRELEVANT_DEFECTS = frozenset({"NS-IFU01", "NS-IFU03", "NS-IFU04"})
"""Defects that cannot change the reference cube, which is built without outlier rejection
and without cleaning (NS-IFU01, NS-IFU03), and whose extraction is not used (NS-IFU04)."""


def reference_folder(spec: SyntheticSpec, clean_sim: Path) -> Path:
    """The cache folder of the reference cube of ``spec`` made from the noiseless simulation
    ``clean_sim`` (complete when it holds ``done``)."""
    defects = tuple(sorted(d for d in spec.defects if d not in REFERENCE_IRRELEVANT_DEFECTS))
    key = hashlib.sha256(repr((str(clean_sim), defects, tuple(sorted(map(repr, spec.options))),
                               _versions())).encode()).hexdigest()[:16]
    return clean_sim.parent / f"reference-{Path(spec.scenario).stem}-{key}"


def _reference(spec: SyntheticSpec, clean_sim: Path, cache: Path) -> Path:
    """The truth of the PSF peak: the noiseless scene processed like the dataset but with
    nothing to clean and no outlier rejection. Shared by every build whose processing differs
    only by defects that cannot change it (e.g. the fix and the NS-IFU01 defect)."""
    from filelock import FileLock

    defects = tuple(sorted(d for d in spec.defects if d not in REFERENCE_IRRELEVANT_DEFECTS))
    config = _config(SyntheticSpec(spec.scenario, defects=defects, seed=spec.seed,
                                   options=spec.options), outliers=False, clean=False)
    folder = reference_folder(spec, clean_sim)
    from ifuqa.util.atomic_folder import atomic_folder, remove_stale

    with FileLock(str(folder) + ".lock"):
        if not (folder / "done").is_file():
            remove_stale(folder)
            with atomic_folder(folder) as tmp, one_blas_thread():
                process(clean_sim, tmp, config, cache_dir=cache, exposure_products=False)
                (tmp / "done").write_text(repr(config))
    return folder


def reference_dir(spec: SyntheticSpec, cache_root: Path) -> Path | None:
    """Make (or reuse) the reference cube a build with ``with_reference`` shares with other
    builds of its scenario (see :func:`_reference`); None when ``spec`` has none."""
    if not spec.with_reference:
        return None
    root = Path(cache_root)
    clean_sim = simulation_dir(spec, root, noiseless=True)
    return _reference(spec, clean_sim, root / "stage-cache")


def load_dataset_dir(folder: Path, *, name: str, defects: tuple[str, ...] = ()) -> Dataset:
    """A synthetic build folder (see :func:`build_synthetic`) as a :class:`Dataset`."""
    folder = Path(folder)
    sim = Path((folder / "sim").read_text())
    products = folder / "products"
    ds = Dataset(
        name=name,
        rate=sorted(sim.glob("*_rate.fits")),
        cleaned=sorted(products.glob("*_nsclean.fits")),
        cal=sorted(products.glob("*_cal.fits")),
        s3d=sorted(products.glob("*_s3d.fits")),
        x1d=sorted(products.glob("*_x1d.fits")),
        truth=read_truth(sim),
        truth_dir=sim,
        defects=tuple(defects),
    )
    pointer = folder / "reference-dir"
    reference = Path(pointer.read_text()) if pointer.is_file() else folder / "reference"
    ref = sorted(reference.glob("*_s3d.fits"))
    ds.reference_s3d = ref[0] if ref else None
    for sub in folder.glob("scale-*"):
        x1d = sorted(sub.glob("*_x1d.fits"))
        if x1d:
            ds.scale_x1d[float(sub.name.split("-", 1)[1])] = x1d[0]
    return ds
