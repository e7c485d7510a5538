"""An on-disk memo of the slow jwst stages (NSClean, outlier detection), so that several
processings of the same exposures (other spaxel scales, a reference cube) share them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ifuqa import __version__

__all__ = ["StageCache"]


class StageCache:
    """On-disk memo of stage outputs (arrays), keyed by a hash of the stage's inputs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(*parts: object) -> str:
        """Cache key of ``parts`` with the ifuqa and jwst versions (24 hex digits)."""
        import hashlib
        from importlib.metadata import version

        blob = repr((parts, __version__, version("jwst"))).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    @staticmethod
    def file_id(path: Path) -> tuple[str, int, int]:
        """(resolved path, size, mtime in ns) of a file, for cache keys."""
        stat = Path(path).stat()
        return str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays cached under ``key``, or None when there is no entry."""
        path = self.root / f"{key}.npz"
        if not path.is_file():
            return None
        with np.load(path) as data:
            return {k: data[k] for k in data.files}

    def save(self, key: str, **arrays: np.ndarray) -> None:
        """Store arrays under ``key``, atomically (:func:`ifuqa.util.atomic.atomic_write`), so
        that concurrent processes see the whole file or none."""
        from ifuqa.util.atomic import atomic_write

        atomic_write(self.root / f"{key}.npz", lambda fh: np.savez(fh, **arrays), mode="wb")
