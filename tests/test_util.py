"""The small helpers of :mod:`ifuqa.util`: the atomic writer and the value formatter."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest

import ifuqa.util.atomic as atomic_module
from ifuqa.util.atomic import atomic_write
from ifuqa.util.formatting import format_value


def test_atomic_write_text_and_binary(tmp_path: Path) -> None:
    text = tmp_path / "new" / "folder" / "a.json"  # the folder is created
    assert atomic_write(text, lambda fh: json.dump({"a": 1}, fh)) == text
    assert json.loads(text.read_text()) == {"a": 1}
    assert stat.S_IMODE(text.stat().st_mode) == 0o644  # readable by others, unlike mkstemp's
    arrays = tmp_path / "a.npz"
    atomic_write(arrays, lambda fh: np.savez(fh, x=np.arange(3)), mode="wb")
    with np.load(arrays) as data:
        assert data["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "new"]


def test_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("a long old content\n" * 10)
    atomic_write(path, lambda fh: fh.write("new\n"))
    assert path.read_text() == "new\n"


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old\n")

    def fail(*args: object) -> None:
        raise OSError(f"failed in {where}")

    def write(fh: object) -> None:
        fh.write("half of the new")  # type: ignore[attr-defined]
        if where == "write":
            raise KeyboardInterrupt  # not only Exceptions: also an interrupted run

    if where != "write":
        monkeypatch.setattr(atomic_module.os, where, fail)
    with pytest.raises(KeyboardInterrupt if where == "write" else OSError):
        atomic_write(path, write)
    monkeypatch.undo()
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_write_refuses_other_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        atomic_write(tmp_path / "a", lambda fh: None, mode="a")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("args", "kwargs", "text"), [
    ((0.421234, "%"), {}, "0.4212 %"),
    ((0.421234,), {}, "0.4212"),
    ((12345.6, "mas"), {}, "1.235e+04 mas"),
    ((0.2, "%"), {"signed": True}, "+0.2 %"),
    ((-0.2,), {"signed": True}, "-0.2"),
    ((0.1234567, "mas"), {"digits": 6}, "0.123457 mas"),
    ((None, "%"), {}, "-"),
    ((None, "mas"), {"none": "none"}, "none"),
    ((3, ""), {}, "3"),
    (("n/a", "%"), {}, "n/a %"),
])
def test_format_value(args: tuple, kwargs: dict, text: str) -> None:
    assert format_value(*args, **kwargs) == text


@pytest.mark.parametrize("command", ["simulate", "process", "check", "build", "list", "compare",
                                     "inject", "explore"])
def test_every_cli_command_prints_its_help(command, capsys):
    """``ifuqa COMMAND --help`` works for every command (a bare ``%`` in a help text once broke
    ``ifuqa inject --help``)."""
    from ifuqa.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: ifuqa {command}" in capsys.readouterr().out
