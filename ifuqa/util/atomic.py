"""Writing a file atomically: readers see the old file or the new one, never half of one.

The one writer ifuqa uses for every file it replaces (results, baselines, scenario variants, the
stage cache): the content goes to a temporary file in the destination's folder, is flushed to
disk, made world-readable and renamed over the destination. A writer that fails — or a process
killed — before the rename leaves the previous file intact; on an error the temporary file is
removed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[Any]], object], *,
                 mode: Literal["w", "wb"] = "w", encoding: str = "utf-8") -> Path:
    r"""Write ``path`` atomically with ``write(file)``.

    Parameters
    ----------
    path : path
        Destination; its folder is created when missing.
    write : callable
        Called once with the open temporary file; writes the whole content.
    mode : {"w", "wb"}
        Text (UTF-8 by default) or binary.
    encoding : str
        Encoding of a text file.

    Returns
    -------
    Path
        The destination.

    Raises
    ------
    Exception
        Whatever ``write`` or the file system raises; ``path`` is then unchanged and the
        temporary file removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", lambda fh: fh.write("hello\\n")).read_text()
    'hello\\n'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({"encoding": encoding} if mode == "w" else {})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
