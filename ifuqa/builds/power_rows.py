"""The rows of the power matrix: for each known issue, the dataset that re-creates its defect.

Each :class:`ifuqa.verdicts.power.PowerRow` names the fixed scenario, the defect switches (or the
scenario variant, for a defect that is in the scene), the checks it exempts and the other checks
the defect is expected to make fail (cross-talk with a physical reason);
:func:`defect_spec` turns a row into the :class:`ifuqa.builds.synthetic.SyntheticSpec` the
plugin and the project's tests build.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ifuqa.builds.synthetic import SyntheticSpec
from ifuqa.scenario.variants import scenario_variant
from ifuqa.verdicts.power import PowerRow

__all__ = ["POWER_ROWS", "defect_spec", "power_datasets"]


POWER_ROWS: tuple[PowerRow, ...] = (
    PowerRow("NS-IFU01", "bright_point_g395h",
             "NS-IFU01 defect: each exposure judged alone in outlier detection",
             exempt=(("test_outliers_caught", "guards against too little rejection (warm "
                      "pixels missed); the defect rejects too much (measured 2026-12-07: "
                      "99.9 % warm-pixel recall with the defect, 100 % with the fix)"),
                     ("test_cosmic_rays_caught", "needs a scene simulated with ramps; its power "
                      "is shown by the cosmic-ray row")),
             defects=("NS-IFU01",), with_reference=True,
             crosstalk=(("test_extracted_flux_matches_truth", "the defect flags 61 % of the "
                         "PSF core in every exposure, so the cube has a hole at the PSF peak "
                         "and the x1d lacks up to 39 % of the flux in a wavelength bin "
                         "(measured 2026-12-07): the flux is really not conserved"),)),
    PowerRow("NS-IFU01", "cosmic_rays_g395h_ramps",
             "two groups per integration: jump detection cannot work (one difference per pixel)",
             variant=(("exposure_time", 15.0),), variant_name="cosmic_rays_2groups",
             only=("test_cosmic_rays_caught",)),
    PowerRow("NS-IFU02", "bright_point_g395h",
             "NS-IFU02 defect: point source in flux density into cube building",
             defects=("NS-IFU02",), with_scales=True),
    PowerRow("NS-IFU03", "faint_point_g140h_nrs2", "NS-IFU03 defect: no NSClean",
             exempt=(("test_spectrum_free_of_undulation", "the x1d-alone additive measure (for "
                      "users' spectra without a cube) needs a source whose level changes over "
                      "the band; this scene's flat 0.2 um spectrum cannot separate additive from "
                      "proportional structure: undecided with the fix and with the defect "
                      "(0.28 ± 3.5 % and 1.4 ± 7.2 %, limit 5 %; measured 2026-12-07); "
                      "test_off_source_spectrum_flat carries the undulation power on this row, "
                      "tests/test_real_power.py this check's power on SNAP-2"),
                     ("test_spectrum_not_negative", "a sanity check for users' x1d; this "
                      "scene's spectrum stays positive without cleaning (0.0 ± 0.2 % of 851 "
                      "samples negative with the defect, limit 5 %; measured 2026-12-07)")),
             defects=("NS-IFU03",)),
    PowerRow("NS-IFU04", "pointing_offset_g395h",
             "NS-IFU04 defect: extraction at the header's target position",
             exempt=(("test_centroid_recovers_true_position", "measures the cube's centroid, "
                      "which the extraction defect does not change (0.1 mas from the truth "
                      "with the defect; measured 2026-12-07)"),
                     ("test_x1d_holds_its_source", "guards against an aperture that misses the "
                      "source altogether; the defect's 0.15\" miss keeps most of it (1.1e4 "
                      "sigma with the defect, limit 5 sigma; its power is shown on an x1d "
                      "extracted off the source, tests/test_user_products.py and "
                      "tests/test_real_power.py)")),
             defects=("NS-IFU04",),
             crosstalk=(("test_extracted_flux_matches_truth", "the aperture 150 mas off the "
                         "source loses flux (6.7 % by NS-IFU04's own flux-loss metric on this "
                         "dataset), so the x1d is short of the truth: NS-IFU02's symptom, caused "
                         "by the mis-centring"),)),
    PowerRow("NS-IFU05", "bright_point_g395h",
             "NS-IFU05 defect: one dither position, single-spaxel extraction (r = 0.05\")",
             defects=("NS-IFU05",),
             options=(("aperture_radius_arcsec", 0.05), ("brightest_spaxel", True)),
             crosstalk=(("test_aperture_on_source", "the defect extracts at the brightest "
                         "spaxel, not at the source centroid: up to half a 0.1\" spaxel (50 mas) "
                         "away, more than the 30 mas limit"),
                        ("test_x1d_matches_curve_of_growth", "an r = 0.05\" aperture on one "
                         "spaxel, off the centroid, does not carry the cube's total flux"),
                        ("test_extracted_flux_matches_truth", "the same one-spaxel aperture, "
                         "off the centroid of an undersampled one-exposure PSF, misses up to "
                         "40 % of the flux in a wavelength bin that its PSF-model aperture "
                         "correction assumes (measured 2026-12-07)"),
                        )),
    PowerRow("NS-IFU06", "drift_point_g235m",
             "no pipeline fix: the documented symptom, a 20 mas drift over the whole "
             "simulated band, injected into the drift-free catalogue scene",
             exempt=(("test_drift_recovered", "accuracy of the recovered drift against the "
                      "injected one, which holds for any drift"),),
             variant=(("source_drift_mas", [12.0, 16.0]),),
             variant_name="drift_20mas"),
)
"""One row per known issue, and a second NS-IFU01 row for cosmic-ray rejection (``only``). The
datasets are those of ``tests/test_power_matrix.py`` (same specs, hence the same cached builds).
Every check of the row's issue must fail on the defect dataset except the exempt ones, which guard
against other failures (e.g. NS-IFU01's warm-pixel recall against *too little* rejection), each
with its reason and measured value. Every check — exempt ones and other issues' — runs on every
defect dataset: a failure there is cross-talk, shown in the power matrix; ``crosstalk`` names the
ones the defect is physically expected to cause, with the reason. Cross-talk without such a
reason (NS-IFU03's undulation on the NS-IFU01 and NS-IFU05 defects, …) is a check that is not
specific to its issue: it is shown, not declared away."""



def defect_spec(row: PowerRow, cache_root: Path) -> SyntheticSpec:
    """The defect dataset of a row (writes the scenario variant into ``cache_root`` when the
    row has one).

    Parameters
    ----------
    row : PowerRow
        The row.
    cache_root : path
        Build cache (where scenario variants are written).

    Returns
    -------
    SyntheticSpec
    """
    scenario = row.scenario
    if row.variant:
        scenario = scenario_variant(Path(cache_root), row.scenario,
                                    row.variant_name or f"{row.scenario}_variant",
                                    **dict(row.variant))
    return SyntheticSpec(scenario, defects=row.defects, options=row.options,
                         with_reference=row.with_reference, with_scales=row.with_scales)


def power_datasets(scenarios: Iterable[str], cache_root: Path, *,
                   rows: Iterable[PowerRow] = POWER_ROWS) -> list[tuple[PowerRow, Any]]:
    """(row, defect dataset spec) for each row whose fixed scenario is among ``scenarios``.

    Parameters
    ----------
    scenarios : iterable of str
        The run's scenarios (catalogue names; a TOML path never matches a row, since a file
        of the same name may hold another scene).
    cache_root : path
        Build cache (where scenario variants are written).
    rows : iterable of PowerRow
        The rows to consider (default :data:`POWER_ROWS`).
    """
    names = set(scenarios)
    return [(row, defect_spec(row, cache_root)) for row in rows if row.scenario in names]


