"""What a search met and found: one :class:`Example` per scene, one :class:`IssueExploration`
per known issue (the JSON the summary and the finding pages are written from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ifuqa.evaluate.shipped_checks import CheckRun
from ifuqa.scenario.schema import Scenario

__all__ = ["Example", "IssueExploration"]


@dataclass
class Example:
    """One scene the search met.

    Attributes
    ----------
    name : str
        Scenario name.
    phase : {"search", "shrink"}
        Before or after the first failure.
    status : {"built", "cached", "not built"}
        Built now, outcome read from the cache, or skipped (shrink budget spent).
    failed : bool
        Whether the issue's checks failed on it.
    seconds : float
        Wall time of its build and checks.
    failing : list of str
        ``check/metric: message`` of each failing record.
    scene_file : str
        Its TOML in the cache.
    warnings : list of str
        Distinct warnings its build and checks raised.
    closeness : float
        :func:`closeness` of its records (1: at a limit).
    """

    name: str
    phase: str
    status: str
    failed: bool
    seconds: float
    failing: list[str] = field(default_factory=list)
    scene_file: str = ""
    warnings: list[str] = field(default_factory=list)
    closeness: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class IssueExploration:
    """What a search of one known issue explored and found.

    Attributes
    ----------
    issue : str
    defects : tuple of str
        Processing defects switched on (``--defect``).
    max_examples : int
        The budget of drawn scenes.
    examples : list of Example
        Every scene met, in order.
    minimal : Scenario or None
        The minimal failing scene (None: nothing failed).
    minimal_run : CheckRun or None
        The checks' results on it (with plot data).
    confirmation : CheckRun or None
        The checks on :func:`~ifuqa.builds.exploration.full_chain_scenario` of the minimal
        scene processed by the whole chain (when asked for).
    seconds : float
        Wall time of the search.
    """

    issue: str
    defects: tuple[str, ...]
    max_examples: int
    examples: list[Example] = field(default_factory=list)
    minimal: Scenario | None = None
    minimal_run: CheckRun | None = None
    confirmation: CheckRun | None = None
    seconds: float = 0.0

    @property
    def found(self) -> bool:
        """Whether a failing scene was found."""
        return self.minimal is not None

    @property
    def drawn(self) -> list[Example]:
        """The scenes of the search phase (before the first failure)."""
        return [e for e in self.examples if e.phase == "search"]

    @property
    def built(self) -> list[Example]:
        """The scenes built in this run."""
        return [e for e in self.examples if e.status == "built"]

    def seconds_per_built_example(self) -> float:
        """Mean wall time of a build and its checks (NaN when nothing was built)."""
        built = self.built
        return sum(e.seconds for e in built) / len(built) if built else float("nan")

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "issue": self.issue, "defects": list(self.defects),
            "max_examples": self.max_examples,
            "drawn": len(self.drawn), "shrink_steps": len(self.examples) - len(self.drawn),
            "built": len(self.built),
            "cached": sum(e.status == "cached" for e in self.examples),
            "not_built": sum(e.status == "not built" for e in self.examples),
            "failing_scenes": sum(e.failed for e in self.examples),
            "seconds": round(self.seconds, 1),
            "seconds_per_built_example": round(self.seconds_per_built_example(), 2),
            "warnings": sorted({w for e in self.examples for w in e.warnings}),
            "found": self.found,
            "minimal": self.minimal.name if self.minimal else None,
            "failing": ([f"{r.check}/{r.metric}: {r.message}" for r in self.minimal_run.failing]
                        if self.minimal_run else []),
            "confirmed_by_full_chain": (None if self.confirmation is None
                                        else self.confirmation.failed),
        }
