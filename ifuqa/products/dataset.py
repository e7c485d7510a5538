"""The :class:`Dataset` the checks run on: the product files of one observation.

A dataset is a group of product files (rate, cleaned rate, cal, s3d, x1d) plus, for synthetic
data, the truth of the scene and a few extra products some checks need (a cube built without
outlier rejection as the peak reference; spectra at other spaxel scales). Users' datasets come
from :mod:`ifuqa.products.discovery`; synthetic ones from :mod:`ifuqa.builds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ifuqa.simulate.truth import Truth

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """Products of one observation, and the truth when it is synthetic."""

    name: str
    rate: list[Path] = field(default_factory=list)
    cleaned: list[Path] = field(default_factory=list)
    cal: list[Path] = field(default_factory=list)
    s3d: list[Path] = field(default_factory=list)
    x1d: list[Path] = field(default_factory=list)
    truth: Truth | None = None
    truth_dir: Path | None = None
    defects: tuple[str, ...] = ()
    reference_s3d: Path | None = None
    scale_x1d: dict[float, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        """True when the truth is known."""
        return self.truth is not None

    _FILE_FIELDS = ("rate", "cleaned", "cal", "s3d", "x1d")

    def to_json(self) -> dict:
        """A user's dataset (products and problems; no truth) as JSON, for handing it to
        another process (:meth:`from_json`)."""
        return {"name": self.name, "problems": list(self.problems),
                **{f: [str(p) for p in getattr(self, f)] for f in self._FILE_FIELDS}}

    @classmethod
    def from_json(cls, data: dict) -> Dataset:
        """The dataset :meth:`to_json` wrote."""
        return cls(name=data["name"], problems=list(data.get("problems", [])),
                   **{f: [Path(p) for p in data.get(f, [])] for f in cls._FILE_FIELDS})

    def files(self) -> list[Path]:
        """Every product file of the dataset."""
        return [p for f in self._FILE_FIELDS for p in getattr(self, f)]
