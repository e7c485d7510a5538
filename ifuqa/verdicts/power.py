"""The power matrix: every shipped check FAILS on data with the defect that re-creates its known
issue and PASSES with the fix — and does not fail on the other issues' defects (cross-talk) —
measured in the run, never copied.

With ``pytest --ifuqa --ifuqa-power-matrix`` the plugin adds, for each known issue whose
scenario is among the run's scenarios, a *defect dataset*
(:data:`ifuqa.builds.power_rows.POWER_ROWS`): the same scene processed with the defect switch on
(NS-IFU01…05), or, for NS-IFU06, which has no processing defect, the scene with a large injected
centroid drift. **Every** check runs on every defect dataset:

* the checks of the row's issue that it *targets* are marked ``xfail(strict=True)``: a pass
  there — a check without power — fails the run;
* every other check (other issues' checks, and the row's exempt checks, each exemption with its
  reason) is a *cross-talk probe* (:data:`PROBE_REASON`): a pass is a plain pass, a failure is
  reported as ``XFAIL`` with the failing metric — a check that fails on another issue's defect
  while it passes with the fix is *cross-talk*, shown as such in the terminal summary, the HTML
  report and ``docs/power_matrix.md``. Where the defect legitimately causes the other issue's
  symptom (a mis-centred extraction loses flux), the row says so with the reason
  (:attr:`PowerRow.crosstalk`) and the cell reads "expected cross-talk"; nothing is deselected.

:func:`power_matrix` assembles the lines (check × metric × defect dataset) from the run's
records, :func:`crosstalk_grid` the check × defect-dataset grid and :func:`matrix_lines` its text
form. The defect datasets are the ones ``tests/test_power_matrix.py`` builds, so both share
cached builds. No heavy imports at module level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ifuqa.verdicts.record import Record, as_record

__all__ = ["CROSSTALK", "PROBE_REASON", "SYMBOLS", "CrossTalkGrid", "PowerCell", "PowerLine",
           "PowerRow", "crosstalk_grid", "matrix_lines", "power_matrix"]

PROBE_REASON = "power matrix: cross-talk probe"
"""Start of the ``xfail`` reason of a check run on a defect dataset it is not meant to fail
(the plugin rewrites it, for a failure, into what failed; a pass is a plain pass)."""

CROSSTALK = ("cross-talk", "expected cross-talk")
"""The powers of a line whose check fails on a defect dataset it is not meant to fail, while it
passes on the fixed dataset of that row."""


@dataclass(frozen=True)
class PowerRow:
    """One known issue's row of the power matrix: which dataset re-creates it, which checks
    must fail there, and which other checks are expected to fail there too (and why).

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
        make fail, each with the reason (with the measured number, when the reason is that the
        defect is too small for the check); every other check of the issue must fail on the
        defect dataset (so a newly shipped check must show its power, or say why not). Exempt
        checks still run on the defect dataset; their values are shown.
    defects : tuple of str
        Processing defect switches (:data:`ifuqa.process.config.DEFECTS`).
    options : tuple of (str, value)
        Extra processing options of the defect dataset.
    with_reference, with_scales : bool
        Extra products of the defect dataset (see :class:`ifuqa.builds.synthetic.SyntheticSpec`).
    variant : tuple of (str, value)
        Scenario changes (see :func:`ifuqa.scenario.variants.scenario_variant`) for a defect that
        is in the scene rather than the processing (NS-IFU06); ``variant_name`` names it.
    variant_name : str or None
        Scenario name of the variant.
    only : tuple of str
        When set, only these checks of the issue are targeted (a second row for an issue whose
        other checks already have one); the issue's other checks run there as probes, like the
        other issues' checks.
    crosstalk : tuple of (str, str)
        Checks the row does not target (of other issues, or of this issue in an ``only`` row)
        that the defect is physically expected to make fail, each with the reason. They are
        not exempted: they run, and the matrix shows them as "expected cross-talk" (or, if they
        pass, says that the expected cross-talk did not happen).
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
    crosstalk: tuple[tuple[str, str], ...] = ()

    def targets_check(self, check: str, issue: str) -> bool:
        """True when ``check`` (a function name in ``checks/``) of known issue ``issue`` must
        fail with this row's defect."""
        if issue != self.issue:
            return False
        return check in self.only if self.only else check not in dict(self.exempt)

    def exempt_reason(self, check: str) -> str | None:
        """Why ``check`` is not expected to fail with this defect (None: it is, or it is not a
        check of this row's issue)."""
        return dict(self.exempt).get(check)

    def crosstalk_reason(self, check: str) -> str | None:
        """Why ``check`` (not targeted) is expected to fail with this defect (None: it is not)."""
        return dict(self.crosstalk).get(check)

    def role(self, check: str, issue: str) -> str:
        """``"target"`` (must fail here), ``"exempt"`` (a check of this issue the row exempts,
        with its reason) or ``"probe"`` (any other check: a failure is cross-talk)."""
        if self.targets_check(check, issue):
            return "target"
        if issue == self.issue and not self.only and check in dict(self.exempt):
            return "exempt"
        return "probe"


@dataclass
class PowerCell:
    """What one check's metric measured on one dataset."""

    dataset: str
    value: float | None = None
    unit: str = ""
    verdict: str = "not run"
    message: str = ""
    uncertainty: float | None = None

    def text(self) -> str:
        """``"0.42 % pass"`` (``"0.42 ± 0.05 % pass"`` with an uncertainty), or the verdict
        alone when there is no value."""
        if self.value is None:
            return self.verdict
        sigma = f" ± {self.uncertainty:.2g}" if self.uncertainty else ""
        return f"{self.value:.3g}{sigma} {self.unit} {self.verdict}".replace("  ", " ")


@dataclass
class PowerLine:
    """A line of the power matrix: one metric of one check on one row's fixed and defect
    datasets.

    ``power`` of a targeted line (``kind="target"``): ``"yes"`` (passes with the fix, fails with
    the defect), ``"no"`` (passes with the defect, or fails with the fix: it does not tell them
    apart) or ``"unknown"`` (skipped, undecided, errored or not run on either dataset).
    Of any other line: ``"not targeted"`` when it did not run on the defect dataset;
    ``"exempt"`` (a check of the row's issue the row exempts, ``note`` says why; its values are
    shown); for a probe (``kind="probe"``) ``"cross-talk"`` (passes with the fix, fails with this
    other defect), ``"expected cross-talk"`` (the same, and the row gives the physical reason in
    ``note``), ``"clean"`` (passes with the defect) or ``"unknown"`` (fails with the fix too, or
    skipped/undecided/errored with the defect; ``note`` says which).
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
    kind: str = "target"
    row_issue: str = ""

    @property
    def defect_label(self) -> str:
        """The defect dataset's label (``""`` when the line has no defect cell)."""
        return self.broken.dataset if self.broken is not None else ""

    @property
    def targeted(self) -> bool:
        """Whether the line claims power (a targeted check that ran)."""
        return self.kind == "target" and self.power != "not targeted"


def _power(fix: PowerCell, broken: PowerCell | None) -> str:
    if broken is None:
        return "not targeted"
    if broken.verdict == "pass" or (fix.verdict == "fail" and broken.verdict == "fail"):
        return "no"
    if fix.verdict == "pass" and broken.verdict == "fail":
        return "yes"
    return "unknown"


def _probe(fix: PowerCell, broken: PowerCell | None, expected: str | None) -> tuple[str, str]:
    """(power, note) of a probe line."""
    if broken is None:
        return "not targeted", ""
    if broken.verdict == "pass":
        note = f"expected cross-talk did not happen ({expected})" if expected else ""
        return "clean", note
    if broken.verdict == "fail" and fix.verdict == "pass":
        return ("expected cross-talk", expected) if expected else ("cross-talk", "")
    if broken.verdict == "fail":
        return "unknown", f"fails with the fix too ({fix.verdict} there)"
    return "unknown", f"{broken.verdict} with the defect: {broken.message}".rstrip(": ")


def _merge_unmeasured(keyed: dict[tuple[str, str, str], dict[str, PowerCell]],
                      thresholds: Mapping[tuple[str, str, str], float | None]) -> None:
    """An evaluation that skipped or errored is recorded under its own name, not its metric's:
    put such a cell on the line(s) of the metric(s) the same check measured on the row's other
    dataset, so that the line shows "skip" with the defect (or with the fix) and why."""
    for key in [k for k in keyed if k not in thresholds]:
        cells = keyed[key]
        if any(cell.value is not None for cell in cells.values()):
            continue
        measured = [k for k in keyed if k[:2] == key[:2] and k != key and k in thresholds]
        if not measured:
            continue
        for other in measured:
            for label, cell in cells.items():
                keyed[other].setdefault(label, cell)
        del keyed[key]


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
        One line per (check, metric) recorded on either dataset of a row, of *every* known
        issue: rows in ``layout`` order; within a row the targeted checks first, then the
        exempt ones, then the probes (other checks) by issue; rows without any record are
        left out.

    Examples
    --------
    >>> row = PowerRow("NS-IFU04", "pointing_offset_g395h", "extraction at the target position")
    >>> recs = [Record("NS-IFU04", "test_aperture_on_source", d, "extraction_offset", v, "mas",
    ...                threshold=30.0, verdict=x) for d, v, x in (("fixed", 4.0, "pass"),
    ...                                                           ("broken", 150.0, "fail"))]
    >>> recs += [Record("NS-IFU02", "test_extracted_flux_matches_truth", d, "flux_ratio", v,
    ...                 "%", threshold=2.0, verdict=x) for d, v, x in (("fixed", 0.5, "pass"),
    ...                                                                ("broken", 6.0, "fail"))]
    >>> [(line.check, line.power) for line in power_matrix(recs, [(row, "fixed", "broken")])]
    [('test_aperture_on_source', 'yes'), ('test_extracted_flux_matches_truth', 'cross-talk')]
    """
    records = list(map(as_record, records))
    lines: list[PowerLine] = []
    order_of_role = {"target": 0, "exempt": 1, "probe": 2}
    for row, fix_label, defect_label in layout:
        keyed: dict[tuple[str, str, str], dict[str, PowerCell]] = {}
        thresholds: dict[tuple[str, str, str], float | None] = {}
        senses: dict[tuple[str, str, str], str] = {}
        for rec in records:
            if rec.dataset not in (fix_label, defect_label):
                continue
            key = (rec.issue, rec.check, rec.metric)
            cell = PowerCell(rec.dataset, rec.value, rec.unit, rec.verdict, rec.message,
                             rec.uncertainty)
            keyed.setdefault(key, {})[rec.dataset] = cell
            if rec.threshold is not None:
                thresholds[key] = rec.threshold
            if rec.sense:
                senses[key] = rec.sense
        _merge_unmeasured(keyed, thresholds)
        order = sorted(keyed, key=lambda k: (order_of_role[row.role(k[1], k[0])],
                                             k[0] != row.issue, k))
        for key in order:
            issue, check, metric = key
            cells = keyed[key]
            role = row.role(check, issue)
            fix = cells.get(fix_label, PowerCell(fix_label))
            if role == "target":
                broken: PowerCell | None = cells.get(defect_label, PowerCell(defect_label))
                power, note = _power(fix, broken), ""
            elif role == "exempt":
                broken = cells.get(defect_label)
                power = "exempt" if broken is not None else "not targeted"
                note = row.exempt_reason(check) or ""
            else:
                broken = cells.get(defect_label)
                power, note = _probe(fix, broken, row.crosstalk_reason(check))
            lines.append(PowerLine(issue, check, metric, thresholds.get(key), row.defect, fix,
                                   broken, power=power, sense=senses.get(key, "max"),
                                   note=note, kind=role, row_issue=row.issue))
    return lines


SYMBOLS = {"yes": "P", "no": "NO", "exempt": "e", "cross-talk": "X", "expected cross-talk": "x",
           "clean": ".", "unknown": "?", "not targeted": " "}
"""One-character (``NO``: two) cell of the text grid per power value."""


@dataclass
class CrossTalkGrid:
    """The check × defect dataset grid of the power matrix.

    Attributes
    ----------
    columns : list of (str, str)
        (known issue of the row, defect dataset label), in layout order.
    rows : list of (str, str, str)
        (known issue, check, metric), sorted.
    cells : dict
        ``(row index, column index)`` -> :class:`PowerLine` (absent: not measured there).
    """

    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    cells: dict[tuple[int, int], PowerLine] = field(default_factory=dict)

    def crosstalk(self) -> list[PowerLine]:
        """The cross-talk lines (expected or not), in grid order."""
        return [self.cells[k] for k in sorted(self.cells) if self.cells[k].power in CROSSTALK]


def crosstalk_grid(lines: Sequence[PowerLine]) -> CrossTalkGrid:
    """Arrange power-matrix lines as the check × defect dataset grid.

    Parameters
    ----------
    lines : sequence of PowerLine
        From :func:`power_matrix`.

    Returns
    -------
    CrossTalkGrid
        One column per defect dataset (lines without a defect cell are left out), one row per
        (issue, check, metric) measured on any of them.
    """
    columns: list[tuple[str, str]] = []
    for line in lines:
        col = (line.row_issue or line.issue, line.defect_label)
        if line.broken is not None and col not in columns:
            columns.append(col)
    measured = [line for line in lines if line.broken is not None]
    metrics = {(line.issue, line.check, line.metric) for line in measured
               if line.threshold is not None}

    def keys(line: PowerLine) -> list[tuple[str, str, str]]:
        """Grid rows of a line: a skipped evaluation's (no threshold: recorded under the
        evaluation's name) goes on the rows of the metrics its check measured elsewhere."""
        key = (line.issue, line.check, line.metric)
        if line.threshold is not None:
            return [key]
        return sorted(k for k in metrics if k[:2] == key[:2]) or [key]

    rows = sorted({k for line in measured for k in keys(line)})
    grid = CrossTalkGrid(columns, rows)
    for line in measured:
        j = columns.index((line.row_issue or line.issue, line.defect_label))
        for key in keys(line):
            grid.cells.setdefault((rows.index(key), j), line)
    return grid


def matrix_lines(lines: Sequence[PowerLine]) -> list[str]:
    """The power matrix as text: the check × defect dataset grid (:data:`SYMBOLS`), its legend
    and every cross-talk cell with its values.

    Parameters
    ----------
    lines : sequence of PowerLine
        From :func:`power_matrix`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> row = PowerRow("NS-IFU04", "pointing_offset_g395h", "extraction off the source")
    >>> recs = [Record(i, c, d, m, v, "%", threshold=2.0, verdict=x)
    ...         for i, c, m in (("NS-IFU04", "test_aperture_on_source", "flux_loss"),
    ...                         ("NS-IFU02", "test_flux", "flux_ratio"))
    ...         for d, v, x in (("fixed", 0.5, "pass"), ("broken", 6.0, "fail"))]
    >>> text = matrix_lines(power_matrix(recs, [(row, "fixed", "broken")]))
    >>> for t in text[:3] + text[-2:]:
    ...     print(t)
                                                  D1
    NS-IFU02 test_flux · flux_ratio               X
    NS-IFU04 test_aperture_on_source · flux_loss  P
    1 cross-talk cell(s), 0 expected:
    NS-IFU02 test_flux · flux_ratio on broken: 6 % fail (with the fix 0.5 % pass) — cross-talk
    """
    grid = crosstalk_grid(lines)
    if not grid.columns:
        return ["no check ran on a defect dataset"]
    names = [f"{issue} {check} · {metric}" for issue, check, metric in grid.rows]
    width = max(len(n) for n in names)
    out = [(f"{'':{width}}  " + " ".join(f"D{j + 1:<2}" for j in range(len(grid.columns))))
           .rstrip()]
    for i, name in enumerate(names):
        cells = [SYMBOLS.get(grid.cells[(i, j)].power, "?") if (i, j) in grid.cells else " "
                 for j in range(len(grid.columns))]
        out.append(f"{name:{width}}  " + " ".join(f"{c:<3}" for c in cells).rstrip())
    out += [f"D{j + 1} = {label} (defect of {issue})"
            for j, (issue, label) in enumerate(grid.columns)]
    out.append("P: fails with its own defect, passes with the fix (power); NO: no power; "
               "e: exempt (reason in the row); X: CROSS-TALK (fails with this other defect, "
               "passes with the fix); x: expected cross-talk (reason in the row); .: passes; "
               "?: could not tell (skip, undecided, error, or fails with the fix too)")
    crosstalk = grid.crosstalk()
    out.append(f"{sum(line.power == 'cross-talk' for line in crosstalk)} cross-talk cell(s), "
               f"{sum(line.power == 'expected cross-talk' for line in crosstalk)} expected:"
               if crosstalk else "no cross-talk")
    for line in crosstalk:
        text = (f"{line.issue} {line.check} · {line.metric} on {line.defect_label}: "
                f"{line.broken.text()} (with the fix {line.fix.text()}) — {line.power}")
        out.append(text + (f": {line.note}" if line.note else ""))
    return out
