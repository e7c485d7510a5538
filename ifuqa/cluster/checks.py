"""Checking archives of products: streaming, in batches, incrementally, resumably.

The datasets are streamed from the file system (:func:`ifuqa.products.discovery.iter_datasets`)
into batches; each batch is one task — the pytest suite (``checks/``) run on it in a fresh
interpreter, handed the batch as a manifest (``--ifuqa-manifest``) — in this process's loop or on
a Dask cluster, with a bounded number of batches in flight. Each dataset's records are appended
to a journal next to the results file (``RESULTS.journal``: one JSON line per dataset, under the
dataset's content key — its files' paths, sizes and modification times — and the run's check
options) as soon as its batch ends, so memory stays bounded by the batches in flight and an
interrupted run loses at most those. ``--resume`` skips every dataset whose key is in the journal
(a changed file changes the key: it is checked again). At the end the results file is written
from the journal, in the same order and format as ``pytest --ifuqa-results``
(:func:`ifuqa.verdicts.results.write_results`), one dataset at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ifuqa.products.dataset import Dataset

__all__ = ["CheckRun", "dataset_key", "run_check_batch", "run_checks", "write_results_stream"]

JOURNAL_SUFFIX = ".journal"

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Set to 1 for every batch, here or on a Dask worker (whose nanny sets them to 1): a sum split
over threads rounds differently with their number, and the records must not depend on where a
batch ran (the parallelism is across batches)."""


def dataset_key(dataset: Dataset, options: Iterable[str]) -> str:
    """Content key of checking ``dataset`` with ``options``: its name, problems, and each
    file's path, size and modification time."""
    parts: list[Any] = [dataset.name, sorted(dataset.problems), sorted(options)]
    for path in sorted(dataset.files()):
        try:
            stat = os.stat(path)
            parts.append((str(path), stat.st_size, stat.st_mtime_ns))
        except OSError as exc:
            parts.append((str(path), repr(exc)))
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def run_check_batch(datasets: list[dict], pytest_args: list[str], checks: str, cwd: str,
                    html: str | None = None) -> dict:
    """Run the checks on one batch of datasets (a task: pure, picklable arguments).

    Parameters
    ----------
    datasets : list of dict
        The batch (:meth:`ifuqa.products.dataset.Dataset.to_json`).
    pytest_args : list of str
        The run's options for pytest (markers, thresholds, baseline, tolerances).
    checks : str
        The checks folder.
    cwd : str
        Where pytest runs (node ids are relative to it, as in a serial run).
    html : str, optional
        Write this batch's HTML report here.

    Returns
    -------
    dict
        ``returncode``, ``results`` (the batch's results JSON), ``output`` (pytest's last
        lines) and ``host``.
    """
    import socket

    with tempfile.TemporaryDirectory(prefix="ifuqa-batch-") as tmp:
        manifest = Path(tmp) / "manifest.json"
        manifest.write_text(json.dumps({"datasets": datasets}))
        results = Path(tmp) / "results.json"
        argv = [sys.executable, "-m", "pytest", checks, "-p", "no:cacheprovider", "-q",
                "-o", "addopts=", f"--ifuqa-manifest={manifest}", f"--ifuqa-results={results}",
                *pytest_args]
        if html:
            argv += [f"--html={html}", "--self-contained-html"]
        env = dict(os.environ, **dict.fromkeys(THREAD_VARIABLES, "1"))
        proc = subprocess.run(argv, cwd=cwd if os.path.isdir(cwd) else checks,
                              capture_output=True, text=True, check=False, env=env)
        data = json.loads(results.read_text()) if results.is_file() else None
    output = (proc.stdout + proc.stderr).splitlines()
    return {"returncode": proc.returncode, "results": data, "output": output[-40:],
            "host": f"{socket.gethostname()}:{os.getpid()}"}


@dataclass
class CheckRun:
    """What a streaming check run did."""

    datasets: int = 0
    skipped: int = 0
    batches: int = 0
    returncodes: list[int] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    retries: int = 0

    @property
    def returncode(self) -> int:
        """0 when every batch passed; 1 when a check failed; else pytest's code (2: interrupted,
        3: internal error, 4: usage error) or 1 when a batch gave no results."""
        bad = [c for c in self.returncodes if c not in (0, 5)]
        if self.problems and not bad:
            return 1
        if not bad:
            return 0
        other = [c for c in bad if c != 1]
        return max(other) if other else 1


def _journal_path(results: Path) -> Path:
    return results.with_name(results.name + JOURNAL_SUFFIX)


def read_journal_keys(journal: Path) -> set[str]:
    """Keys of the datasets a journal holds (a torn last line is ignored)."""
    keys: set[str] = set()
    if not journal.is_file():
        return keys
    with journal.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                keys.add(json.loads(line)["key"])
            except (ValueError, KeyError):
                continue
    return keys


def _batches(datasets: Iterator[Dataset], size: int, options: list[str], done: set[str],
             run: CheckRun, keys: list[str]) -> Iterator[list[tuple[str, Dataset]]]:
    batch: list[tuple[str, Dataset]] = []
    for ds in datasets:
        run.datasets += 1
        key = dataset_key(ds, options)
        keys.append(key)
        if key in done:
            run.skipped += 1
            continue
        if any(d.name == ds.name for _, d in batch):  # records are told apart by dataset name
            yield batch
            batch = []
        batch.append((key, ds))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _split(result: dict, batch: list[tuple[str, Dataset]]) -> list[dict]:
    """One journal entry per dataset of a finished batch."""
    data = result["results"] or {}
    records = data.get("records", [])
    applicability = data.get("applicability", {})
    out = []
    for key, ds in batch:
        out.append({"key": key, "dataset": ds.name,
                    "records": [r for r in records if r.get("dataset") == ds.name],
                    "applicability": applicability.get(ds.name),
                    "returncode": result["returncode"]})
    return out


def run_checks(datasets: Iterable[Dataset], results: Path, *, pytest_args: list[str],
               checks: Path, cwd: Path, batch_size: int = 50, resume: bool = False,
               client: Any = None, html: Path | None = None,
               on_batch: Callable[[int, CheckRun], object] | None = None,
               say: Callable[[str], object] = print, in_flight: int | None = None) -> CheckRun:
    """Check ``datasets`` in batches, journalling each dataset's records, and write
    ``results``.

    Parameters
    ----------
    datasets : iterable of Dataset
        Streamed (e.g. :func:`ifuqa.products.discovery.iter_datasets`).
    results : path
        The results file (its journal is ``RESULTS.journal``).
    pytest_args : list of str
        Options handed to every batch's pytest.
    checks, cwd : path
        The checks folder; where pytest runs.
    batch_size : int
        Datasets per batch (per pytest run).
    resume : bool
        Skip the datasets the journal already holds (same key); else start a new journal.
    client : distributed.Client, optional
        Run the batches on this cluster (None: one after another here).
    html : path, optional
        HTML report (one per batch when there are several: ``NAME-0001.html``, ...).
    on_batch : callable, optional
        Called with (datasets in the batch just finished, the run so far).
    say : callable
        Where a failing batch's output goes.
    in_flight : int, optional
        Batches submitted to the cluster at a time (default: 2 per worker).

    Returns
    -------
    CheckRun
    """
    start = time.perf_counter()
    results = Path(results)
    journal = _journal_path(results)
    if not resume:
        journal.unlink(missing_ok=True)
    done = read_journal_keys(journal)
    run = CheckRun()
    options = list(pytest_args)
    keys_of_run: list[str] = []
    batches = _batches(iter(datasets), max(1, batch_size), options, done, run, keys_of_run)

    def html_for(index: int) -> str | None:
        if html is None:
            return None
        return str(html) if index == 0 else str(html.with_name(f"{html.stem}-{index + 1:04d}"
                                                               f"{html.suffix}"))

    def finish(result: dict, batch: list[tuple[str, Dataset]], fh: IO[str]) -> None:
        run.batches += 1
        run.returncodes.append(result["returncode"])
        if result["results"] is None:
            run.problems.append(f"a batch of {len(batch)} datasets gave no results "
                                f"(pytest exit {result['returncode']})")
            say("\n".join(result["output"]))
            return
        if result["returncode"] not in (0, 1):
            say("\n".join(result["output"]))
        for entry in _split(result, batch):
            fh.write(json.dumps(entry, allow_nan=False) + "\n")
            for rec in entry["records"]:
                run.verdicts[rec["verdict"]] = run.verdicts.get(rec["verdict"], 0) + 1
        fh.flush()
        os.fsync(fh.fileno())
        if on_batch:
            on_batch(len(batch), run)

    journal.parent.mkdir(parents=True, exist_ok=True)
    with journal.open("a", encoding="utf-8") as fh:
        if fh.tell() and not journal.read_bytes().endswith(b"\n"):
            fh.write("\n")  # after a line torn by a kill: start a new one
        if client is None:
            for index, batch in enumerate(batches):
                finish(run_check_batch([d.to_json() for _, d in batch], options, str(checks),
                                       str(cwd), html_for(index)), batch, fh)
                if run.returncodes[-1] not in (0, 1, 5):
                    break  # a usage error (bad baseline, bad option) is the same in every batch
        else:
            _run_on_cluster(client, batches, options, checks, cwd, html_for, finish, fh, run,
                            in_flight)
    if all(c in (0, 1, 5) for c in run.returncodes):
        write_results_stream(results, journal, set(keys_of_run))
    run.wall_s = time.perf_counter() - start
    return run


def _run_on_cluster(client: Any, batches: Iterator, options: list[str], checks: Path, cwd: Path,
                    html_for: Callable, finish: Callable, fh: IO[str], run: CheckRun,
                    in_flight: int | None) -> None:
    from distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    limit = in_flight or 2 * workers
    submitted: dict[Any, list] = {}
    pool = as_completed()
    index = 0

    def submit_next() -> bool:
        nonlocal index
        batch = next(batches, None)
        if batch is None:
            return False
        fut = client.submit(run_check_batch, [d.to_json() for _, d in batch], options,
                            str(checks), str(cwd), html_for(index), pure=False)
        index += 1
        submitted[fut] = batch
        pool.add(fut)
        return True

    for _ in range(limit):
        if not submit_next():
            break
    from ifuqa.cluster.builds import suspicious_counts

    for fut in pool:
        batch = submitted.pop(fut)
        run.retries += client.run_on_scheduler(suspicious_counts, [fut.key]).get(fut.key, 0)
        if fut.status != "finished":
            exc = fut.exception()
            run.returncodes.append(3)
            run.problems.append(f"a batch of {len(batch)} datasets failed on the cluster: "
                                f"{type(exc).__name__}: {exc}")
        else:
            finish(fut.result(), batch, fh)
        fut.release()
        submit_next()


def _dump_at(value: Any, depth: int) -> str:
    """``json.dumps(value, indent=1)`` as it appears nested ``depth`` levels deep."""
    text = json.dumps(value, indent=1, allow_nan=False)
    return text.replace("\n", "\n" + " " * depth)


def _index(journal: Path, keys: set[str]) -> tuple[dict[str, list[int]], list[str]]:
    """Offsets of the journal lines of ``keys`` per dataset name (the last line of a key
    counts), and the issues their records have."""
    by_key: dict[str, tuple[str, int]] = {}
    issues: set[str] = set()
    with journal.open("rb") as fh:
        offset = 0
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                offset += len(line)
                continue
            if entry.get("key") in keys:
                by_key[entry["key"]] = (entry["dataset"], offset)
                issues.update(r["issue"] for r in entry["records"])
            offset += len(line)
    names: dict[str, list[int]] = {}
    for name, off in sorted(by_key.values(), key=lambda t: t[1]):
        names.setdefault(name, []).append(off)
    return names, sorted(issues)


def write_results_stream(results: Path, journal: Path, keys: set[str]) -> None:
    """Write the results file of the journal entries of ``keys``, byte for byte as
    :func:`ifuqa.verdicts.results.write_results` writes the same records, one dataset at a
    time (atomically: a temporary file renamed over ``results``)."""
    from ifuqa.util.atomic import atomic_write
    from ifuqa.verdicts.record import as_record
    from ifuqa.verdicts.results import FORMAT, run_versions

    names, issues = _index(journal, keys)
    versions = run_versions()

    def entries(fh_journal: IO[bytes], name: str) -> Iterator[dict]:
        for off in names[name]:
            fh_journal.seek(off)
            yield json.loads(fh_journal.readline())

    def write(out: IO[str]) -> None:
        out.write("{\n")
        out.write(f' "format": {json.dumps(FORMAT)},\n')
        out.write(f' "versions": {_dump_at(versions, 1)},\n')
        with journal.open("rb") as fj:
            out.write(' "applicability": {')
            first = True
            for name in sorted(names):
                merged = None
                for entry in entries(fj, name):
                    if entry.get("applicability") is not None:
                        merged = entry["applicability"]
                if merged is None:
                    continue
                out.write(("\n" if first else ",\n") + f"  {json.dumps(name)}: "
                          + _dump_at(merged, 2))
                first = False
            out.write("}" if first else "\n }")
            out.write(',\n "records": [')
            first = True
            for issue in issues:
                for name in sorted(names):
                    rows = [as_record(r) for entry in entries(fj, name)
                            for r in entry["records"] if r["issue"] == issue]
                    for rec in sorted(rows, key=lambda r: (r.check, r.metric)):
                        out.write(("\n" if first else ",\n") + "  "
                                  + _dump_at(dict(rec.to_json(), versions=versions), 2))
                        first = False
            out.write("]" if first else "\n ]")
        out.write("\n}")

    atomic_write(results, write)
