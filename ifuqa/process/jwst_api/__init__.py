"""The only code of ifuqa that touches ``jwst`` internals: one module per jwst stage.

Every use of a private ``jwst`` module, a C extension, or a function that is not part of a
pipeline step's public interface lives in this package. Each stage module declares the API it
needs (``REQUIRED_API``; see :mod:`ifuqa.process.jwst_api._api`) and may check behaviour a
signature cannot show (``check_behaviour``); :func:`check_jwst_api` gathers them all against the
installed ``jwst`` and fails loudly, naming every symbol that moved.

=========================  ================================================================
module                     jwst code wrapped
=========================  ================================================================
``ramp_fitting``           ``jump.JumpStep``, ``ramp_fitting.RampFitStep`` (their ``process``)
``clean_flicker_noise``    ``clean_flicker_noise.CleanFlickerNoiseStep`` (with a user mask)
``outlier_detection``      ``outlier_detection.ifu.detect_outliers``
``adaptive_trace_model``   ``adaptive_trace_model.trace_model`` building blocks
``extract_1d``             ``extract_1d.Extract1dStep.process`` with ``ifu_autocen``
``cube_build``             ``cube_build`` C kernels ``cube_wrapper_driz``, ``cube_wrapper``
=========================  ================================================================

Two release lines are supported, 2.0.x and 3.0.x (:data:`JWST_COMPATIBLE`; the lines are in
:mod:`ifuqa.process.jwst_api._lines`). Where jwst internals differ between them, the stage
module keeps the common code and one small module per line keeps the difference, chosen by the
installed version:

==========================  =====================================================================
per-line modules            what differs (2.0.x → 3.0.x)
==========================  =====================================================================
``adaptive_trace_model_*``  the NRS_IFU trace model (#10264, #10391): fit test, fit parameters,
                            ``require_ngood`` of the oversampling, negative-mean restore,
                            flux-density scaling; ``fit_all_regions``/``_set_*_kwargs``
                            signatures
``extract_1d_*``            the centroid columns of ``DAOStarFinder``'s table (photutils 2.x
                            ``xcentroid``, 3.x ``x_centroid``; #10471)
==========================  =====================================================================

The other stages call jwst code that is identical in both lines. :func:`check_jwst_api` checks
the installed line's API; :func:`stage_availability` says, stage by stage, whether the installed
jwst provides it and, when it does not, why (the API problems of that stage alone), so that a
stage a line cannot provide is reported as unavailable with its reason instead of being replaced
by something else. On the two tested lines every stage is available; a jwst outside them (a
candidate from jwst's main branch) may lack one, e.g. the trace model, while the rest of the
chain still runs.

The stages hand in plain ``numpy`` arrays and gwcs-less ``stdatamodels`` models (the synthetic
instrument model supplies slice, along-slice coordinate and wavelength per pixel instead of a
gwcs). ``jwst`` is imported lazily inside the functions, so importing this package is cheap. No
input array or model is ever modified. May import: numpy, astropy, stdatamodels, stcal, jwst.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ifuqa.process.jwst_api._api import JwstApiError, verify_signatures
from ifuqa.process.jwst_api._lines import LINES, installed_jwst_version, installed_line, line_of

__all__ = ["JWST_COMPATIBLE", "LINES", "STAGE_MODULES", "JwstApiError", "StageAvailability",
           "check_jwst_api", "jwst_line", "jwst_version", "stage_availabilities",
           "stage_availability"]

JWST_COMPATIBLE = ">=2.0,<3.1"
"""Range of ``jwst`` versions this adapter is written and tested against: the release lines
2.0.x and 3.0.x (:data:`LINES`; jwst has no release between 2.0.1 and 3.0.0). The ``jwst``
range in ``pyproject.toml`` is the same."""

STAGE_MODULES = ("ramp_fitting", "clean_flicker_noise", "outlier_detection",
                 "adaptive_trace_model", "extract_1d", "cube_build")
"""The stage modules of this package, each declaring the jwst API it needs."""


STAGE_TITLES = {
    "ramp_fitting": "jump detection and ramp fitting (jwst jump, ramp_fitting)",
    "clean_flicker_noise": "1/f cleaning (jwst clean_flicker_noise NSClean)",
    "outlier_detection": "IFU outlier detection (jwst outlier_detection.ifu)",
    "adaptive_trace_model": "the adaptive trace model (jwst adaptive_trace_model)",
    "extract_1d": "the 1-D extraction (jwst Extract1dStep, ifu_autocen)",
    "cube_build": "the cube_build kernels (jwst cube_build)",
}
"""What each stage module provides, in words (for messages and reports)."""


def jwst_version() -> str:
    """Return the installed ``jwst`` version string.

    Returns
    -------
    str
        ``jwst.__version__``.
    """
    import jwst

    return str(jwst.__version__)


def jwst_line() -> str:
    """The release line of the installed jwst whose API the adapter uses (``"2.0"``, ``"3.0"``;
    for a version in no tested line, the nearest older one).

    Returns
    -------
    str
    """
    return installed_line()


def _version_in_range(version: str) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    return Version(version) in SpecifierSet(JWST_COMPATIBLE) and line_of(version) is not None


@dataclass(frozen=True)
class StageAvailability:
    """Whether the installed jwst provides one stage of ifuqa's chain.

    Attributes
    ----------
    stage : str
        A name of :data:`STAGE_MODULES`.
    available : bool
        True when every symbol, signature and behaviour the stage relies on is there.
    reason : str
        Why it is not (the stage's API problems, with the installed version and the line they
        were checked against); empty when it is available.
    jwst : str
        The installed jwst version.
    line : str
        The release line whose API was checked (:func:`jwst_line`).
    """

    stage: str
    available: bool
    reason: str
    jwst: str
    line: str

    def describe(self) -> str:
        """One line: ``"<title>: available on jwst 2.0.1 (2.0.x line)"`` or ``"... unavailable
        on this line (jwst 3.1.0, checked against the 3.0.x line's API): <reason>"``."""
        title = STAGE_TITLES.get(self.stage, self.stage)
        if self.available:
            return f"{title}: available on jwst {self.jwst} ({self.line}.x line)"
        return f"{title}: unavailable on this line: {self.reason}"

    def to_json(self) -> dict[str, object]:
        """The availability as a JSON-ready dict."""
        return {"stage": self.stage, "available": self.available, "reason": self.reason,
                "jwst": self.jwst, "line": self.line}


_AVAILABILITY: dict[tuple[str, str], StageAvailability] = {}


def stage_availability(stage: str, *, refresh: bool = False) -> StageAvailability:
    """Whether the installed jwst provides ``stage``, and if not, why.

    Runs the stage module's part of :func:`check_jwst_api` (its ``REQUIRED_API`` and behaviour
    checks) for the installed release line; the answer is remembered per jwst version.

    Parameters
    ----------
    stage : str
        A name of :data:`STAGE_MODULES` (``"adaptive_trace_model"``, ...).
    refresh : bool, optional
        Check again instead of using the remembered answer.

    Returns
    -------
    StageAvailability

    Raises
    ------
    ValueError
        For a name that is not a stage module.
    """
    if stage not in STAGE_MODULES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGE_MODULES)}")
    version = installed_jwst_version()
    key = (stage, version)
    if refresh or key not in _AVAILABILITY:
        line = jwst_line()
        problems: list[str] = []
        try:
            module = importlib.import_module(f"{__name__}.{stage}")
            problems += verify_signatures(module.REQUIRED_API)[1]
            if hasattr(module, "check_behaviour"):
                problems += module.check_behaviour()[1]
        except Exception as exc:  # a jwst that cannot even be imported for this stage
            problems.append(f"{type(exc).__name__}: {exc}")
        scope = ("" if _version_in_range(version) else
                 f", outside the tested range jwst{JWST_COMPATIBLE}")
        reason = (f"jwst {version} (checked against the {line}.x line's API{scope}): "
                  + "; ".join(problems)) if problems else ""
        _AVAILABILITY[key] = StageAvailability(stage, not problems, reason, version, line)
    return _AVAILABILITY[key]


def stage_availabilities(*, refresh: bool = False) -> dict[str, StageAvailability]:
    """:func:`stage_availability` of every stage module.

    Parameters
    ----------
    refresh : bool, optional
        Check again instead of using the remembered answers.

    Returns
    -------
    dict
        Stage name → :class:`StageAvailability`, in :data:`STAGE_MODULES` order.
    """
    return {stage: stage_availability(stage, refresh=refresh) for stage in STAGE_MODULES}


def check_jwst_api() -> list[str]:
    """Verify every ``jwst`` symbol, call signature and behaviour the stage modules rely on.

    Imports each symbol a stage module declares for the installed release line, compares its
    ``inspect.signature`` against the parameter names the module passes (same names, same
    leading order), and runs each module's
    behaviour checks (source fingerprints of what is reproduced or relied on, reference-file
    types, the cube_build kernels on a tiny input).

    Returns
    -------
    list of str
        Human-readable lines describing what was verified (one per symbol), starting with the
        installed version.

    Raises
    ------
    JwstApiError
        If anything is missing or changed; the message lists every problem, the installed
        ``jwst`` version and the pinned range.
    """
    try:
        version = jwst_version()
    except ImportError as exc:  # pragma: no cover - jwst is a hard dependency
        raise JwstApiError(f"jwst is not importable: {exc}") from exc
    in_range = _version_in_range(version)
    line = jwst_line()
    checked = [f"jwst {version} ({'within' if in_range else 'OUTSIDE'} {JWST_COMPATIBLE}; "
               f"checked against the {line}.x line's API)"]
    problems: list[str] = []
    for name in STAGE_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        ok, bad = verify_signatures(module.REQUIRED_API)
        checked += ok
        problems += bad
        if hasattr(module, "check_behaviour"):
            ok, bad = module.check_behaviour()
            checked += ok
            problems += bad
    if problems:
        raise JwstApiError(
            f"installed jwst {version} (ifuqa pins jwst{JWST_COMPATIBLE}"
            f"{'' if in_range else '; installed version is OUTSIDE the pinned range'}; "
            f"checked against the {line}.x line's API) "
            "does not provide the API ifuqa.process.jwst_api relies on:\n  - "
            + "\n  - ".join(problems)
        )
    return checked
