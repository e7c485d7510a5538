"""Connecting to a Dask cluster, and the check that every worker sees the build cache.

``local``
    Start a ``distributed.LocalCluster`` on this machine: one single-threaded worker process
    per core (``n_workers`` to choose), a dashboard on a free port.
``tcp://HOST:PORT`` (or ``tls://``, ``ws://``, ``wss://``)
    Join a running scheduler (``dask scheduler`` on one machine, ``dask worker ADDRESS`` on
    each of the others); the workers need ifuqa and jwst installed in the same versions.

Workers read and write the build cache themselves, so the cache must be on storage that every
worker mounts at the same path (NFS, Lustre, a shared volume). :func:`check_cache_visible` writes
a token into the cache and asks every worker to read it back: a worker that cannot see it (other
machine, other mount, other container) stops the run with a message naming the worker and the
path, before any task starts.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["ClusterError", "check_cache_visible", "check_paths_visible", "dask_client",
           "probe_cache", "probe_paths"]

SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "inproc://")

INSTALL_HINT = 'pip install "ifuqa[dask]"'


class ClusterError(RuntimeError):
    """The cluster cannot be used (no dask, a bad address, a worker that cannot see the
    cache)."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ClusterError(f"--dask needs dask.distributed ({exc}): {INSTALL_HINT}") from None
    return distributed


@contextmanager
def dask_client(address: str, *, n_workers: int | None = None,
                say: Callable[[str], object] = print) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address`` (``local`` or a scheduler address).

    Parameters
    ----------
    address : str
        ``local`` or ``tcp://HOST:PORT`` (any scheme distributed speaks).
    n_workers : int, optional
        Workers of a local cluster (default: one per core).
    say : callable
        Where the cluster's address, workers and dashboard are reported.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ClusterError
        When dask is not installed, the address is not one, or the scheduler cannot be
        reached.
    """
    distributed = _import_distributed()
    cluster = None
    if address == "local":
        workers = n_workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
    elif address.startswith(SCHEMES):
        try:
            client = distributed.Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    else:
        raise ClusterError(f"--dask {address!r}: give 'local' (a LocalCluster on this machine) "
                           "or a scheduler address such as tcp://HOST:8786")
    try:
        info = client.scheduler_info()
        count = len(info.get("workers", {}))
        link = client.dashboard_link if _has_dashboard(client) else (
            "none (install bokeh to get the Dask dashboard)")
        say(f"ifuqa: Dask scheduler {client.scheduler.address}, {count} worker"
            f"{'s' if count != 1 else ''}; dashboard: {link}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _has_dashboard(client: Any) -> bool:
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # pragma: no cover - an old scheduler
        return False
    return "dashboard" in services


def probe_cache(root: str, token_name: str, token: str) -> dict[str, str]:
    """Run on a worker: can it read the token the client wrote into the cache, and write there?

    Parameters
    ----------
    root : str
        The cache folder.
    token_name, token : str
        The token file's name and content.

    Returns
    -------
    dict
        ``host``, ``pid`` and ``problem`` (empty when the worker sees the cache).
    """
    where = {"host": socket.gethostname(), "pid": str(os.getpid()), "problem": ""}
    folder = Path(root)
    try:
        if not folder.is_dir():
            where["problem"] = "the folder does not exist on this worker"
        elif (folder / token_name).read_text() != token:
            where["problem"] = "the folder is another one on this worker (the token differs)"
        else:
            probe = folder / f".probe-{uuid.uuid4().hex}"
            probe.write_text("x")
            probe.unlink()
    except FileNotFoundError:
        where["problem"] = ("the client's token is not there: this worker sees another folder "
                            "at that path")
    except OSError as exc:
        where["problem"] = f"cannot read and write it ({exc})"
    return where


def check_cache_visible(client: Any, cache_root: Path) -> int:
    """Fail when a worker cannot see ``cache_root`` (see the module docstring).

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    cache_root : path
        The build cache (absolute).

    Returns
    -------
    int
        The number of workers checked.

    Raises
    ------
    ClusterError
        Naming every worker that cannot see the cache, the path and what to do.
    """
    root = Path(cache_root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    name = f".ifuqa-cluster-token-{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    (root / name).write_text(token)
    try:
        answers = client.run(probe_cache, str(root), name, token)
    finally:
        (root / name).unlink(missing_ok=True)
    _fail_for_blind_workers(
        answers, f"the build cache {root}",
        "Put the cache on storage every worker mounts at the same path (NFS, a shared volume) "
        "and name it with --cache DIR (pytest: --ifuqa-cache=DIR); see the README, 'Beyond "
        "one machine'.")
    return len(answers)


def _fail_for_blind_workers(answers: dict[str, dict[str, str]], what: str, advice: str) -> None:
    """Raise :class:`ClusterError` naming every worker whose probe answered a problem."""
    bad = {addr: a for addr, a in answers.items() if a["problem"]}
    if bad:
        lines = [f"  worker {addr} (host {a['host']}, pid {a['pid']}): {a['problem']}"
                 for addr, a in sorted(bad.items())]
        raise ClusterError(f"{len(bad)} of {len(answers)} Dask workers cannot see {what}:\n"
                           + "\n".join(lines) + "\n" + advice)


def probe_paths(paths: list[str]) -> dict[str, str]:
    """Run on a worker: which of ``paths`` it cannot see."""
    missing = [p for p in paths if not os.path.lexists(p)]
    return {"host": socket.gethostname(), "pid": str(os.getpid()),
            "problem": (f"cannot see {', '.join(missing[:3])}"
                        + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
            if missing else ""}


def check_paths_visible(client: Any, paths: list[Path]) -> int:
    """Fail when a worker cannot see the products a user named that this machine sees (the
    workers of ``ifuqa check --dask`` read them, and write the results beside the client's).

    Raises
    ------
    ClusterError
        Naming every such worker and what it cannot see.
    """
    here = [str(Path(p).absolute()) for p in paths if os.path.lexists(p)]
    answers = client.run(probe_paths, here)
    _fail_for_blind_workers(
        answers, "the products",
        "Put the products on storage every worker mounts at the same path; see the README, "
        "'Beyond one machine'.")
    return len(answers)
