"""The regression gate's rules, without pytest: a run's records against a baseline.

Every status comes from the status engine (:func:`ifuqa.verdicts.status.classify`) that
``ifuqa compare`` uses too; this module adds what the gate says about it — which statuses fail
(:data:`ifuqa.verdicts.status.FAILING`) and the message a failing test shows. The pytest side
(:mod:`ifuqa._pytest.gate_hooks`) calls :meth:`Gate.compare` for each record where a check
records it and :meth:`Gate.unrecorded` at the end of each test and of the run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ifuqa.util.formatting import format_value
from ifuqa.verdicts.baseline import entries
from ifuqa.verdicts.record import Record
from ifuqa.verdicts.status import Comparison, classify
from ifuqa.verdicts.tolerances import Tolerances

__all__ = ["Gate"]

Key = tuple[str, str, str]


def _fmt(value: float | None, unit: str = "") -> str:
    return format_value(value, unit, digits=6, none="none")


def _where(record: Record) -> str:
    return f"{record.issue} {record.metric} on {record.dataset}"


class Gate:
    """A baseline with the tolerances to judge a run by.

    Parameters
    ----------
    baseline : mapping
        From :func:`ifuqa.verdicts.baseline.read_baseline`.
    path : path or None
        Where it was read from (named in messages).
    tolerances : Tolerances
        The allowed changes.
    how_to : str
        How to generate a baseline (ends the message of a metric not in the baseline).
    regenerate : str
        The option that regenerates it (``--ifuqa-generate-baseline=PATH``).
    """

    def __init__(self, baseline: Mapping[str, Any], path: Path | None, tolerances: Tolerances,
                 *, how_to: str = "generate it with --ifuqa-generate-baseline=PATH",
                 regenerate: str = "--ifuqa-generate-baseline=PATH") -> None:
        self.baseline = baseline
        self.path = path
        self.tolerances = tolerances
        self.how_to = how_to
        self.regenerate = regenerate
        self.entries: dict[Key, dict] = entries(baseline)
        self.pairs = {k[:2] for k in self.entries}

    def _tolerance(self, issue: str, metric: str) -> tuple[str, Any]:
        return self.tolerances.for_metric(issue, metric)

    # -- a record, where its check records it -------------------------------------------------

    def compare(self, record: Record) -> tuple[Comparison, str | None]:
        """Compare one record with the baseline.

        Parameters
        ----------
        record : Record
            A metric record (or the record of an evaluation that skipped or errored).

        Returns
        -------
        (Comparison, str or None)
            The comparison and, when it fails the gate, the failure message.
        """
        entry = self.entries.get(record.key)
        name, tolerance = self._tolerance(record.issue, record.metric)
        result = classify(entry, record, tolerance, tolerance_name=name,
                          pair_in_baseline=record.key[:2] in self.pairs)
        unit = record.unit or (entry or {}).get("unit") or ""
        if result.status == "regressed":
            direction = "higher" if (result.change or 0) > 0 else "lower"
            return result, (
                f"{_where(record)}: REGRESSION against the baseline {self.path}: "
                f"{_fmt(result.value, unit)} now vs {_fmt(result.baseline, unit)} in the "
                f"baseline ({_fmt(abs(result.change or 0), unit)} {direction}, worse), beyond "
                f"the tolerance {result.tolerance} = {_fmt(result.allowed, unit)}")
        if result.status == "lost":
            return result, (
                f"{_where(record)}: measured in the baseline ({_fmt(result.baseline, unit)}) "
                f"but not now ({record.verdict}: {record.message or 'no value'}); the gate "
                f"cannot compare it. If this is expected, regenerate the baseline "
                f"({self.regenerate})")
        if result.status == "new":
            return result, self._new_message(record)
        return result, None

    def _new_message(self, record: Record) -> str:
        check, dataset, metric = record.key
        if dataset not in {k[1] for k in self.entries}:
            why = f"dataset {dataset!r} is not in it"
        elif check not in {k[0] for k in self.entries}:
            why = f"check {check!r} is not in it"
        else:
            why = f"it has no metric {metric!r} for {check} on {dataset}"
        return (f"{_where(record)}: not in the baseline {self.path} ({why}), so the "
                f"gate cannot compare it; a metric missing from the baseline never passes "
                f"silently: {self.how_to}")

    # -- baseline metrics the run did not record ----------------------------------------------

    def unrecorded(self, records: Iterable[Record],
                   pairs: Collection[tuple[str, str]] | None = None,
                   ) -> list[tuple[Key, Comparison]]:
        """The baseline's metrics that none of ``records`` recorded, with their status:
        ``lost`` (the check ran on the dataset and the baseline has a value) or ``missing``.

        Parameters
        ----------
        records : iterable of Record
            What the run (or one test) recorded.
        pairs : collection of (check, dataset), optional
            Only the baseline metrics of these pairs (default: every baseline metric).

        Returns
        -------
        list of ((str, str, str), Comparison)
            Sorted by key.
        """
        recorded = {r.key for r in records}
        ran = {k[:2] for k in recorded}
        out = []
        for key, entry in sorted(self.entries.items()):
            if key in recorded or (pairs is not None and key[:2] not in pairs):
                continue
            name, tolerance = self._tolerance(str(entry.get("issue") or "?"), key[2])
            out.append((key, classify(entry, None, tolerance, tolerance_name=name,
                                      pair_in_run=key[:2] in ran)))
        return out

    def lost_messages(self, records: Sequence[Record]) -> list[str]:
        """Failure messages for the baseline metrics of the records' (check, dataset) pairs
        that the records do not have (``lost``); one message per pair whose check recorded a
        skip or an error instead, else one per metric.

        Parameters
        ----------
        records : sequence of Record
            What one test recorded.

        Returns
        -------
        list of str
        """
        pairs = {r.key[:2] for r in records}
        lost = [(k, c) for k, c in self.unrecorded(records, pairs) if c.status == "lost"]
        out = []
        for pair in sorted({k[:2] for k, _ in lost}):
            metrics = [(k[2], c) for k, c in lost if k[:2] == pair]
            instead = [r for r in records if r.key[:2] == pair and not r.measured]
            if instead:
                out.append(self._instead_message(pair, metrics, instead))
                continue
            for metric, comparison in metrics:
                entry = self.entries[(*pair, metric)]
                out.append(f"{entry.get('issue')} {metric} on {pair[1]}: measured in the "
                           f"baseline ({_fmt(comparison.baseline, entry.get('unit') or '')}) "
                           f"but not recorded by {pair[0]} now; if this is expected, "
                           f"regenerate the baseline ({self.regenerate})")
        return out

    def _instead_message(self, pair: tuple[str, str], metrics: list[tuple[str, Comparison]],
                         instead: list[Record]) -> str:
        check, dataset = pair
        what = ", ".join(
            f"{m} = {_fmt(c.baseline, self.entries[(check, dataset, m)].get('unit') or '')}"
            for m, c in metrics)
        head = (f"{instead[0].issue} {', '.join(r.metric for r in instead)} on {dataset}: "
                + "; ".join(f"{r.verdict} now ({r.message})" for r in instead))
        return (f"{head} but the baseline {self.path} measured {what} for {check} on this "
                f"dataset: the gate cannot compare it. If this is expected, regenerate the "
                f"baseline ({self.regenerate})")
