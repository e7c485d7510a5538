"""Finding a user's products on disk and grouping them into datasets.

Files are recognised by the pipeline's suffixes (``_rate``, ``_nsclean``, ``_cal``, ``_crf``,
``_s3d``, ``_x1d``; ``.fits`` or ``.fits.gz``); folders are searched recursively. Exposure-level
products (rate/cal/crf) are grouped by observation (the file name up to the exposure number,
``jwPPPPPOOOVVV_GGSAA``); a cube and its x1d by their common stem. Nothing is opened here, so a
corrupt file still becomes part of a dataset and is reported by the check that reads it.
"""

from __future__ import annotations

import re
from pathlib import Path

from ifuqa.products.dataset import Dataset

__all__ = ["PRODUCT_SUFFIXES", "discover", "product_kind", "product_stem"]

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


def discover(paths: list[Path]) -> list[Dataset]:
    """Datasets made of the products found under ``paths``.

    Parameters
    ----------
    paths : list of path
        Files and folders (searched recursively). A path that does not exist becomes a
        dataset whose ``problems`` say so, so that the run reports it instead of aborting.

    Returns
    -------
    list of Dataset
        Sorted by name; x1d/s3d products whose stem starts with an exposure group's
        observation are attached to that group.
    """
    files: list[Path] = []
    missing: list[Dataset] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and product_kind(p))
        elif path.is_file():
            if product_kind(path):
                files.append(path)
            else:
                missing.append(Dataset(name=path.name, problems=[
                    f"{path}: not a recognised product name (expected *_rate, *_cal, *_s3d "
                    "or *_x1d .fits/.fits.gz)"]))
        else:
            missing.append(Dataset(name=path.name, problems=[f"{path}: no such file or folder"]))
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
    return sorted(groups.values(), key=lambda d: d.name) + missing
