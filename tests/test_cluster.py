"""Beyond one machine: content-keyed atomic builds, builds and checks on a real Dask cluster
(a scheduler and workers started here, no mocks), worker death, the shared-cache check,
streaming/resumable ``ifuqa check``, every named path answered, the release catalogue and
progress people can follow."""

from __future__ import annotations

import fcntl
import glob
import json
import os
import pty
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from ifuqa.builds.synthetic import SyntheticSpec, build_folder, catalogue_spec, is_built
from ifuqa.products.discovery import discover, iter_datasets

TINY = """\
name = "tiny_point_g395h"
description = "one exposure on NRS1, a narrow band: a build of seconds"
grating = "G395H"
filter = "F290LP"
detectors = ["NRS1"]
wavelength_range_um = [3.80, 3.86]
dithers = "none"
exposure_time = 300.0
seed = 17

[[sources]]
kind = "point"
offset = [0.02, -0.01]
flux_mjy = 10.0
"""

FAST = ("NS-IFU03",)
"""Builds in these tests skip NSClean (the NS-IFU03 defect switch), which is most of a tiny
build's time; everything else is the real chain."""

REPO = Path(__file__).resolve().parents[1]


def _tiny(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.toml"
    path.write_text(TINY)
    return path


def _ifuqa(*args: str, cwd: Path, check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", "ifuqa.cli", *args], cwd=cwd, text=True,
                          capture_output=True, env=env, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"ifuqa {' '.join(args)} exit {proc.returncode}:\n{proc.stdout}\n"
                             f"{proc.stderr}")
    return proc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Cluster:
    """A real dask.distributed scheduler and workers, each its own process (``dask scheduler``,
    ``dask worker``), on localhost."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []
        self.env = dict(os.environ, PYTHONWARNINGS="ignore")

    def _spawn(self, argv: list[str], log: str, prefix: list[str] | None = None) -> None:
        out = (self.tmp / log).open("w")
        self.logs.append(out)
        self.procs.append(subprocess.Popen([*(prefix or []), *argv], stdout=out,
                                           stderr=subprocess.STDOUT, env=self.env,
                                           cwd=self.tmp, start_new_session=True))

    def start_scheduler(self) -> None:
        self._spawn([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                     "127.0.0.1", "--port", str(self.port), "--dashboard-address", ":0"],
                    "scheduler.log")

    def add_worker(self, name: str, prefix: list[str] | None = None) -> None:
        self._spawn([sys.executable, "-m", "distributed.cli.dask_worker", self.address,
                     "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--name", name,
                     "--local-directory", str(self.tmp / f"w-{name}")], f"{name}.log", prefix)

    def wait_for(self, workers: int) -> None:
        from distributed import Client

        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(self.address, timeout="5s") as client:
                    client.wait_for_workers(workers, timeout=60)
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for out in self.logs:
            out.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[_Cluster]:
    """A scheduler and two workers on localhost."""
    c = _Cluster(tmp_path)
    c.start_scheduler()
    c.add_worker("a")
    c.add_worker("b")
    try:
        c.wait_for(2)
        yield c
    finally:
        c.stop()


def _records(path: Path) -> list[dict]:
    return json.loads(path.read_text())["records"]


def _archive(folder: Path, n: int) -> Path:
    from benchmarks.bench_archive_check import write_archive

    return write_archive(folder, n, shape=(60, 15, 15), per_folder=3)


def _check_matches_in_process(cluster: _Cluster, tmp_path: Path, pairs: int) -> None:
    """``ifuqa check`` of an archive, in batches of 2, here and through ``cluster``: the same
    exit status and the same results file, byte for byte."""
    data = _archive(tmp_path / "archive", pairs)
    serial = _ifuqa("check", str(data), "--batch-size=2", f"--results={tmp_path / 's.json'}",
                    cwd=tmp_path)
    dask = _ifuqa("check", str(data), "--batch-size=2", f"--results={tmp_path / 'd.json'}",
                  "--dask", cluster.address, cwd=tmp_path)
    assert serial.returncode == dask.returncode and serial.returncode in (0, 1), \
        serial.stderr + dask.stderr
    assert (tmp_path / "s.json").read_bytes() == (tmp_path / "d.json").read_bytes()
    assert len(_records(tmp_path / "s.json")) > 2 * pairs
    assert {r["dataset"] for r in _records(tmp_path / "s.json")} == {
        d.name for d in iter_datasets([data])}
    assert "dashboard" in dask.stderr and cluster.address in dask.stderr
    assert "2 workers" in dask.stderr, dask.stderr


def _build_matches_in_process(cluster: _Cluster, tmp_path: Path) -> tuple[Path, SyntheticSpec]:
    """``ifuqa build`` of a tiny scene through ``cluster`` (cache A) and here (cache B): both
    made, the same cube and spectrum, to the last bit."""
    import numpy as np
    from astropy.io import fits

    tiny = _tiny(tmp_path / "scenes")
    on_cluster = _ifuqa("build", str(tiny), "--defect=NS-IFU03", f"--cache={tmp_path / 'A'}",
                        "--dask", cluster.address, cwd=tmp_path, check=True)
    assert "1 made" in on_cluster.stdout and f"on Dask {cluster.address}" in on_cluster.stdout
    assert "dashboard" in on_cluster.stderr
    here = _ifuqa("build", str(tiny), "--defect=NS-IFU03", f"--cache={tmp_path / 'B'}",
                  cwd=tmp_path, check=True)
    assert "1 made" in here.stdout and "ifuqa build DONE" in here.stdout
    spec = catalogue_spec(str(tiny), defects=FAST)
    assert is_built(spec, tmp_path / "A") and is_built(spec, tmp_path / "B")
    for cube in ("products/jw99999001001_03101_s3d.fits", "products/jw99999001001_03101_x1d.fits"):
        with fits.open(build_folder(spec, tmp_path / "A") / cube) as a, \
                fits.open(build_folder(spec, tmp_path / "B") / cube) as b:
            for ha, hb in zip(a, b, strict=True):
                if ha.data is not None and ha.name != "ASDF":  # (the ASDF block has dates)
                    np.testing.assert_array_equal(ha.data, hb.data)
    return tiny, spec


def test_ifuqa_check_and_build_on_a_real_cluster_match_in_process(cluster: _Cluster,
                                                                  tmp_path: Path) -> None:
    """``ifuqa check`` (two batches, one on each worker) and a small ``ifuqa build`` through
    a real scheduler and two workers give what they give in-process."""
    _check_matches_in_process(cluster, tmp_path, 3)
    _build_matches_in_process(cluster, tmp_path)


@pytest.mark.slow
def test_dask_cluster_gives_the_results_of_a_serial_run(cluster: _Cluster,
                                                        tmp_path: Path) -> None:
    """The whole done-when test: ``ifuqa check`` and ``ifuqa build`` through a real scheduler
    and two workers give what they give in-process, and so do the checks of those builds and
    of a ``pytest --ifuqa-dask`` run that builds on the cluster."""
    _check_matches_in_process(cluster, tmp_path, 5)
    tiny, spec = _build_matches_in_process(cluster, tmp_path)

    def checks(cache: str, *extra: str) -> tuple[Path, str]:
        out = tmp_path / f"checks-{cache}.json"
        run = subprocess.run(
            [sys.executable, "-m", "pytest", str(REPO / "checks"), "-p", "no:cacheprovider",
             "-q", "-o", "addopts=", "--ifuqa", f"--ifuqa-scenario={tiny}",
             "--ifuqa-defect=NS-IFU03", f"--ifuqa-cache={tmp_path / cache}",
             f"--ifuqa-results={out}", *extra], cwd=tmp_path, capture_output=True, text=True,
            check=False)
        assert run.returncode in (0, 1), run.stdout + run.stderr
        return out, run.stdout + run.stderr

    # checks of the builds made on the cluster and here, and of a pytest run that builds on it
    on_dask, shown = checks("C", f"--ifuqa-dask={cluster.address}")
    assert _records(checks("A")[0]) == _records(checks("B")[0]) == _records(on_dask)
    assert is_built(spec, tmp_path / "C")
    # that run's progress: the cluster, each task as it starts and ends, and the tally
    assert f"Dask scheduler {cluster.address}, 2 workers; dashboard:" in shown, shown
    assert "ifuqa build START tiny[NS-IFU03] on tcp://" in shown, shown
    assert "ifuqa build DONE  tiny[NS-IFU03]: build in" in shown, shown
    assert "ifuqa: 1 builds on Dask (1 made, 0 cached)" in shown, shown


def test_pytest_progress_lines_under_xdist(tmp_path: Path) -> None:
    """One line per build as it starts and one as it ends, with stage timings, from the xdist
    worker that made it."""
    tiny = _tiny(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(REPO / "checks"), "-p", "no:cacheprovider", "-n",
         "2", "-o", "addopts=", "--ifuqa", f"--ifuqa-scenario={tiny}", "--ifuqa-defect=NS-IFU03",
         f"--ifuqa-cache={tmp_path / 'cache'}", "-m", "ns_ifu04"], cwd=tmp_path,
        capture_output=True, text=True, check=False)
    out = run.stdout + run.stderr
    assert run.returncode in (0, 1), out
    starts = [ln for ln in out.splitlines() if "ifuqa build START tiny[NS-IFU03]" in ln]
    ends = [ln for ln in out.splitlines() if "ifuqa build DONE  tiny[NS-IFU03]" in ln]
    assert starts and ends and all(ln.startswith("[gw") for ln in starts + ends), out
    made = [ln for ln in ends if " in " in ln and "simulate" in ln]
    assert len(made) == 1 and "cube build" in made[0] and "extract 1-D" in made[0], ends


def test_a_build_killed_half_way_leaves_nothing_trusted(tmp_path: Path) -> None:
    """SIGKILL an ``ifuqa build`` while it processes: no build folder (only a temporary one),
    the next build removes it and completes."""
    tiny = _tiny(tmp_path)
    cache = tmp_path / "cache"
    spec = catalogue_spec(str(tiny), defects=FAST)
    proc = subprocess.Popen([sys.executable, "-m", "ifuqa.cli", "build", str(tiny),
                             "--defect=NS-IFU03", f"--cache={cache}"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    final = build_folder(spec, cache)
    deadline = time.monotonic() + 120
    while not list(cache.glob(f".{glob.escape(final.name)}.tmp-*/products/*_cal.fits")):
        assert proc.poll() is None and time.monotonic() < deadline, "the build ended first"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not final.exists() and not is_built(spec, cache)
    left = list(cache.glob(f".{glob.escape(final.name)}.tmp-*"))
    assert left  # what it left: a temporary folder, never taken for a build
    done = _ifuqa("build", str(tiny), "--defect=NS-IFU03", f"--cache={cache}", cwd=tmp_path,
                  check=True)
    assert "1 made" in done.stdout
    assert is_built(spec, cache) and not list(cache.glob(f".{glob.escape(final.name)}.tmp-*"))
    assert not list(cache.glob(".sim-*.tmp-*"))


def test_a_worker_killed_mid_build_is_retried_and_reported(tmp_path: Path) -> None:
    """A real LocalCluster; the worker running the build is SIGKILLed as the build starts:
    its nanny restarts it, the scheduler runs the build again, the run says so."""
    from ifuqa.cluster.builds import run_builds
    from ifuqa.cluster.connect import dask_client

    tiny = _tiny(tmp_path)
    spec = SyntheticSpec(str(tiny), defects=FAST, with_reference=False)
    killed: list[int] = []
    lines: list[str] = []

    def on_event(event) -> None:
        lines.append(event.line())
        if event.what == "start" and event.task.kind == "build" and not killed:
            time.sleep(1.0)  # into the processing
            os.kill(event.pid, signal.SIGKILL)
            killed.append(event.pid)

    with dask_client("local", n_workers=2, say=lines.append) as client:
        run = run_builds([spec], tmp_path / "cache", client=client, on_event=on_event)
    assert killed and run.ok, lines
    key = build_folder(spec, tmp_path / "cache").name
    assert run.retries == {key: 1}, lines
    assert any("retried 1× after its worker died" in ln and "DONE" in ln for ln in lines), lines
    assert is_built(spec, tmp_path / "cache")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare to give a worker its own mounts")
def test_a_worker_that_cannot_see_the_cache_stops_the_run(tmp_path: Path) -> None:
    """One of two workers runs in its own mount namespace with an empty tmpfs over the cache
    path (as a worker on another machine would see another folder): the build stops before any
    task, naming that worker and the path."""
    cache = tmp_path / "cache"
    cache.mkdir()
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m is not allowed here: {probe.stderr.decode().strip()}")
    c = _Cluster(tmp_path)
    c.start_scheduler()
    c.add_worker("sees")
    c.add_worker("blind", prefix=["unshare", "-m", "--propagation", "private", "sh", "-c",
                                  f'mount -t tmpfs none "{cache}" && exec "$0" "$@"'])
    try:
        c.wait_for(2)
        tiny = _tiny(tmp_path / "scenes")
        run = _ifuqa("build", str(tiny), f"--cache={cache}", "--dask", c.address, cwd=tmp_path)
    finally:
        c.stop()
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"1 of 2 Dask workers cannot see the build cache {cache}" in run.stderr
    assert "the client's token is not there" in run.stderr or "another folder" in run.stderr
    assert not list(cache.glob("sim-*"))  # nothing ran


@pytest.mark.slow
def test_check_streams_journals_and_resumes(tmp_path: Path) -> None:
    """An interrupted ``ifuqa check`` resumes from its journal: the datasets already done are
    not checked again, a changed file is, and the results equal one uninterrupted run (and a
    plain ``pytest --ifuqa-data`` run, byte for byte)."""
    data = _archive(tmp_path / "archive", 6)
    whole = tmp_path / "whole.json"
    code = _ifuqa("check", str(data), "--batch-size=2", f"--results={whole}",
                  cwd=tmp_path).returncode
    assert code in (0, 1)
    plain = tmp_path / "plain.json"
    subprocess.run([sys.executable, "-m", "pytest", str(REPO / "checks"), "-p",
                    "no:cacheprovider", "-q", "-o", "addopts=", f"--ifuqa-data={data}",
                    f"--ifuqa-results={plain}"], cwd=tmp_path, capture_output=True, check=False)
    assert plain.read_bytes() == whole.read_bytes()

    results = tmp_path / "r.json"
    journal = tmp_path / "r.json.journal"
    proc = subprocess.Popen([sys.executable, "-m", "ifuqa.cli", "check", str(data),
                             "--batch-size=2", f"--results={results}"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (journal.is_file() and journal.read_text().count("\n") >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended first"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not results.exists()
    with journal.open("a") as fh:  # as if killed while appending: a torn last line
        fh.write('{"key": "torn')
    resumed = _ifuqa("check", str(data), "--batch-size=2", f"--results={results}", "--resume",
                     cwd=tmp_path)
    assert resumed.returncode == code, resumed.stderr
    done_before = int(resumed.stdout.split("datasets (")[1].split()[0])
    assert 2 <= done_before < 6, resumed.stdout
    assert results.read_bytes() == whole.read_bytes()

    # a changed product is checked again; the others are not
    cube = sorted(data.rglob("*_s3d.fits"))[0]
    os.utime(cube, ns=(time.time_ns(), time.time_ns()))
    again = _ifuqa("check", str(data), "--batch-size=2", f"--results={results}", "--resume",
                   cwd=tmp_path)
    assert "6 datasets (5 already in the journal), 1 batches" in again.stdout, again.stdout
    assert results.read_bytes() == whole.read_bytes()


def test_every_named_path_gets_a_record(tmp_path: Path) -> None:
    """A dangling symbolic link (named, or inside a folder), a folder named like a product, a
    folder without products, a missing path: each gets an error record naming it and why."""
    data = tmp_path / "data"
    (data / "unpacked_s3d.fits").mkdir(parents=True)
    (data / "dangling_s3d.fits").symlink_to(tmp_path / "gone_s3d.fits")
    (tmp_path / "x_s3d.fits").mkdir()
    (tmp_path / "named_x1d.fits").symlink_to(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    named = [data, tmp_path / "x_s3d.fits", tmp_path / "named_x1d.fits", tmp_path / "empty",
             tmp_path / "missing_s3d.fits"]
    found = {d.name: d.problems for d in iter_datasets(named)}
    assert "a symbolic link to" in found["dangling_s3d.fits"][0]
    assert "which does not exist" in found["named_x1d.fits"][0]
    assert "a folder named like a product" in found["x_s3d.fits"][0]
    assert "a folder named like a product" in found["unpacked_s3d.fits"][0]
    assert "a folder with no products" in found["empty"][0]
    assert "no such file or folder" in found["missing_s3d.fits"][0]
    assert {d.name for d in discover(named)} == set(found)
    results = tmp_path / "r.json"
    run = _ifuqa("check", *map(str, named), f"--results={results}", "-m", "ns_ifu04",
                 cwd=tmp_path)
    assert run.returncode == 1
    errors = {r["dataset"]: r["message"] for r in _records(results) if r["verdict"] == "error"}
    assert set(errors) == set(found)
    assert str(tmp_path / "x_s3d.fits") in errors["x_s3d.fits"]


def test_release_catalogue_spans_the_instrument(tmp_path: Path) -> None:
    from ifuqa.scenario import load_scenario
    from ifuqa.scenario.catalogues import catalogue_scenarios

    paths = catalogue_scenarios("release")
    assert 45 <= len(paths) <= 60
    scenes = [load_scenario(p) for p in paths]
    assert {s.grating for s in scenes} == {"G140M", "G140H", "G235M", "G235H", "G395M", "G395H",
                                           "PRISM"}
    assert {d for s in scenes for d in (s.detectors or ())} >= {"NRS1", "NRS2"}
    assert len({len(s.dithers) for s in scenes}) >= 3
    fluxes = [s.sources[0].flux_mjy for s in scenes]
    assert max(fluxes) / min(fluxes) >= 100
    offsets = {tuple(s.sources[0].offset) for s in scenes}
    assert len(offsets) >= 4 and max(abs(x) for o in offsets for x in o) >= 1.0
    assert len({s.name for s in scenes}) == len(scenes)
    # pytest --ifuqa --ifuqa-catalogue=release collects one dataset per scene
    run = subprocess.run([sys.executable, "-m", "pytest", str(REPO / "checks"), "-p",
                          "no:cacheprovider", "-o", "addopts=", "--ifuqa",
                          "--ifuqa-catalogue=release", f"--ifuqa-cache={tmp_path}",
                          "--collect-only", "-q", "-m", "ns_ifu05"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    ids = {line.split("[", 1)[1].rstrip("]") for line in run.stdout.splitlines()
           if "test_extracted_spectrum_has_no_wiggles[" in line}
    assert ids == {Path(p).stem for p in paths}, run.stdout[-2000:]
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(paths[0], folder)
    assert catalogue_scenarios(folder) == [str(folder / Path(paths[0]).name)]


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_draws_on_a_terminal_and_is_silent_in_a_pipe() -> None:
    """The CLI's bar (counts, rate, ETA) on a real pseudo-terminal; nothing of it in a pipe,
    where the result lines are printed plainly."""
    from ifuqa.cluster.progress import progress_bar, write_line

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    with os.fdopen(follower, "w", buffering=1) as tty:
        bar = progress_bar(3, "ifuqa check", "dataset", stream=tty)
        for _ in range(3):
            bar.update(1)
        write_line(bar, "ifuqa build DONE  x", stream=tty)
        bar.close()
    drawn = _read_all(leader)
    os.close(leader)
    assert "ifuqa check" in drawn and "3/3" in drawn, drawn
    assert "dataset/s" in drawn or "s/dataset" in drawn  # the rate
    assert "00:00<00:00" in drawn  # elapsed<remaining (the ETA)
    assert "ifuqa build DONE  x" in drawn

    read, write = os.pipe()
    with os.fdopen(write, "w") as pipe:
        bar = progress_bar(3, "ifuqa check", "dataset", stream=pipe)
        bar.update(3)
        write_line(bar, "ifuqa build DONE  y", stream=pipe)
        bar.close()
    with os.fdopen(read) as fh:
        assert fh.read() == "ifuqa build DONE  y\n"


@pytest.mark.slow
def test_cli_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    """``ifuqa check`` draws a bar with counts, rate and ETA on a terminal; nothing of it in a
    pipe."""
    data = _archive(tmp_path / "archive", 3)
    piped = _ifuqa("check", str(data), "--batch-size=3", cwd=tmp_path)
    assert "dataset/s" not in piped.stderr and "\r" not in piped.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "ifuqa.cli", "check", str(data),
                             "--batch-size=1"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=follower, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    os.close(follower)
    drawn = _read_all(leader)
    proc.wait()
    os.close(leader)
    assert "ifuqa check" in drawn and "3/3" in drawn, drawn
    assert "s/dataset" in drawn or "dataset/s" in drawn  # the rate
    assert "<" in drawn  # elapsed<remaining (the ETA)


def test_build_plan_shares_intermediate_products_and_starts_long_chains_first(
        tmp_path: Path) -> None:
    """The main job's plan (catalogue + power matrix): one simulation per scene and seed, one
    reference cube for the fixed dataset and its NS-IFU01 defect, and priorities that start the
    longest chains (the ramps simulation) first."""
    from ifuqa.builds.power_rows import power_datasets
    from ifuqa.builds.tasks import build_plan, critical_path
    from ifuqa.scenario import catalogue_names

    names = catalogue_names()
    specs = [catalogue_spec(n) for n in names] + [s for _, s in power_datasets(names, tmp_path)]
    plan = build_plan(specs, tmp_path)
    kinds = [t.kind for t in plan]
    assert kinds.count("build") == len(specs)
    bright = [t for t in plan if t.kind == "simulate" and t.label == "bright_point_g395h"]
    assert len(bright) == 1  # shared by the fixed dataset and its NS-IFU01/02/05 defects
    # one per scene that has one (bright_point_g395h; drift_point_g235m sets extra_studies =
    # false), shared by the fixed dataset and its NS-IFU01 defect
    references = [t.label for t in plan if t.kind == "reference"]
    assert references == ["bright_point_g395h (reference cube)"], references
    users = [t for t in plan if bright[0].key in t.deps]
    assert len(users) == 4
    keys = [t.key for t in plan]
    assert all(keys.index(d) < keys.index(t.key) for t in plan for d in t.deps)
    rank = critical_path(plan)
    assert all(rank[d] > rank[t.key] for t in plan for d in t.deps)
    first = max(plan, key=lambda t: rank[t.key])
    assert first.kind == "simulate" and "cosmic_rays" in first.label


def test_the_spaxel_scale_study_reuses_the_main_cube(tmp_path: Path) -> None:
    """The 0.1" point of the NS-IFU02 scale study is the main cube extracted again with the
    study's aperture (not a second cube build); anything that changes the cube is refused."""
    import dataclasses

    import numpy as np
    from astropy.io import fits

    from ifuqa.builds import simulate_scenario
    from ifuqa.process.chain import ProcessingError, extract_again, process
    from ifuqa.process.config import ProcessingConfig
    from ifuqa.scenario import load_scenario

    sim = tmp_path / "sim"
    simulate_scenario(load_scenario(_tiny(tmp_path)), sim)
    config = ProcessingConfig(defects=frozenset(FAST))
    main = process(sim, tmp_path / "main", config)
    study = dataclasses.replace(config, aperture_radius_arcsec=0.6)
    full = process(sim, tmp_path / "full", study, exposure_products=False)
    again = extract_again(main, tmp_path / "again", study)
    assert set(again.timings_s) == {"extract 1-D"}
    a, b = fits.getdata(full.x1d_file, 1), fits.getdata(again.x1d_file, 1)
    for name in ("WAVELENGTH", "FLUX", "FLUX_ERROR"):
        np.testing.assert_allclose(b[name], a[name], rtol=1e-12)
    with pytest.raises(ProcessingError, match="spaxel_arcsec"):
        extract_again(main, tmp_path / "bad", dataclasses.replace(study, spaxel_arcsec=0.2))


def test_the_spaxel_scale_cubes_are_built_from_the_main_point_clouds(tmp_path: Path) -> None:
    """The other spaxel scales of the NS-IFU02 study are cubes built again from the main
    processing's point clouds (build_again): the same s3d as processing the exposures again at
    that scale, without re-reading or re-calibrating them, and the x1d extracted where the main
    cube found the source (``center_xy``), as processing at that scale with that centre gives it;
    a change that is not the cube's or the extraction's is refused."""
    import dataclasses

    import numpy as np
    from astropy.io import fits

    from ifuqa.builds import simulate_scenario
    from ifuqa.process.chain import ProcessingError, build_again, process
    from ifuqa.process.config import ProcessingConfig
    from ifuqa.scenario import load_scenario

    sim = tmp_path / "sim"
    simulate_scenario(load_scenario(_tiny(tmp_path)), sim)
    config = ProcessingConfig(defects=frozenset(FAST))
    main = process(sim, tmp_path / "main", config, keep_clouds=True)
    study = dataclasses.replace(config, spaxel_arcsec=0.2, aperture_radius_arcsec=0.6)
    full = process(sim, tmp_path / "full", study, exposure_products=False)
    again = build_again(main, tmp_path / "again", study)
    assert "calibrate" not in again.timings_s and "cube build" in again.timings_s
    for ext in ("SCI", "ERR", "DQ", "WMAP"):
        np.testing.assert_array_equal(fits.getdata(again.cube_file, ext),
                                      fits.getdata(full.cube_file, ext))
    header = fits.getheader(again.x1d_file)
    assert header["IFQ_CEN"] == "center_xy"
    centred = process(sim, tmp_path / "centred", dataclasses.replace(
        study, center_xy=(header["IFQ_CX"], header["IFQ_CY"])), exposure_products=False)
    a, b = fits.getdata(centred.x1d_file, 1), fits.getdata(again.x1d_file, 1)
    np.testing.assert_array_equal(b["WAVELENGTH"], a["WAVELENGTH"])
    for name in ("FLUX", "FLUX_ERROR"):  # IFQ_CX/IFQ_CY keep 4 decimals of the centre
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6)
    # ifu_autocen on the coarse cube finds (nearly) the same place here, a centred source
    np.testing.assert_allclose(b["FLUX"], fits.getdata(full.x1d_file, 1)["FLUX"], rtol=2e-3)
    for key in ("IFQ_FIX", "IFQ_SPAX"):
        assert fits.getheader(again.cube_file)[key] == fits.getheader(full.cube_file)[key]
    with pytest.raises(ProcessingError, match="defects"):
        build_again(main, tmp_path / "bad", study.with_defects("NS-IFU02"))
