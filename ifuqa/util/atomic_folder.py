"""Making a folder atomically: readers see the finished folder or none.

The folder is filled under a temporary name beside its destination (``.NAME.tmp-XXXX``) and
renamed onto the destination when the writer finishes. A writer that fails removes its
temporary folder; a process killed half-way leaves only a temporary folder, which no reader
takes for the result (its name is not the destination's) and which the next writer of the same
destination removes (:func:`remove_stale`). Callers that may race for one destination hold a
lock around the whole block (the builds hold a :class:`filelock.FileLock`).
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_folder", "remove_stale", "temporary_name"]

_TMP = ".tmp-"


def temporary_name(final: Path) -> Path:
    """A fresh temporary sibling of ``final`` (same folder, so that the rename is atomic)."""
    final = Path(final)
    return final.parent / f".{final.name}{_TMP}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_stale(final: Path) -> list[Path]:
    """Remove the temporary folders that killed writers of ``final`` left behind.

    Only call it while holding the lock of ``final`` (a live writer's folder would go too).

    Returns
    -------
    list of Path
        The folders removed.
    """
    final = Path(final)
    gone = []
    if final.parent.is_dir():
        for path in final.parent.glob(f".{glob.escape(final.name)}{_TMP}*"):
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


@contextmanager
def atomic_folder(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder to fill; rename it onto ``final`` when the block succeeds.

    A ``final`` that already exists is replaced (it can only be an incomplete folder of older
    code, since a complete one is never rebuilt: callers check their completion marker first).

    Parameters
    ----------
    final : path
        Destination folder.

    Yields
    ------
    Path
        The temporary folder (created, empty).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_folder(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("done")
    >>> sorted(p.name for p in root.iterdir()), (root / "out" / "a.txt").read_text()
    (['out'], 'done')
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
