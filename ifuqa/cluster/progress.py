"""Progress bars for the command line: counts, rate and ETA (tqdm), on standard error, and
silent when standard error is not a terminal (a log file or CI gets only the result lines)."""

from __future__ import annotations

import sys
from typing import IO, Any

__all__ = ["progress_bar", "write_line"]


def progress_bar(total: int | None, desc: str, unit: str, *, stream: IO[str] | None = None,
                 force: bool | None = None) -> Any:
    """A tqdm bar (disabled when ``stream`` is not a terminal, unless ``force``).

    Parameters
    ----------
    total : int, optional
        Number of items (unknown: no ETA).
    desc, unit : str
        Label and unit (``"build"``, ``"dataset"``).
    stream : file, optional
        Where it draws (standard error).
    force : bool, optional
        Draw (True) or not (False) whatever the stream is.

    Returns
    -------
    tqdm.tqdm
    """
    from tqdm import tqdm

    stream = stream or sys.stderr
    enabled = force if force is not None else bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(total=total, desc=desc, unit=unit, file=stream, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def write_line(bar: Any, line: str, *, stream: IO[str] | None = None) -> None:
    """Print a line above the bar (or plainly when the bar is silent)."""
    if bar is not None and not bar.disable:
        bar.write(line, file=stream or sys.stderr)
    else:
        print(line, file=stream or sys.stdout, flush=True)
