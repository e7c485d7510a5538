"""jwst's ``extract_1d`` as shipped: ``Extract1dStep`` itself on an IFU cube, with the synthetic
EXTRACT1D and APCORR reference files ifuqa writes.

:func:`run_extract_1d_step` writes the two reference files a NIRSpec IFU point-source extraction
reads from CRDS — the IFU EXTRACT1D file (``Extract1dIFUModel``, ASDF: aperture radius and
background annulus per wavelength, in arcsec) and the NIRSpec IFU APCORR file
(``NrsIfuApcorrModel``, ASDF: aperture correction per radius and wavelength) — and runs
``jwst.extract_1d.Extract1dStep`` through its ``process`` method with them as
``override_extract1d``/``override_apcorr`` (the files read back into the in-memory models stpipe
accepts as overrides, see :func:`load_reference`; every other reference type of the Step is
overridden with ``"N/A"``), so no CRDS lookup happens. ``Step.run`` cannot be used offline:
after the extraction its ``finalize_result`` asks CRDS for the context the references came from
(``stpipe.crds_client.get_context_used``), and without a CRDS server CRDS ends the interpreter
(``crds.core.heavy_client.load_server_info``: "CRDS server connection and cache load FAILED.
Cannot continue.", ``sys.exit(-1)``); ``Step.run`` would also look up the Step's parameter
reference. The x1d records the EXTRACT1D file in ``meta.ref_file`` (``ifuqa:<name>``), as
``finalize_result`` would (the x1d schema has no APCORR entry).

What ifuqa sets, and why (measured on ifuqa's cubes; the Step's other parameters keep their
defaults, which :func:`check_behaviour` pins):

* ``ifu_autocen=True`` (the Step's default is False): the NS-IFU04 fix (ifuqa's
  ``autocenter``); the NS-IFU04 defect leaves the default, so the Step centres on the spaxel
  nearest the target (``locn_from_wcs``: 186 mas from the source on the pointing-offset scene,
  where ifuqa's former sub-spaxel target position gave 150 mas). ``center_xy`` when ifuqa's
  configuration gives a centre (or the brightest spaxel).
* ``subtract_background`` from ifuqa's configuration (no annulus: False), so the reference file
  and the parameter agree.
* The Step's copy of the cube gets ``SRCTYPE = POINT`` when the cube has none (the Step treats a
  missing source type as EXTENDED and sums the whole field) and ``DISPAXIS = 1`` when it has none
  (``stcal.alignment.util.compute_scale`` raises ``If input WCS is spectral, a disp_axis must be
  given`` without it; jwst's own s3d files carry the cal files' ``DISPAXIS = 1``).
* A cube in MJy (built from flux-density pixels, the NS-IFU02 defect) is extracted with the
  cube's pixel solid angle unset, so that the Step's documented fallback (solid angle 1) makes the
  flux ``Σ value × 10⁶`` Jy, which is what the pre-2023 pipeline's MJy branch did (jwst 3.0 has
  no such branch and would multiply by the solid angle); its surface-brightness columns are then
  divided by the solid angle so that they stay in MJy/sr.
* A cube whose ``SRCTYPE`` is EXTENDED is extracted as the Step does (the whole field, no
  aperture correction: ``apply_apcorr=False``, since the Step applies it to point sources only,
  and no APCORR file is made for it).
* The APCORR file is tabulated for the source's sub-spaxel phase: the aperture correction of a
  cube's discrete spaxel grid depends on where the centre falls in a spaxel (0.34 % at 0.1"
  spaxels, phase −0.48), which a phase-free table cannot hold. The centre the Step will use is
  predicted (:func:`ifuqa.process.jwst_api.extract_1d.ifu_autocenter`, the same
  ``DAOStarFinder`` centring; ``jwst.extract_1d.ifu.locn_from_wcs`` for the target position) and
  checked against the Step's ``EXTRACTION_X/Y``; when they differ the table is made again for
  the Step's centre and the Step re-run.

The Step is identical in jwst 2.0.1 and 3.0.0 for IFU cubes (``ifu.py`` differs only in the
``DAOStarFinder`` centroid columns, :mod:`~ifuqa.process.jwst_api.extract_1d_2_0`), so this module
has no per-line part.
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ifuqa.process.jwst_api._api import ApiSpec, fingerprint_problems, resolve

__all__ = ["REQUIRED_API", "STEP_PARAMETERS", "StepExtraction", "check_behaviour",
           "load_reference", "predicted_center", "read_apcorr_reference",
           "read_extract1d_reference", "run_extract_1d_step", "write_apcorr_reference",
           "write_extract1d_reference"]

_STEP_MOD = "jwst.extract_1d.extract_1d_step"
_IFU_MOD = "jwst.extract_1d.ifu"

REQUIRED_API: dict[tuple[str, str], ApiSpec] = {
    (_STEP_MOD, "Extract1dStep.process"): ("self", "input_data"),
    (_IFU_MOD, "ifu_extract1d"): ("input_model", "ref_file", "source_type",
                                  "subtract_background", "bkg_sigma_clip", "apcorr_ref_file",
                                  "center_xy", "ifu_autocen", "ifu_rfcorr", "ifu_rscale",
                                  "ifu_covar_scale"),
    (_IFU_MOD, "locn_from_wcs"): ("input_model", "ra_targ", "dec_targ"),
    (_IFU_MOD, "get_coordinates"): ("input_model", "x0", "y0"),
}
"""The jwst symbols :func:`run_extract_1d_step` calls (and the IFU extraction the Step runs)."""

STEP_PARAMETERS = {
    "ifu_autocen": "False",
    "center_xy": "None",
    "subtract_background": "None",
    "apply_apcorr": "True",
    "bkg_sigma_clip": "3.0",
    "ifu_rscale": "None",
    "ifu_covar_scale": "1.0",
}
"""The Step parameters ifuqa sets or relies on, with the default each has in jwst 2.0.1/3.0.0
(ifuqa sets the first four; it relies on the defaults of the others: a 3σ background clip,
no radius scaling, errors not scaled for covariance)."""

STEP_REFERENCE_TYPES = frozenset({"extract1d", "apcorr", "pastasoss", "specprofile",
                                  "speckernel", "psf"})
"""The Step's reference types: ifuqa overrides every one (EXTRACT1D and APCORR with its files,
the others with ``"N/A"``), so a type the Step gains would reach CRDS: checked."""

_IFU_FINGERPRINT = (
    "pixel_solid_angle = 1.0",
    "flux = temp_flux * pixel_solid_angle * 1.0e6",
    "radius_match /= scale_arcsec",
    "apcorr.find_apcorr_func(i, radius)",
    "temp_weightmap[temp_weightmap > 1] = 1",
    'default_source_type = "EXTENDED"',
)
"""Lines of ``ifu_extract1d``/``extract_ifu`` ifuqa relies on: the solid-angle fallback used for
MJy cubes, radii in arcsec, the aperture correction interpolated at each plane's radius, the
weight map clipped in place (so the Step gets a copy), a missing source type taken as
EXTENDED (so ifuqa sets POINT)."""

_METHOD = "exact"
_SUBPIXELS = 10
_WHOLE_FIELD_METHOD = "center"
"""The EXTRACT1D ``method`` for a cube the Step extracts as EXTENDED: its whole-field rectangle
has its edges on spaxel boundaries, so every spaxel is wholly inside and photutils' "center"
weights equal its "exact" ones (the sum is the same: tests/test_extract1d_step.py), while its
exact rectangle overlap costs 7 s on a 379-plane 41 × 41 cube (0.9 s with "center")."""


def check_behaviour() -> tuple[list[str], list[str]]:
    """Verify the Step's parameters and defaults, its reference types and the IFU extraction
    lines ifuqa relies on.

    Returns
    -------
    checked, problems : list of str
    """
    problems: list[str] = []
    try:
        step_class = resolve(_STEP_MOD, "Extract1dStep")
    except (ImportError, AttributeError):
        return [], []  # reported by the signature check
    spec = step_class.spec
    for name, default in STEP_PARAMETERS.items():
        match = re.search(rf"^\s*{name}\s*=.*default\s*=\s*([^,)\s]+)", spec, re.M)
        if match is None:
            problems.append(f"Extract1dStep has no parameter {name}: run_extract_1d_step sets "
                            "or relies on it")
        elif match.group(1).strip("'\"") != default:
            problems.append(f"Extract1dStep's default {name} is {match.group(1)}, not {default}: "
                            "ifuqa states the Step's defaults and relies on them")
    types = set(getattr(step_class, "reference_file_types", []))
    if types != STEP_REFERENCE_TYPES:
        problems.append(f"changed: Extract1dStep reference files are {sorted(types)}; "
                        f"run_extract_1d_step overrides {sorted(STEP_REFERENCE_TYPES)} (any "
                        "other would be looked up in CRDS)")
    problems += fingerprint_problems(_IFU_MOD, "ifu_extract1d", _IFU_FINGERPRINT[:2] +
                                     _IFU_FINGERPRINT[5:], "run_extract_1d_step relies on them")
    problems += fingerprint_problems(_IFU_MOD, "extract_ifu", _IFU_FINGERPRINT[2:3] +
                                     _IFU_FINGERPRINT[4:5], "run_extract_1d_step relies on them")
    problems += fingerprint_problems(_IFU_MOD, "ifu_extract1d", _IFU_FINGERPRINT[3:4],
                                     "the APCORR file ifuqa writes is tabulated for it")
    checked = [] if problems else ["Extract1dStep parameters, defaults, reference types and "
                                   "IFU extraction fingerprint"]
    return checked, problems


# ----------------------------------------------------------------------------- reference files


def _write_asdf(path: Path, tree: dict[str, Any]) -> None:
    """Write a reference tree (arrays in binary blocks)."""
    import asdf

    asdf.AsdfFile(tree).write_to(str(path))


def load_reference(path: str | Path, model_class: str) -> Any:
    """A reference file as the in-memory model the Step is handed as its override.

    Parameters
    ----------
    path : path
        An EXTRACT1D or APCORR file :func:`write_extract1d_reference` or
        :func:`write_apcorr_reference` wrote.
    model_class : str
        ``"Extract1dIFUModel"`` or ``"NrsIfuApcorrModel"``.

    Returns
    -------
    stdatamodels.jwst.datamodels.ReferenceFileModel

    Notes
    -----
    The arrays are read when the file is opened: jwst uses the EXTRACT1D arrays after closing
    the model it opens a file path with (``ifu.get_extract_parameters``), which a lazily loaded
    ASDF block does not survive ("Attempt to load block from closed file"); handing the Step
    the file's path works only for files with inline arrays, which take 1 s to write for a
    452-plane table against 6 ms for binary blocks.
    """
    import asdf
    from stdatamodels.jwst import datamodels

    with asdf.open(str(path), lazy_load=False, memmap=False) as af:
        return getattr(datamodels, model_class)(af)


def _reference_meta(reftype: str, datamodel: str, description: str) -> dict[str, Any]:
    return {"telescope": "JWST", "reftype": reftype, "datamodel": datamodel,
            "instrument": {"name": "NIRSPEC"}, "exposure": {"type": "NRS_IFU"},
            "pedigree": "DUMMY", "author": "ifuqa", "useafter": "2022-01-01T00:00:00",
            "description": description, "origin": "ifuqa"}


def write_extract1d_reference(path: str | Path, wavelength_um: ArrayLike, radius_arcsec: ArrayLike,
                              *, inner_bkg_arcsec: ArrayLike | None = None,
                              outer_bkg_arcsec: ArrayLike | None = None,
                              method: str = _METHOD) -> Path:
    """Write a NIRSpec IFU EXTRACT1D reference file (``Extract1dIFUModel``, ASDF).

    Parameters
    ----------
    path : path
        The ``.asdf`` file to write.
    wavelength_um, radius_arcsec : array_like
        Aperture radius (arcsec) at each wavelength (µm).
    inner_bkg_arcsec, outer_bkg_arcsec : array_like, optional
        Background annulus per wavelength; without them background subtraction is off
        (``subtract_background: false``, annulus radii 0).
    method : {"exact", "center", "subpixel"}
        photutils' aperture overlap method (``subpixels`` = 10 for "subpixel").

    Returns
    -------
    pathlib.Path
    """
    wave = np.asarray(wavelength_um, dtype=np.float32).ravel()
    radius = np.broadcast_to(np.asarray(radius_arcsec, dtype=np.float32), wave.shape).copy()
    background = inner_bkg_arcsec is not None and outer_bkg_arcsec is not None
    inner = (np.broadcast_to(np.asarray(inner_bkg_arcsec, np.float32), wave.shape).copy()
             if background else np.zeros_like(wave))
    outer = (np.broadcast_to(np.asarray(outer_bkg_arcsec, np.float32), wave.shape).copy()
             if background else np.zeros_like(wave))
    meta = _reference_meta("EXTRACT1D", "Extract1dIFUModel",
                           "ifuqa: NIRSpec IFU point-source aperture radii")
    meta.update(region_type="target", subtract_background=bool(background), method=method,
                subpixels=_SUBPIXELS)
    data = {"wavelength": wave, "wavelength_units": "micron", "radius": radius,
            "radius_units": "arcsec", "inner_bkg": inner, "inner_bkg_units": "arcsec",
            "outer_bkg": outer, "outer_bkg_units": "arcsec"}
    out = Path(path)
    _write_asdf(out, {"meta": meta, "data": data})
    return out


def write_apcorr_reference(path: str | Path, wavelength_um: ArrayLike, radius_arcsec: ArrayLike,
                           apcorr: ArrayLike, *, grating: str, filter_name: str) -> Path:
    """Write a NIRSpec IFU APCORR reference file (``NrsIfuApcorrModel``, ASDF).

    Parameters
    ----------
    path : path
        The ``.asdf`` file to write.
    wavelength_um : array_like, shape (nwave,)
        Wavelengths (µm).
    radius_arcsec, apcorr : array_like, shape (nradius, nwave)
        Aperture radii (arcsec) and the correction (≥ 1, the inverse of the encircled energy)
        at each radius and wavelength.
    grating, filter_name : str
        The disperser the table is for.

    Returns
    -------
    pathlib.Path
    """
    wave = np.asarray(wavelength_um, dtype=np.float32).ravel()
    radius = np.atleast_2d(np.asarray(radius_arcsec, dtype=np.float32))
    corr = np.atleast_2d(np.asarray(apcorr, dtype=np.float32))
    if radius.shape != corr.shape or radius.shape[1] != wave.size or radius.shape[0] < 2:
        raise ValueError(f"radius {radius.shape} and apcorr {corr.shape} must be (nradius ≥ 2, "
                         f"{wave.size})")
    meta = _reference_meta("APCORR", "NrsIfuApcorrModel",
                           "ifuqa: NIRSpec IFU aperture correction from the known PSF")
    meta["instrument"].update(grating=grating, filter=filter_name)
    table = {"grating": grating, "filter": filter_name, "wavelength": wave,
             "wavelength_units": "micron", "radius": radius, "radius_units": "arcsec",
             "apcorr": corr, "apcorr_err": np.zeros_like(corr)}
    out = Path(path)
    _write_asdf(out, {"meta": meta, "apcorr_table": table})
    return out


def read_extract1d_reference(path: str | Path) -> dict[str, Any]:
    """The parameters of an EXTRACT1D file as jwst reads them (``Extract1dIFUModel``).

    Returns
    -------
    dict
        ``subtract_background``, ``method``, ``subpixels``, ``wavelength``, ``radius``,
        ``inner_bkg``, ``outer_bkg``.
    """
    from stdatamodels.jwst import datamodels

    with datamodels.Extract1dIFUModel(str(path)) as ref:
        data = ref.data
        return {"subtract_background": ref.meta.subtract_background, "method": ref.meta.method,
                "subpixels": ref.meta.subpixels,
                **{k: np.array(getattr(data, k)) for k in ("wavelength", "radius", "inner_bkg",
                                                           "outer_bkg")}}


def read_apcorr_reference(path: str | Path) -> dict[str, Any]:
    """The table of an APCORR file as jwst reads it (``NrsIfuApcorrModel``).

    Returns
    -------
    dict
        ``wavelength``, ``radius``, ``apcorr``, ``radius_units``, ``grating``, ``filter``.
    """
    from stdatamodels.jwst import datamodels

    with datamodels.NrsIfuApcorrModel(str(path)) as ref:
        table = ref.apcorr_table
        return {"wavelength": np.array(table.wavelength), "radius": np.array(table.radius),
                "apcorr": np.array(table.apcorr), "radius_units": table.radius_units,
                "grating": table.grating, "filter": table.filter}


# ----------------------------------------------------------------------------- the Step


@dataclass
class StepExtraction:
    """What :func:`run_extract_1d_step` returns.

    Attributes
    ----------
    model : stdatamodels.jwst.datamodels.MultiSpecModel
        The Step's x1d model (the caller saves and closes it).
    center_xy : (float, float)
        The aperture centre the Step used (its ``EXTRACTION_X/Y``, 0-based cube pixels).
    centering : str
        How it was found: ``"ifu_autocen"``, ``"center_xy"``, ``"nominal"`` (the target's
        nearest spaxel, ``locn_from_wcs``) or ``"nominal (ifu_autocen found no source)"``.
    references : dict
        Reference type → the file the Step used (or ``"N/A"``), as the Step recorded them.
    runs : int
        How often the Step ran (2 when the predicted centre was not the Step's).
    """

    model: Any
    center_xy: tuple[float, float]
    centering: str
    references: dict[str, str] = field(default_factory=dict)
    runs: int = 1


def predicted_center(cube: Any, *, autocenter: bool, center_xy: tuple[float, float] | None = None
                     ) -> tuple[tuple[float, float], str]:
    """The aperture centre ``Extract1dStep`` will use on a point-source cube, and how.

    Parameters
    ----------
    cube : stdatamodels.jwst.datamodels.IFUCubeModel
        The cube.
    autocenter : bool
        Whether the Step runs with ``ifu_autocen``.
    center_xy : (float, float), optional
        An explicit centre (the Step's ``center_xy``), which wins.

    Returns
    -------
    (x, y), str
        The centre (0-based) and the centring (see :class:`StepExtraction`); for an extended
        source (``SRCTYPE = EXTENDED``) the Step sums the whole field around the cube's centre.
    """
    ny, nx = cube.data.shape[1:]
    if _source_type(cube) == "EXTENDED":
        return (nx / 2.0 - 0.5, ny / 2.0 - 0.5), "whole field (SRCTYPE=EXTENDED)"
    if center_xy is not None:
        return (float(center_xy[0]), float(center_xy[1])), "center_xy"
    how = "nominal"
    if autocenter:
        from ifuqa.process.jwst_api.extract_1d import ifu_autocenter

        try:
            wave = _step_wavelengths(cube)
            x, y = ifu_autocenter(np.asarray(cube.data), wave)
            return (float(x), float(y)), "ifu_autocen"
        except RuntimeError:
            how = "nominal (ifu_autocen found no source)"
    from jwst.extract_1d import ifu as jifu

    locn = jifu.locn_from_wcs(cube, cube.meta.target.ra, cube.meta.target.dec)
    if locn is None or np.isnan(locn[0]):
        return (nx / 2.0, ny / 2.0), how
    return (float(locn[0]), float(locn[1])), how


def _source_type(cube: Any) -> str:
    """The source type the Step extracts the cube as: a missing one is set to POINT (ifuqa's
    extraction is of a point source), any other than POINT the Step takes as EXTENDED."""
    kind = str(cube.meta.target.source_type or "POINT").upper()
    return kind if kind == "POINT" else "EXTENDED"


def _step_wavelengths(cube: Any) -> NDArray[np.float64]:
    """The wavelength of each plane as the Step reads it (the cube's gwcs at its centre)."""
    from jwst.extract_1d import ifu as jifu

    ny, nx = cube.data.shape[1:]
    return np.asarray(jifu.get_coordinates(cube, nx / 2.0, ny / 2.0)[2], dtype=np.float64)


def _step_copy(cube: Any, *, flux_density: bool) -> Any:
    work = cube.copy()
    meta = work.meta
    if meta.target.source_type is None:
        meta.target.source_type = "POINT"
    if meta.wcsinfo.dispersion_direction is None:
        meta.wcsinfo.dispersion_direction = 1
    if flux_density:
        meta.photometry.pixelarea_steradians = None
    return work


def run_extract_1d_step(
    cube: Any,
    *,
    wavelength_um: ArrayLike,
    radius_arcsec: ArrayLike,
    apcorr_for_center: Callable[[tuple[float, float]], tuple[ArrayLike, ArrayLike]],
    annulus_arcsec: tuple[ArrayLike, ArrayLike] | None = None,
    center_xy: tuple[float, float] | None = None,
    autocenter: bool = True,
    reference_dir: str | Path | None = None,
) -> StepExtraction:
    """Extract a point source's spectrum from a cube with jwst's ``Extract1dStep`` itself.

    Parameters
    ----------
    cube : stdatamodels.jwst.datamodels.IFUCubeModel
        The cube (MJy/sr; or MJy, the NS-IFU02 defect, see the module docstring). Not modified:
        the Step gets a copy.
    wavelength_um, radius_arcsec : array_like
        The aperture radius (arcsec) per wavelength (µm), written to the EXTRACT1D file.
    apcorr_for_center : callable
        ``(x, y) → (radius_rows_arcsec, apcorr)``, each ``(nradius ≥ 2, nwave)`` on
        ``wavelength_um``: the aperture correction for a source centred at (x, y), written to
        the APCORR file.
    annulus_arcsec : (array_like, array_like), optional
        Inner and outer background radius per wavelength (the Step's sigma-clipped annulus
        background); none by default.
    center_xy : (float, float), optional
        Aperture centre (0-based), the Step's ``center_xy``.
    autocenter : bool
        Run with ``ifu_autocen`` (ignored when ``center_xy`` is given).
    reference_dir : path, optional
        Keep the two reference files here (``ifuqa_extract1d.asdf``, ``ifuqa_apcorr.asdf``);
        by default they are written to a temporary folder and removed.

    Returns
    -------
    StepExtraction

    Raises
    ------
    ValueError
        If the cube is not in MJy/sr or MJy, or the Step skipped.
    """
    from jwst.extract_1d import Extract1dStep
    from photutils.utils.exceptions import NoDetectionsWarning

    bunit = (cube.meta.bunit_data or "MJy/sr").strip()
    if bunit not in ("MJy/sr", "MJy"):
        name = getattr(cube.meta, "filename", None) or "the cube"
        raise ValueError(f"{name}: cannot extract from a cube in {bunit!r}; expected MJy/sr or "
                         "MJy")
    flux_density = bunit == "MJy"
    solid_angle = cube.meta.photometry.pixelarea_steradians
    center, how = predicted_center(cube, autocenter=autocenter, center_xy=center_xy)
    point = _source_type(cube) == "POINT"
    quiet = [logging.getLogger(name) for name in ("stpipe", "jwst", "stcal", "CRDS")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="ifuqa-x1d-") as tmp:
            folder = Path(reference_dir) if reference_dir is not None else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            ext_path = write_extract1d_reference(
                folder / "ifuqa_extract1d.asdf", wavelength_um, radius_arcsec,
                inner_bkg_arcsec=None if annulus_arcsec is None else annulus_arcsec[0],
                outer_bkg_arcsec=None if annulus_arcsec is None else annulus_arcsec[1],
                method=_METHOD if point else _WHOLE_FIELD_METHOD)
            ext_model = load_reference(ext_path, "Extract1dIFUModel")
            for run in (1, 2):
                ap_path, ap_model = "N/A", "N/A"
                if point:
                    rows, corr = apcorr_for_center(center)
                    ap_path = str(write_apcorr_reference(
                        folder / "ifuqa_apcorr.asdf", wavelength_um, rows, corr,
                        grating=str(cube.meta.instrument.grating),
                        filter_name=str(cube.meta.instrument.filter)))
                    ap_model = load_reference(Path(ap_path), "NrsIfuApcorrModel")
                step = Extract1dStep(
                    ifu_autocen=bool(autocenter and center_xy is None),
                    center_xy=None if center_xy is None else [float(c) for c in center_xy],
                    subtract_background=annulus_arcsec is not None, apply_apcorr=point,
                    override_extract1d=ext_model, override_apcorr=ap_model,
                    **{f"override_{t}": "N/A" for t in sorted(STEP_REFERENCE_TYPES)
                       if t not in ("extract1d", "apcorr")})
                with warnings.catch_warnings():
                    # ifu_autocen finding no source is an outcome (the Step falls back to the
                    # target, and the centring says so), not a warning to raise
                    warnings.simplefilter("ignore", NoDetectionsWarning)
                    result = step.process(_step_copy(cube, flux_density=flux_density))
                if result.meta.cal_step.extract_1d != "COMPLETE":
                    raise ValueError("jwst's extract_1d skipped the cube")
                spec = result.spec[0]
                found = (float(spec.extraction_x), float(spec.extraction_y))
                if np.allclose(found, center, rtol=0.0, atol=1e-4) or run == 2:
                    break
                result.close()
                center = found  # the Step's own centre: tabulate for it and run again
                how = f"{how} (the Step's centre, not the predicted one)"
            used = dict(step._reference_files_used)  # stpipe's record of the overrides
            written = {"extract1d": str(ext_path), "apcorr": ap_path}
            references = {t: written.get(t, name) if name.startswith("override://") else name
                          for t, name in used.items()}
    finally:
        for lg, level in zip(quiet, levels, strict=True):
            lg.setLevel(level)
    for ref_type, used in references.items():  # what Step.run would record (finalize_result)
        if ref_type in ("extract1d", "apcorr") and hasattr(result.meta.ref_file, ref_type):
            getattr(result.meta.ref_file, ref_type).name = (
                used if used == "N/A" else f"ifuqa:{Path(used).name}")
    if flux_density and solid_angle:
        table = result.spec[0].spec_table
        for col in ("SURF_BRIGHT", "SB_ERROR", "BACKGROUND", "BKGD_ERROR"):
            table[col] = table[col] / solid_angle
        for col in ("SB_VAR_POISSON", "SB_VAR_RNOISE", "SB_VAR_FLAT", "BKGD_VAR_POISSON",
                    "BKGD_VAR_RNOISE", "BKGD_VAR_FLAT"):
            table[col] = table[col] / solid_angle**2
    return StepExtraction(result, found, how, references, run)
