#!/usr/bin/env python3
"""The release gate between two real jwst releases, in two virtual environments.

Builds the catalogue baseline under the reference jwst and gates the candidate jwst against it::

    python3 tools/release_gate.py                      # reference jwst 2.0.1, candidate 3.0.0
    python3 tools/release_gate.py --reference 3.0.0 --candidate "jwst @ git+https://github.com/spacetelescope/jwst@main"

Steps (each timed; everything goes to ``--workdir``, default ``build/release-gate/``):

1. a virtual environment per release (``venv-<label>``), with ifuqa installed editable from this
   checkout and ``jwst==<version>``, each with the stack pip resolves for it (its ``pip freeze``
   is kept as ``freeze-<label>.txt``); ``--reuse-venvs`` keeps existing ones;
2. in each, the adapter tests (``tests/test_jwst_adapter.py``, ``tests/test_jwst_lines.py``):
   the jwst API ifuqa uses is there on that release line;
3. the reference: ``pytest --ifuqa -n 2 --ifuqa-generate-baseline=baseline-<ref>.json`` (own
   build cache ``cache-<ref>``: the two releases never share builds);
4. the candidate: ``pytest --ifuqa -n 2 --ifuqa-baseline=baseline-<ref>.json`` (own cache);
5. ``ifuqa compare baseline-<ref>.json results-<cand>.json`` (``compare.txt``, ``compare.html``);
6. the adaptive trace model, which the catalogue does not run (it is off by default, as in jwst)
   and whose NRS_IFU algorithm is what differs most between the lines: one simulation of
   ``--trace-model-scenario`` (default ``bright_point_g395h``; ``none`` skips this), processed in
   each venv with ``ifuqa process --trace-model``, all dithers and one dither (``--defect
   NS-IFU05``), checked with ``ifuqa check`` (truth-free checks; baseline from the reference,
   gate on the candidate) and compared (``trace-model/compare-<variant>.txt``, ``.html``).
   Which stages each venv's jwst provides is asked first
   (:func:`ifuqa.process.jwst_api.stage_availabilities`, kept in ``versions.json``): a line
   that cannot provide the trace model is not processed with something else instead; its side
   of each variant is a results file of skips saying "unavailable on this line" with the
   reason (on the candidate's side every baseline metric is then *lost*, and the gate fails);
7. ``outcome.md``: the versions that differ, the stages each line cannot provide (with the
   reason), and every metric whose value moved between the releases, per gate, with the gate's
   status, the tolerance and the release notes that explain the move (:data:`KNOWN_CAUSES`,
   established by measurement; "no known cause" otherwise).

Reports: ``report-<label>.html``, results ``results-<label>.json``. Exit status: 0 when the
candidate passes the gates and every check; 1 when a gate found a regression or a lost metric, or
a check failed; 2 when a step before the gate failed (environment, install, adapter tests, no
baseline). Only the standard library is needed to run it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ADAPTER_TESTS = ("tests/test_jwst_adapter.py", "tests/test_jwst_lines.py")
VERSION_PACKAGES = ("jwst", "stcal", "stdatamodels", "photutils", "numpy", "scipy", "astropy",
                    "gwcs", "stpipe", "asdf")


def _label(spec: str) -> str:
    """A file-name label for a jwst spec: ``2.0.1`` → ``jwst-2.0.1``."""
    version = spec.split("==", 1)[-1] if "==" in spec else spec
    return "jwst-" + re.sub(r"[^A-Za-z0-9.]+", "_", version).strip("_")[:40]


def _requirement(spec: str) -> str:
    """``2.0.1`` → ``jwst==2.0.1``; anything with an operator or ``@`` is used as it is."""
    return spec if re.search(r"[=<>~!@ ]", spec) or spec.startswith("jwst") else f"jwst=={spec}"


class Gate:
    """The run's steps, their timings and a log."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.timings: list[tuple[str, float, int]] = []
        self.log = workdir / "release-gate.log"

    def run(self, name: str, cmd: list[str], *, check: bool = True, **kwargs) -> int:
        print(f"\n=== {name}\n$ {shlex.join(cmd)}", flush=True)
        with self.log.open("a") as fh:
            fh.write(f"\n=== {name}\n$ {shlex.join(cmd)}\n")
        start = time.perf_counter()
        rc = subprocess.run(cmd, cwd=kwargs.pop("cwd", REPO), **kwargs).returncode
        elapsed = time.perf_counter() - start
        self.timings.append((name, elapsed, rc))
        print(f"--- {name}: exit {rc}, {elapsed:.0f} s", flush=True)
        if check and rc != 0:
            self.summary()
            sys.exit(f"release gate: step '{name}' failed (exit {rc}); see the output above")
        return rc

    def summary(self) -> None:
        lines = ["", "release gate steps:"]
        lines += [f"  {name:<45} {elapsed:7.0f} s  exit {rc}" for name, elapsed, rc in
                  self.timings]
        text = "\n".join(lines)
        print(text, flush=True)
        with self.log.open("a") as fh:
            fh.write(text + "\n")


def _python(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / "python"


EDITABLE_CODE = """import json, importlib.metadata as m
try:
    url = json.loads(m.distribution("ifuqa").read_text("direct_url.json") or "{}")
except m.PackageNotFoundError:
    url = {}
print(url.get("url", "") if url.get("dir_info", {}).get("editable") else "")
"""


def _editable_from(py: Path) -> Path | None:
    """The checkout a venv's ifuqa is installed editable from, or None (not editable, absent)."""
    out = subprocess.run([str(py), "-c", EDITABLE_CODE], capture_output=True, text=True)
    url = out.stdout.strip() if out.returncode == 0 else ""
    return Path(url.removeprefix("file://")).resolve() if url.startswith("file://") else None


def make_env(gate: Gate, env: Path, jwst: str, *, reuse: bool, python: str | None) -> Path:
    """Create (or reuse) a venv with ifuqa (editable) and the given jwst."""
    py = _python(env)
    if env.exists() and not reuse:
        shutil.rmtree(env)
    if not py.exists():
        if python:
            gate.run(f"create {env.name}", [python, "-m", "venv", str(env)])
        else:
            print(f"\n=== create {env.name}", flush=True)
            venv.create(env, with_pip=True)
        gate.run(f"install into {env.name}",
                 [str(py), "-m", "pip", "install", "-q", "-e", str(REPO), _requirement(jwst)])
    elif _editable_from(py) != REPO:  # an existing venv keeps its stack; ifuqa from here
        gate.run(f"install ifuqa into {env.name} (--no-deps)",
                 [str(py), "-m", "pip", "install", "-q", "--no-deps", "-e", str(REPO)])
    else:
        print(f"\n=== {env.name}: ifuqa is already installed editable from {REPO}", flush=True)
    freeze = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True,
                            check=True).stdout
    (gate.workdir / f"freeze-{env.name.removeprefix('venv-')}.txt").write_text(freeze)
    return py


def versions(py: Path) -> dict[str, str]:
    code = ("import json, importlib.metadata as m\n"
            f"out = {{}}\nfor n in {VERSION_PACKAGES!r}:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: out[n] = 'not installed'\n"
            "print(json.dumps(out))")
    return json.loads(subprocess.run([str(py), "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


def _metric_values(run: dict) -> dict[tuple[str, str, str], dict]:
    """``(check, dataset, metric) -> {value, unit, issue, gate}`` of a baseline or results file."""
    if "records" in run:
        return {(r["check"], r["dataset"], r["metric"]): r for r in run["records"]}
    return {(check, dataset, metric): entry
            for check, datasets in run.get("metrics", {}).items()
            for dataset, metrics in datasets.items() for metric, entry in metrics.items()}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


KNOWN_CAUSES: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
"""Release notes that explain a move, per (reference jwst, candidate jwst): a list of
``(gate-name regex, "check/dataset/metric" regex, cause)``; the first match is the cause. Every
entry was established by a measurement (see its text); a move no entry matches is reported as
"no known cause"."""


def cause_of(ref: str, cand: str, gate: str, key: tuple[str, str, str]) -> str:
    """The known cause of a moved metric (:data:`KNOWN_CAUSES`), or ``"no known cause"``."""
    for gate_re, key_re, cause in KNOWN_CAUSES.get((ref, cand), []):
        if re.search(gate_re, gate) and re.search(key_re, "/".join(key)):
            return cause
    return "no known cause"


def moved_rows(baseline: Path, results: Path, *, cause=None) -> tuple[list[list[str]], int]:
    """The metrics whose value differs between a baseline and a gated run's results.

    Parameters
    ----------
    baseline, results : path
        The reference's baseline and the candidate's results (or baseline).
    cause : callable, optional
        ``cause(key) -> str`` for the last column (default: no column).

    Returns
    -------
    rows, compared : list of cells, int
        One row per moved metric (issue, dataset, check, metric, A, B, change, gate status,
        tolerance[, cause]); the number of metrics measured in both runs.
    """
    a = _metric_values(json.loads(baseline.read_text()))
    b = _metric_values(json.loads(results.read_text()))
    why = {k[:2]: e["message"] for k, e in b.items()  # a skip says why a pair measured nothing
           if e.get("value") is None and e.get("message")}
    rows, compared = [], 0
    for key in sorted(a.keys() | b.keys()):
        ea, eb = a.get(key) or {}, b.get(key) or {}
        va, vb = ea.get("value"), eb.get("value")
        if va is not None and vb is not None:
            compared += 1
        if va == vb:
            continue
        entry = eb or ea
        gate = eb.get("gate") or {}
        status = gate.get("status") or ("lost" if vb is None and key[:2] in why else "not gated")
        unit = entry.get("unit") or ""
        change = "-" if va is None or vb is None else (
            f"{vb - va:+.4g}" + (f" ({(vb - va) / abs(va):+.1%})" if va else ""))
        allowed = gate.get("allowed")
        b_cell = f"{_fmt(vb)} {unit}".strip()
        if vb is None:
            b_cell = f"- ({eb.get('message') or why.get(key[:2]) or 'not measured'})"
        row = [entry.get("issue", "?"), key[1], key[0], key[2], f"{_fmt(va)} {unit}".strip(),
               b_cell, change, str(status),
               "-" if allowed is None else f"±{allowed:.3g} {unit}".strip()]
        rows.append([*row, cause(key)] if cause else row)
    return rows, compared


def write_outcome(path: Path, gates: list[tuple[str, Path, Path]], found: dict,
                  stages_found: dict | None = None, notes: dict | None = None) -> str:
    """Write (and return) the markdown outcome: versions, stage availability, and the moved
    metrics of every gate with the release notes that explain each move.

    Parameters
    ----------
    path : path
        ``outcome.md``.
    gates : list of (str, path, path)
        Gate name, the reference's baseline, the candidate's results.
    found : dict
        ``{"reference": versions, "candidate": versions}`` (:func:`versions`).
    stages_found : dict, optional
        The same for :func:`stages`.
    notes : dict, optional
        Gate name → a note (a side that could not run).
    """
    ref, cand = found["reference"], found["candidate"]
    keys = [k for k in VERSION_PACKAGES if ref.get(k) != cand.get(k)]
    out = [f"jwst {ref['jwst']} → {cand['jwst']}; versions that differ: "
           + (", ".join(f"{k} {ref.get(k)} → {cand.get(k)}" for k in keys) or "none")
           + "; the same in both: "
           + (", ".join(f"{k} {ref[k]}" for k in VERSION_PACKAGES
                        if k not in keys and ref.get(k) is not None) or "none"), ""]
    for role, stage_map in (stages_found or {}).items():
        gaps = [f"{name} ({entry.get('reason')})" for name, entry in stage_map.items()
                if not entry.get("available")]
        out.append(f"Stages of ifuqa's chain unavailable on the {role}'s line (jwst "
                   f"{found[role]['jwst']}): " + ("; ".join(gaps) or "none") + ".")
    if stages_found:
        out.append("")
    header = ["issue", "dataset", "check", "metric", f"jwst {ref['jwst']}",
              f"jwst {cand['jwst']}", "change", "gate", "tolerance", "cause (jwst CHANGES)"]
    for name, baseline, results in gates:
        note = (notes or {}).get(name)
        if not (baseline.is_file() and results.is_file()):
            out += [f"**{name}**: not run" + (f": {note}" if note else ""), ""]
            continue
        rows, compared = moved_rows(
            baseline, results,
            cause=lambda key, gate=name: cause_of(ref["jwst"], cand["jwst"], gate, key))
        out.append(f"**{name}**: {compared} metrics measured in both runs, {len(rows)} moved."
                   + (f" {note}." if note else ""))
        if rows:
            out += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                    for row in rows]
        out.append("")
    text = "\n".join(out)
    path.write_text(text)
    return text


STAGES_CODE = """import json
from ifuqa.process.jwst_api import stage_availabilities
print(json.dumps({k: v.to_json() for k, v in stage_availabilities().items()}))
"""

UNAVAILABLE_CODE = """import json, sys
from pathlib import Path
from ifuqa.verdicts.record import Record
from ifuqa.verdicts.results import write_results
a = json.loads(sys.argv[1])
write_results(Path(a["path"]), [
    Record.unmeasured(issue, a["stage"], "skip", a["message"], check=check, dataset=dataset)
    for issue, check, dataset in a["pairs"]])
"""


def stages(py: Path) -> dict[str, dict]:
    """The jwst stages ifuqa's chain uses, available or not (with the reason), in one venv
    (:func:`ifuqa.process.jwst_api.stage_availabilities`)."""
    out = subprocess.run([str(py), "-c", STAGES_CODE], capture_output=True, text=True)
    if out.returncode != 0:  # the adapter itself cannot be imported: no stage is available
        reason = "ifuqa.process.jwst_api cannot be imported: " + (
            out.stderr.strip().splitlines() or ["?"])[-1]
        return {"*": {"stage": "*", "available": False, "reason": reason}}
    return json.loads(out.stdout)


def unavailable(found: dict, stage: str) -> str | None:
    """The reason ``stage`` is unavailable in a venv (``found``: its :func:`stages`), or None."""
    entry = found.get(stage) or found.get("*") or {}
    return None if entry.get("available", False) else (entry.get("reason") or "unknown reason")


def _pairs(baseline: Path) -> list[tuple[str, str, str]]:
    """(issue, check, dataset) of every check × dataset in a baseline."""
    values = _metric_values(json.loads(baseline.read_text()))
    return sorted({(e.get("issue", "?"), k[0], k[1]) for k, e in values.items()})


def trace_model_gate(gate: Gate, envs: dict[str, Path], labels: dict[str, str], scenario: str,
                     found_stages: dict[str, dict], versions_found: dict[str, dict], *,
                     keep: bool = False) -> tuple[list[tuple[str, Path, Path]], dict, int]:
    """Step 6: the trace-model variants of one scenario, gated like the catalogue.

    A line that cannot provide the trace model (:func:`unavailable`) is not processed: its side
    of each variant is a results file whose records are skips saying "unavailable on this line"
    with the reason (the candidate's then *lose* every baseline metric, which fails the gate);
    the stage is never replaced by processing without it.

    Returns
    -------
    gates, notes, worst : list, dict, int
        ``(name, baseline, results)`` per variant; gate name → note (an unavailable side); the
        worst exit status.
    """
    work = gate.workdir / "trace-model"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sim = work / f"sim-{scenario}"
    tool = {role: py.parent / "ifuqa" for role, py in envs.items()}
    missing = {role: unavailable(found_stages[role], "adaptive_trace_model") for role in envs}
    simulator = next((r for r in ("reference", "candidate") if not missing[r]), "reference")
    gate.run(f"simulate {scenario} ({simulator} venv)",
             [str(tool[simulator]), "simulate", scenario, "--out", str(sim)])
    gates, notes, worst = [], {}, 0
    for variant, extra in (("trace model, all dithers", ["--trace-model"]),
                           ("trace model, one dither", ["--trace-model", "--defect", "NS-IFU05"])):
        tag = "tm-1dither" if "one" in variant else "tm"
        name = (f"{scenario}, {variant} (ifuqa process {' '.join(extra)}; ifuqa check)")
        baseline = work / f"baseline-{tag}-{labels['reference']}.json"
        results = work / f"results-{tag}-{labels['candidate']}.json"
        products = {role: work / f"{tag}-{labels[role]}" for role in envs}
        for role in envs:
            if missing[role]:
                continue
            gate.run(f"process {scenario} ({variant}, {role})",
                     [str(tool[role]), "process", str(sim), "--out", str(products[role]),
                      *extra], check=False)
        rc = 0
        if missing["reference"]:
            notes[name] = (f"not gated: the trace model is unavailable on the reference line "
                           f"(jwst {versions_found['reference']['jwst']}): "
                           f"{missing['reference']}")
            rc = 2
        else:
            gate.run(f"check {variant} (reference, baseline)",
                     [str(tool["reference"]), "check", str(products["reference"]),
                      "--generate-baseline", str(baseline),
                      "--results", str(work / f"results-{tag}-{labels['reference']}.json"),
                      "--html", str(work / f"report-{tag}-{labels['reference']}.html")],
                     check=False)
        if missing["candidate"]:
            message = (f"unavailable on this line (jwst {versions_found['candidate']['jwst']}): "
                       f"{missing['candidate']}")
            pairs = _pairs(baseline) if baseline.is_file() else []
            gate.run(f"record {variant} unavailable (candidate)",
                     [str(envs["candidate"]), "-c", UNAVAILABLE_CODE, json.dumps(
                         {"path": str(results), "stage": "adaptive_trace_model",
                          "message": message, "pairs": pairs})])
            notes[name] = (f"the trace model is {message}; the candidate's results record "
                           f"{len(pairs)} check × dataset pairs as skipped with this reason")
        elif not missing["reference"]:
            rc = gate.run(f"check {variant} (candidate, gated)",
                          [str(tool["candidate"]), "check", str(products["candidate"]),
                           "--baseline", str(baseline), "--results", str(results),
                           "--html", str(work / f"report-{tag}-{labels['candidate']}.html")],
                          check=False)
        if baseline.is_file() and results.is_file():
            with (work / f"compare-{tag}.txt").open("w") as out:
                rc = max(rc, gate.run(f"ifuqa compare ({variant})",
                                      [str(tool["candidate"]), "compare", str(baseline),
                                       str(results), "--html",
                                       str(work / f"compare-{tag}.html")],
                                      check=False, stdout=out))
            print((work / f"compare-{tag}.txt").read_text(), flush=True)
        else:
            rc = max(rc, 2)
        if not keep:  # full-frame products, ~1 GB per processing
            for role in envs:
                shutil.rmtree(products[role], ignore_errors=True)
        worst = max(worst, rc)
        gates.append((name, baseline, results))
    if not keep:
        shutil.rmtree(sim, ignore_errors=True)
    return gates, notes, worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", default="2.0.1",
                        help="reference jwst: a version or a pip requirement (default 2.0.1)")
    parser.add_argument("--candidate", default="3.0.0",
                        help="candidate jwst: a version or a pip requirement (default 3.0.0)")
    parser.add_argument("--workdir", type=Path, default=REPO / "build" / "release-gate",
                        help="venvs, caches, baseline, results, reports "
                             "(default build/release-gate/)")
    parser.add_argument("--reference-venv", type=Path, default=None,
                        help="use this existing venv for the reference (ifuqa is installed into "
                             "it with --no-deps; its jwst stack is left as it is)")
    parser.add_argument("--candidate-venv", type=Path, default=None,
                        help="the same for the candidate")
    parser.add_argument("--reuse-venvs", action="store_true",
                        help="keep venvs made by an earlier run (default: make them afresh)")
    parser.add_argument("--python", default=None,
                        help="interpreter for the venvs (default: this one)")
    parser.add_argument("--scenario", action="append", default=[],
                        help="run only this scenario (repeatable; default: the whole catalogue)")
    parser.add_argument("-n", "--jobs", default="2", help="pytest-xdist workers (default 2)")
    parser.add_argument("--trace-model-scenario", default="bright_point_g395h",
                        help="scenario for the trace-model gate (step 6); 'none' skips it")
    parser.add_argument("--skip-adapter-tests", action="store_true")
    parser.add_argument("--keep-caches", action="store_true",
                        help="keep the two build caches (~7 GB each); by default each is "
                             "deleted once its run is over")
    args = parser.parse_args(argv)

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    gate = Gate(work)
    ref, cand = _label(args.reference), _label(args.candidate)
    if ref == cand:
        parser.error("reference and candidate are the same release")

    envs = {}
    for role, spec, given, label in (("reference", args.reference, args.reference_venv, ref),
                                     ("candidate", args.candidate, args.candidate_venv, cand)):
        env = given.resolve() if given else work / f"venv-{label}"
        envs[role] = make_env(gate, env, spec, reuse=args.reuse_venvs or given is not None,
                              python=args.python)
    found = {role: versions(py) for role, py in envs.items()}
    found_stages = {role: stages(py) for role, py in envs.items()}
    for role, vers in found.items():
        print(f"{role}: " + ", ".join(f"{k} {v}" for k, v in vers.items()), flush=True)
        for name, entry in found_stages[role].items():
            if not entry.get("available"):
                print(f"  {name}: unavailable on this line: {entry.get('reason')}", flush=True)
    (work / "versions.json").write_text(json.dumps(
        {"versions": found, "stages": found_stages}, indent=1, sort_keys=True) + "\n")

    if not args.skip_adapter_tests:
        for role, py in envs.items():
            gate.run(f"adapter tests ({role}, jwst {found[role]['jwst']})",
                     [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", *ADAPTER_TESTS])

    scenarios = [f"--ifuqa-scenario={s}" for s in args.scenario]
    baseline = work / f"baseline-{ref}.json"
    for old in (baseline, work / f"results-{ref}.json", work / f"results-{cand}.json",
                work / f"report-{ref}.html", work / f"report-{cand}.html", work / "compare.txt",
                work / "compare.html", work / "outcome.md"):
        old.unlink(missing_ok=True)  # never gate against an earlier run's baseline
    common = ["-m", "pytest", "--ifuqa", "-n", args.jobs, "-p", "no:cacheprovider",
              "--self-contained-html", *scenarios]
    ref_rc = gate.run(
        f"reference catalogue + baseline (jwst {found['reference']['jwst']})",
        [str(envs["reference"]), *common, f"--ifuqa-cache={work / f'cache-{ref}'}",
         f"--ifuqa-generate-baseline={baseline}", f"--ifuqa-results={work / f'results-{ref}.json'}",
         f"--html={work / f'report-{ref}.html'}"], check=False)
    if not args.keep_caches:  # the baseline is written: free the disk (~7 GB) before the next
        shutil.rmtree(work / f"cache-{ref}", ignore_errors=True)
    if not baseline.is_file():
        gate.summary()
        print(f"release gate: the reference run wrote no baseline (exit {ref_rc})")
        return 2
    cand_results = work / f"results-{cand}.json"
    cand_rc = gate.run(
        f"candidate catalogue, gated (jwst {found['candidate']['jwst']})",
        [str(envs["candidate"]), *common, f"--ifuqa-cache={work / f'cache-{cand}'}",
         f"--ifuqa-baseline={baseline}", f"--ifuqa-results={cand_results}",
         f"--html={work / f'report-{cand}.html'}"], check=False)
    if not args.keep_caches:
        shutil.rmtree(work / f"cache-{cand}", ignore_errors=True)
    compare_rc = 2
    if cand_results.is_file():
        ifuqa = envs["candidate"].parent / "ifuqa"
        with (work / "compare.txt").open("w") as out:
            compare_rc = gate.run("ifuqa compare", [str(ifuqa), "compare", str(baseline),
                                                    str(cand_results), "--html",
                                                    str(work / "compare.html")],
                                  check=False, stdout=out)
        print((work / "compare.txt").read_text(), flush=True)
    gates = [("catalogue (pytest --ifuqa)", baseline, cand_results)]
    trace_rc, notes = 0, {}
    if args.trace_model_scenario.lower() != "none":
        more, notes, trace_rc = trace_model_gate(
            gate, envs, {"reference": ref, "candidate": cand}, args.trace_model_scenario,
            found_stages, found, keep=args.keep_caches)
        gates += more
    outcome = write_outcome(work / "outcome.md", gates, found, found_stages, notes)
    gate.summary()
    print("\n" + outcome)
    print(f"reference checks: exit {ref_rc}; candidate gated run: exit {cand_rc}; "
          f"compare: exit {compare_rc}; trace-model gate: exit {trace_rc}\nfiles in {work}")
    return 0 if cand_rc == 0 and compare_rc == 0 and trace_rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
