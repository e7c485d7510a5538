"""Writing what a search found: per known issue a folder with

============================  ==================================================================
``minimal.toml``              the minimal failing scene (``ifuqa simulate minimal.toml`` makes
                              its rate files; ``ifuqa explore --replay minimal.toml --issue ID``
                              rebuilds and checks it as the search did)
``minimal_full_chain.toml``   the same scene with the physics the fast mode replaced (full 1/f
                              noise, cleaned by NSClean), when the search confirmed it
``failing.json``              the failing records (``ifuqa-results/1``, readable by
                              ``ifuqa compare``)
``records.json``              every record of the scene (and of its full-chain confirmation)
``index.html``                the scene and each failing metric's figure
``examples.json``             every scene the search met: phase, status, time, what failed
============================  ==================================================================

and ``summary.json`` next to them: what each search explored and found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ifuqa.builds.exploration import PROFILES
from ifuqa.explore.outcomes import IssueExploration
from ifuqa.scenario.write import scenario_toml
from ifuqa.strategies import FIELD_HALF_ARCSEC, field_margin_arcsec
from ifuqa.util.atomic import atomic_write
from ifuqa.util.known_issues import marker_name

__all__ = ["finding_folder", "reproduce_commands", "write_finding", "write_summary"]


def finding_folder(out_dir: Path, result: IssueExploration) -> Path:
    """``OUT/NS-IFU04`` (``OUT/NS-IFU04[NS-IFU04]`` with defects)."""
    tag = f"[{'+'.join(result.defects)}]" if result.defects else ""
    return Path(out_dir) / f"{result.issue}{tag}"


def reproduce_commands(result: IssueExploration, toml: str = "minimal.toml") -> list[str]:
    """Shell commands that reproduce a finding from its folder."""
    defects = "".join(f" --defect {d}" for d in result.defects)
    profile = PROFILES[result.issue]
    process = "ifuqa process sim --out products" + ("" if profile.clean else " --no-clean") + \
        defects
    return [f"ifuqa simulate {toml} --out sim",
            f"{process}   # the exploration mode's processing",
            f"ifuqa explore --replay {toml} --issue {result.issue}{defects}   # the checks, "
            "with the truth"]


def _scene_rows(scenario: Any) -> dict[str, str]:
    src = scenario.sources[0]
    rows = {
        "disperser": f"{scenario.grating}/{scenario.filter}",
        "detectors": ", ".join(scenario.detectors) if scenario.detectors else "all lit",
        "band": ("full range" if scenario.wavelength_range_um is None else
                 "{:.4f}–{:.4f} µm".format(*scenario.wavelength_range_um)),
        "dithers": (scenario.dither_pattern if scenario.dither_pattern != "custom" else
                    "custom " + ", ".join(f"({x:.3f}, {y:.3f})" for x, y in scenario.dithers)),
        "readout": f"{scenario.readout}, {scenario.ngroups} groups, "
                   f"{scenario.effective_exposure_time:.0f} s",
        "pointing error": "({:.1f}, {:.1f}) mas".format(*(1000 * v for v in
                                                          scenario.pointing_offset)),
        "position angle": f"{scenario.position_angle:.1f}°",
        "source": f"{src.kind}, offset ({src.offset[0]:.3f}\", {src.offset[1]:.3f}\"), "
                  f"{src.flux_mjy:.4g} mJy, index {src.spectral_index:.2f}",
        "drift": "({:.1f}, {:.1f}) mas".format(*src.drift_mas),
        "lines": "; ".join(f"{ln.wavelength_um:.4f} µm × {1 + ln.amplitude:.3g} "
                           f"({ln.fwhm_kms:.0f} km/s)" for ln in src.lines) or "none",
        "noise": f"1/f × {scenario.noise.one_over_f:g}, read × {scenario.noise.read_noise:g}, "
                 f"cosmic rays × {scenario.noise.cosmic_rays:g}, seed {scenario.seed}",
    }
    if src.kind == "extended":
        rows["profile"] = (f"{src.profile}, r = {src.radius_arcsec:.3f}\", n = "
                           f"{src.sersic_index:.2f}, q = {src.axis_ratio:.2f}, PA "
                           f"{src.position_angle_deg:.0f}°")
    return rows


def _scene_figure(scenario: Any) -> bytes:
    from ifuqa.instrument.dispersers import get_disperser
    from ifuqa.instrument.psf.measured import measured_fwhm_arcsec
    from ifuqa.report.explore_page import scene_png

    band = scenario.wavelength_range_um or get_disperser(
        scenario.grating, scenario.filter).wavelength_range_um
    src = scenario.sources[0]
    px, py = scenario.pointing_offset
    positions = [(src.offset[0] + px + dx, src.offset[1] + py + dy) for dx, dy in
                 scenario.dithers]
    return scene_png(field_half_arcsec=FIELD_HALF_ARCSEC, positions=positions,
                     margin_arcsec=field_margin_arcsec(band),
                     aperture_arcsec=2.0 * float(measured_fwhm_arcsec(band[1])),
                     title="the source in each exposure (1, 2, …: dither positions)")


def _failing_figures(result: IssueExploration) -> list[tuple[Any, bytes | None]]:
    from ifuqa.report.figures import figure_png

    run = result.minimal_run
    out = []
    plots = {(check, res.metric): res for check, res in run.results}
    for record in run.failing:
        res = plots.get((record.check, record.metric))
        png = None
        if res is not None and res.plot:
            png = figure_png(res.metric, f"{record.check}: {res.metric} on "
                                         f"{record.dataset}", res.plot)
        out.append((record, png))
    return out


def write_finding(result: IssueExploration, out_dir: Path) -> Path | None:
    """Write a search's finding into its folder (see the module docstring).

    Parameters
    ----------
    result : IssueExploration
        A search (nothing but ``examples.json`` is written when it found nothing).
    out_dir : path
        Output folder.

    Returns
    -------
    Path or None
        The HTML page, or None when nothing failed.
    """
    from ifuqa.report.explore_page import render_explore_page
    from ifuqa.verdicts.results import write_results

    folder = finding_folder(out_dir, result)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "examples.json", lambda fh: json.dump(
        {"summary": result.summary(), "examples": [e.to_json() for e in result.examples]},
        fh, indent=1))
    if result.minimal is None or result.minimal_run is None:
        return None
    failing = result.minimal_run.failing
    head = [f"ifuqa explore: minimal scene on which {result.issue}'s checks fail"
            + (f" (processing defects {', '.join(result.defects)})" if result.defects else
               " (processed with the fixes, exploration mode)"),
            *[f"  {r.check} / {r.metric}: {r.message}" for r in failing],
            "Reproduce:", *[f"  {c}" for c in reproduce_commands(result)]]
    toml = scenario_toml(result.minimal, comment="\n".join(head))
    atomic_write(folder / "minimal.toml", lambda fh: fh.write(toml))
    records = list(result.minimal_run.records)
    if result.confirmation is not None:
        from ifuqa.builds.exploration import full_chain_scenario

        full = full_chain_scenario(result.minimal, PROFILES[result.issue])
        verdict = ("still fails" if result.confirmation.failed else "passes")
        text = scenario_toml(full, comment=(
            f"{result.minimal.name} with full 1/f noise, processed by the whole chain "
            f"(NSClean on): {result.issue} {verdict}\nReproduce: pytest --ifuqa "
            f"--ifuqa-scenario=minimal_full_chain.toml -m {marker_name(result.issue)}"))
        atomic_write(folder / "minimal_full_chain.toml", lambda fh: fh.write(text))
        records += result.confirmation.records
    write_results(folder / "failing.json", failing)
    write_results(folder / "records.json", records)
    summary = result.summary()
    labels = {
        "examples drawn": f"{summary['drawn']} of at most {result.max_examples}",
        "shrink steps": (f"{summary['shrink_steps']} ({summary['built']} scenes built in all, "
                         f"{summary['cached']} from the cache, {summary['not_built']} not "
                         "built: shrink budget spent)"),
        "failing scenes met": summary["failing_scenes"],
        "time": f"{summary['seconds']} s ({summary['seconds_per_built_example']} s per built "
                "scene)",
        "exploration mode": PROFILES[result.issue].physics_kept,
        "confirmed with the whole chain": {None: "not run", True: "yes: still fails",
                                           False: "no: passes"}[
            summary["confirmed_by_full_chain"]],
    }
    html = render_explore_page(
        issue=result.issue, title=f"ifuqa explore: {result.issue} fails on "
                                  f"{result.minimal.name}",
        toml=toml, scene=_scene_rows(result.minimal), scene_figure=_scene_figure(result.minimal),
        failing=_failing_figures(result), records=result.minimal_run.records,
        summary=labels, reproduce=reproduce_commands(result),
        confirmation=None if result.confirmation is None else result.confirmation.records,
        notes=[f"Defects switched on in processing: {', '.join(result.defects)}."]
        if result.defects else [])
    page = folder / "index.html"
    atomic_write(page, lambda fh: fh.write(html))
    return page


def write_summary(results: Iterable[IssueExploration], out_dir: Path) -> Path:
    """Write ``OUT/summary.json``: one entry per search.

    Parameters
    ----------
    results : iterable of IssueExploration
    out_dir : path

    Returns
    -------
    Path
    """
    data = [r.summary() for r in results]
    path = Path(out_dir) / "summary.json"
    atomic_write(path, lambda fh: json.dump({"format": "ifuqa-explore/1", "searches": data}, fh,
                                            indent=1))
    return path


def summary_lines(results: Sequence[IssueExploration]) -> list[str]:
    """The terminal summary: one line per search."""
    lines = []
    for r in results:
        s = r.summary()
        tag = f" [{'+'.join(r.defects)}]" if r.defects else ""
        head = (f"{r.issue}{tag}: {s['drawn']} scenes drawn, {s['shrink_steps']} shrink steps, "
                f"{s['built']} built ({s['seconds_per_built_example']} s each), "
                f"{s['seconds']} s")
        if r.found:
            confirmed = {None: "", True: "; still fails with the whole chain",
                         False: "; passes with the whole chain"}[s["confirmed_by_full_chain"]]
            lines.append(f"{head}: FAILS on {s['minimal']}{confirmed}")
            lines += [f"    {f}" for f in s["failing"]]
        else:
            lines.append(f"{head}: no failing scene")
    return lines
