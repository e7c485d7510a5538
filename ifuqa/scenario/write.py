"""Writing a :class:`~ifuqa.scenario.schema.Scenario` back as the TOML data it was read from.

:func:`scenario_dict` is the inverse of :func:`ifuqa.scenario.parse.parse_scenario`: every key is
written explicitly (defaults included, so the file does not depend on a later change of a
default), floats with :func:`repr` (exact round trip), and ``parse_scenario(scenario_dict(s))``
equals ``s`` except for ``source_path``. Used to save scenes drawn by :mod:`ifuqa.strategies`
(e.g. the minimal failing scene of ``ifuqa explore``) as files that ``ifuqa simulate`` takes.
"""

from __future__ import annotations

from typing import Any

from ifuqa.scenario.schema import Scenario, SourceSpec
from ifuqa.scenario.variants import to_toml

__all__ = ["scenario_dict", "scenario_toml"]


def _source_dict(src: SourceSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": src.kind,
        "offset": [float(v) for v in src.offset],
        "flux_mjy": float(src.flux_mjy),
        "spectral_index": float(src.spectral_index),
    }
    if src.reference_wavelength_um is not None:
        out["reference_wavelength_um"] = float(src.reference_wavelength_um)
    out["drift_mas"] = [float(v) for v in src.drift_mas]
    if src.kind == "extended":  # parse_scenario reads these keys for extended sources only
        out.update(profile=src.profile, radius_arcsec=float(src.radius_arcsec),
                   sersic_index=float(src.sersic_index), axis_ratio=float(src.axis_ratio),
                   position_angle_deg=float(src.position_angle_deg))
    if src.lines:
        out["lines"] = [{"wavelength_um": float(line.wavelength_um),
                         "amplitude": float(line.amplitude),
                         "fwhm_kms": float(line.fwhm_kms)} for line in src.lines]
    return out


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """The TOML data of a scenario (what :func:`~ifuqa.scenario.parse.parse_scenario` reads).

    Parameters
    ----------
    scenario : Scenario
        Any scenario (its ``source_path`` is not written; a PSF cube path is written as is).

    Returns
    -------
    dict
        Top-level keys, the ``noise`` table and the ``sources`` array of tables.

    Examples
    --------
    >>> from ifuqa.scenario import parse_scenario
    >>> s = parse_scenario({"grating": "G395H", "filter": "F290LP", "exposure_time": 500.0,
    ...                     "dithers": "4-point-dither",
    ...                     "sources": [{"kind": "point", "flux_mjy": 2.0}]})
    >>> data = scenario_dict(s)
    >>> data["dithers"], data["sources"][0]["flux_mjy"]
    ('4-point-dither', 2.0)
    >>> parse_scenario(data) == s
    True
    """
    data: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        data["description"] = scenario.description
    data.update(grating=scenario.grating, filter=scenario.filter)
    if scenario.detectors is not None:
        data["detectors"] = list(scenario.detectors)
    if scenario.wavelength_range_um is not None:
        data["wavelength_range_um"] = [float(v) for v in scenario.wavelength_range_um]
    data["dithers"] = (scenario.dither_pattern if scenario.dither_pattern != "custom"
                       else [[float(x), float(y)] for x, y in scenario.dithers])
    data.update(exposure_time=float(scenario.exposure_time), readout=scenario.readout,
                seed=int(scenario.seed),
                pointing_offset=[float(v) for v in scenario.pointing_offset],
                position_angle=float(scenario.position_angle),
                target_ra=float(scenario.target_ra), target_dec=float(scenario.target_dec),
                psf=scenario.psf)
    n = scenario.noise
    data["noise"] = {"poisson": bool(n.poisson), "read_noise": float(n.read_noise),
                     "one_over_f": float(n.one_over_f), "cosmic_rays": float(n.cosmic_rays),
                     "warm_pixels": float(n.warm_pixels),
                     "background_mjy_sr": float(n.background_mjy_sr), "ramps": bool(n.ramps)}
    data["sources"] = [_source_dict(src) for src in scenario.sources]
    if scenario.extra_studies is not None:
        data["extra_studies"] = bool(scenario.extra_studies)
    if scenario.expected_failures:
        data["expected_failures"] = [{"check": e.check, "reason": e.reason}
                                     for e in scenario.expected_failures]
    return data


def scenario_toml(scenario: Scenario, *, comment: str = "") -> str:
    """A scenario as TOML text that ``ifuqa simulate`` (and :func:`load_scenario`) reads back.

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    comment : str
        Text written first, each line as a ``#`` comment.

    Returns
    -------
    str

    Examples
    --------
    >>> import tomllib
    >>> from ifuqa.scenario import parse_scenario
    >>> s = parse_scenario({"grating": "PRISM", "filter": "CLEAR", "exposure_time": 300.0,
    ...                     "sources": [{"kind": "extended", "flux_mjy": 1.0,
    ...                                  "profile": "sersic"}]})
    >>> text = scenario_toml(s, comment="a PRISM scene")
    >>> text.splitlines()[0]
    '# a PRISM scene'
    >>> parse_scenario(tomllib.loads(text)) == s
    True
    """
    head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return head + to_toml(scenario_dict(scenario))
