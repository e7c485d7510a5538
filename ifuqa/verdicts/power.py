"""The power matrix: every shipped check FAILS on data with the defect that re-creates its known
issue and PASSES with the fix — measured in the run, never copied.

With ``pytest --ifuqa --ifuqa-power-matrix`` the plugin adds, for each known issue whose
scenario is among the run's scenarios, a *defect dataset*
(:data:`ifuqa.builds.power_rows.POWER_ROWS`): the same scene
processed with the defect switch on (NS-IFU01…05), or, for NS-IFU06, which has no processing
defect, the scene with a large injected centroid drift. The checks of that issue (its
*targets*; a row may exempt a check, saying why) run on the defect dataset marked
``xfail(strict=True)``: a pass there — a check without power — fails the run. The other checks
are deselected on defect datasets. The HTML report then shows, per check and metric, the value
and verdict with the fix and with the defect (:func:`power_matrix`).

The defect datasets are the ones ``tests/test_power_matrix.py`` builds, so both share cached
builds. No heavy imports at module level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ifuqa.verdicts.record import Record, as_record

__all__ = ["PowerCell", "PowerLine", "PowerRow", "power_matrix"]


@dataclass(frozen=True)
class PowerRow:
    """One known issue's row of the power matrix: which dataset re-creates it and which checks
    must fail there.

    Attributes
    ----------
    issue : str
        Known issue (``"NS-IFU01"``).
    scenario : str
        Catalogue scenario whose fixed dataset is the "with the fix" column.
    defect : str
        What the defect column is, in words.
    exempt : tuple of (str, str)
        Checks of the issue (function names in ``checks/``) that the defect is *not* meant to
        make fail, each with the reason; every other check of the issue must fail on the
        defect dataset (so a newly shipped check must show its power, or say why not).
    defects : tuple of str
        Processing defect switches (:data:`ifuqa.process.config.DEFECTS`).
    options : tuple of (str, value)
        Extra processing options of the defect dataset.
    with_reference, with_scales : bool
        Extra products of the defect dataset (see :class:`ifuqa.builds.synthetic.SyntheticSpec`).
    variant : tuple of (str, value)
        Scenario changes (see :func:`ifuqa.scenario.variants.scenario_variant`) for a defect that
        is in
        the scene rather than the processing (NS-IFU06); ``variant_name`` names it.
    variant_name : str or None
        Scenario name of the variant.
    only : tuple of str
        When set, the row is about these checks alone: only they run on the defect dataset and
        only they appear in its lines of the matrix (a second row for an issue whose other
        checks already have one).
    """

    issue: str
    scenario: str
    defect: str
    exempt: tuple[tuple[str, str], ...] = ()
    defects: tuple[str, ...] = ()
    options: tuple[tuple[str, object], ...] = ()
    with_reference: bool = False
    with_scales: bool = False
    variant: tuple[tuple[str, object], ...] = ()
    variant_name: str | None = None
    only: tuple[str, ...] = ()

    def targets_check(self, check: str, issue: str) -> bool:
        """True when ``check`` (a function name in ``checks/``) of known issue ``issue`` must
        fail with this row's defect."""
        if issue != self.issue:
            return False
        return check in self.only if self.only else check not in dict(self.exempt)

    def exempt_reason(self, check: str) -> str | None:
        """Why ``check`` is not expected to fail with this defect (None: it is)."""
        return dict(self.exempt).get(check)


@dataclass
class PowerCell:
    """What one check's metric measured on one dataset."""

    dataset: str
    value: float | None = None
    unit: str = ""
    verdict: str = "not run"
    message: str = ""

    def text(self) -> str:
        """``"0.42 % pass"``, or the verdict alone when there is no value."""
        if self.value is None:
            return self.verdict
        return f"{self.value:.3g} {self.unit} {self.verdict}".replace("  ", " ")


@dataclass
class PowerLine:
    """A line of the power matrix: one metric of one check, with the fix and with the defect.

    ``power`` is ``"yes"`` (passes with the fix, fails with the defect), ``"no"`` (passes with
    the defect, or fails with the fix: it does not tell them apart), ``"unknown"`` (skipped,
    errored or not run on either dataset), or ``"not targeted"`` (the defect is not meant to
    make this check fail, so it did not run there).
    """

    issue: str
    check: str
    metric: str
    threshold: float | None
    defect: str
    fix: PowerCell
    broken: PowerCell | None
    power: str = "unknown"
    sense: str = "max"
    note: str = ""


def _power(fix: PowerCell, broken: PowerCell | None) -> str:
    if broken is None:
        return "not targeted"
    if broken.verdict == "pass" or (fix.verdict == "fail" and broken.verdict == "fail"):
        return "no"
    if fix.verdict == "pass" and broken.verdict == "fail":
        return "yes"
    return "unknown"


def power_matrix(records: Iterable[Record | Mapping[str, Any]],
                 layout: Iterable[tuple[PowerRow, str, str]]) -> list[PowerLine]:
    """Assemble the power matrix from the run's metric records.

    Parameters
    ----------
    records : iterable of Record
        The run's records (or their JSON form, as in the results file).
    layout : iterable of (PowerRow, str, str)
        Each row with the labels of its fixed and its defect dataset.

    Returns
    -------
    list of PowerLine
        One line per (check, metric) of the row's issue recorded on either dataset, rows in
        ``layout`` order, targeted checks first; rows without any record are left out.

    Examples
    --------
    >>> row = PowerRow("NS-IFU04", "pointing_offset_g395h", "extraction at the target position")
    >>> recs = [Record("NS-IFU04", "test_aperture_on_source", d, "extraction_offset", v, "mas",
    ...                threshold=30.0, verdict=x) for d, v, x in (("fixed", 4.0, "pass"),
    ...                                                           ("broken", 150.0, "fail"))]
    >>> [line.power for line in power_matrix(recs, [(row, "fixed", "broken")])]
    ['yes']
    """
    records = list(map(as_record, records))
    lines: list[PowerLine] = []
    for row, fix_label, defect_label in layout:
        keyed: dict[tuple[str, str], dict[str, PowerCell]] = {}
        thresholds: dict[tuple[str, str], float | None] = {}
        senses: dict[tuple[str, str], str] = {}
        for rec in records:
            if rec.issue != row.issue or rec.dataset not in (fix_label, defect_label):
                continue
            if row.only and rec.check not in row.only:
                continue
            key = (rec.check, rec.metric)
            cell = PowerCell(rec.dataset, rec.value, rec.unit, rec.verdict, rec.message)
            keyed.setdefault(key, {})[rec.dataset] = cell
            if rec.threshold is not None:
                thresholds[key] = rec.threshold
            if rec.sense:
                senses[key] = rec.sense
        order = sorted(keyed, key=lambda k: (not row.targets_check(k[0], row.issue), k))
        for check, metric in order:
            cells = keyed[(check, metric)]
            targeted = row.targets_check(check, row.issue)
            fix = cells.get(fix_label, PowerCell(fix_label))
            broken = cells.get(defect_label, PowerCell(defect_label)) if targeted else None
            line = PowerLine(row.issue, check, metric, thresholds.get((check, metric)),
                             row.defect, fix, broken, sense=senses.get((check, metric), "max"),
                             note=row.exempt_reason(check) or "")
            line.power = _power(fix, broken)
            lines.append(line)
    return lines
