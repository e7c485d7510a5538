"""Fakes of what ifuqa's xdist scheduler (:mod:`ifuqa._pytest.xdist_schedule`) uses of
pytest-xdist: a worker controller and the config, shared by the scheduling tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class FakeNode:
    """What the scheduler uses of an xdist WorkerController."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.shutting_down = False
        self.sent: list[int] = []
        self.gateway = SimpleNamespace(id=name)

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def fake_config() -> Any:
    """A config with two popen workers and ``--loadscope-reorder`` on."""
    option = SimpleNamespace(loadscopereorder=True, tx=["2*popen"])
    return SimpleNamespace(option=option, getvalue=lambda name: getattr(option, name))
