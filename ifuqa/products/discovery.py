"""Finding a user's products on disk and grouping them into datasets.

Files are recognised by the pipeline's suffixes (``_rate``, ``_nsclean``, ``_cal``, ``_crf``,
``_s3d``, ``_x1d``; ``.fits`` or ``.fits.gz``); folders are searched recursively. Exposure-level
products (rate/cal/crf) are grouped by observation (the file name up to the exposure number,
``jwPPPPPOOOVVV_GGSAA``); a cube and its x1d by their common stem. Nothing is opened here, so a
corrupt file still becomes part of a dataset and is reported by the check that reads it.

:func:`iter_datasets` streams: it walks one folder at a time and yields that folder's datasets,
so memory is bounded by the largest folder, not by the archive (an observation's products are
siblings in one folder, as the pipeline writes them). :func:`discover` is its sorted list.
Every path a user names gets an answer: a path that does not exist, a dangling symbolic link, a
folder named like a product that holds no product, a folder with no product at all, a file that
is not a product, a folder that cannot be read — each becomes a dataset whose ``problems`` name
it and say why, and the run reports it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ifuqa.products.dataset import Dataset

__all__ = ["PRODUCT_SUFFIXES", "discover", "iter_datasets", "product_kind", "product_stem"]

PRODUCT_SUFFIXES = ("rate", "nsclean", "cal", "crf", "s3d", "x1d")
_PATTERN = re.compile(r"^(?P<stem>.+)_(?P<kind>rate|nsclean|cal|crf|s3d|x1d)\.fits(\.gz)?$")
_EXPOSURE = re.compile(r"^(?P<obs>jw\d{11}_\d{5})_\d{5}_[a-z0-9]+$", re.IGNORECASE)


def product_kind(path: Path) -> tuple[str, str] | None:
    """(stem, kind) of a product file name, or None when it is not a recognised product."""
    match = _PATTERN.match(Path(path).name)
    if not match:
        return None
    return match["stem"], match["kind"]


def product_stem(path: Path) -> str:
    """The name of a product without its suffix (``jw..._00001_nrs1`` of ``..._cal.fits``),
    which its sibling products of the same exposure share; the file name if unrecognised."""
    found = product_kind(path)
    return found[0] if found else Path(path).name


def _group_of(stem: str, kind: str) -> str:
    if kind in ("rate", "nsclean", "cal", "crf"):
        match = _EXPOSURE.match(stem)
        if match:
            return match["obs"]
    return stem


_FIELD = {"nsclean": "cleaned", "crf": "cal"}
"""Dataset field of each product kind: a ``_crf`` (cal with stage-3 outlier flags) stands in
for its ``_cal``."""


def _prefer_crf(paths: list[Path]) -> list[Path]:
    """One calibrated image per exposure: the ``_crf`` when present, else the ``_cal``."""
    by_stem: dict[str, Path] = {}
    for path in paths:
        stem, kind = product_kind(path)  # type: ignore[misc]
        if stem not in by_stem or kind == "crf":
            by_stem[stem] = path
    return sorted(by_stem.values())


def _group(files: Iterable[Path]) -> list[Dataset]:
    """Group product files (all of one folder, or the files named on the command line)."""
    groups: dict[str, Dataset] = {}
    for path in files:
        stem, kind = product_kind(path)  # type: ignore[misc]
        key = _group_of(stem, kind)
        ds = groups.setdefault(key, Dataset(name=key))
        getattr(ds, _FIELD.get(kind, kind)).append(path)
    for ds in groups.values():
        ds.cal = _prefer_crf(ds.cal)
    # attach cubes/spectra named after an observation to that observation's exposures
    for key in list(groups):
        ds = groups[key]
        if ds.rate or ds.cal:
            continue
        owner = next((k for k in groups if k != key and key.startswith(k)
                      and (groups[k].rate or groups[k].cal)), None)
        if owner:
            groups[owner].s3d += ds.s3d
            groups[owner].x1d += ds.x1d
            del groups[key]
    return sorted(groups.values(), key=lambda d: d.name)


def _problem(path: Path, reason: str) -> Dataset:
    return Dataset(name=path.name or str(path), problems=[f"{path}: {reason}"])


_NOT_A_PRODUCT = ("not a recognised product name (expected *_rate, *_cal, *_s3d or *_x1d "
                  ".fits/.fits.gz)")


def _has_products(folder: Path) -> bool:
    for _, _, names in os.walk(folder, followlinks=True):
        if any(_PATTERN.match(n) for n in names):
            return True
    return False


def _walk(top: Path) -> Iterator[Dataset]:
    """The datasets of a folder tree, one folder at a time (symbolic links followed, each real
    folder once)."""
    seen: set[tuple[int, int]] = set()
    errors: list[OSError] = []
    found = False
    for folder, subdirs, names in os.walk(top, followlinks=True, onerror=errors.append):
        for error in errors:
            yield _problem(Path(error.filename or folder),
                           f"cannot be read ({error.strerror or error})")
        errors.clear()
        here = Path(folder)
        try:
            stat = here.stat()
        except OSError:
            continue
        if (stat.st_dev, stat.st_ino) in seen:
            subdirs[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        subdirs.sort()
        for sub in subdirs:  # a folder named like a product is searched, and named if empty
            if _PATTERN.match(sub) and not _has_products(here / sub):
                yield _problem(here / sub, "a folder named like a product, with no product "
                                           "in it (a product is a file)")
        files = []
        for name in sorted(names):
            if not _PATTERN.match(name):
                continue
            path = here / name
            if path.is_file():
                files.append(path)
            elif path.is_symlink():
                yield _problem(path, f"a symbolic link to {os.readlink(path)}, which does not "
                                     "exist")
            else:
                yield _problem(path, "named like a product but not a regular file")
        found = found or bool(files)
        yield from _group(files)
    for error in errors:
        yield _problem(Path(error.filename or top), f"cannot be read ({error.strerror or error})")
    if not found and not _PATTERN.match(top.name):
        yield _problem(top, "a folder with no products (*_rate, *_cal, *_s3d, *_x1d "
                            ".fits/.fits.gz) in it")
    elif not found:
        yield _problem(top, "a folder named like a product, with no product in it (a product "
                            "is a file)")


def iter_datasets(paths: Iterable[Path]) -> Iterator[Dataset]:
    """Stream the datasets of the products under ``paths``.

    The files named directly are grouped among themselves and yielded first; then each folder
    is walked, one sub-folder at a time, and its products grouped (a cube or x1d named after
    an observation joins that observation's exposures in the same folder).

    Parameters
    ----------
    paths : iterable of path
        Files and folders (searched recursively).

    Yields
    ------
    Dataset
        Datasets of products, and for every path that gives no product a dataset whose
        ``problems`` name it and say why (missing, a dangling symbolic link, not a product
        name, a folder without products, unreadable).
    """
    folders: list[Path] = []
    named: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            folders.append(path)
        elif path.is_file():
            if product_kind(path):
                named.append(path)
            else:
                yield _problem(path, _NOT_A_PRODUCT)
        elif path.is_symlink():
            yield _problem(path, f"a symbolic link to {os.readlink(path)}, which does not exist")
        elif path.exists():
            yield _problem(path, "not a regular file or folder")
        else:
            yield _problem(path, "no such file or folder")
    yield from _group(named)
    for folder in folders:
        yield from _walk(folder)


def discover(paths: list[Path]) -> list[Dataset]:
    """Datasets made of the products found under ``paths`` (:func:`iter_datasets`, sorted).

    Parameters
    ----------
    paths : list of path
        Files and folders (searched recursively). A path that gives no product (missing,
        a dangling symbolic link, a folder without products, ...) becomes a dataset whose
        ``problems`` say so, so that the run reports it instead of aborting.

    Returns
    -------
    list of Dataset
        The datasets of products sorted by name, then those with problems.
    """
    found = list(iter_datasets(paths))
    return (sorted((d for d in found if not d.problems), key=lambda d: d.name)
            + [d for d in found if d.problems])
