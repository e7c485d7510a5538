"""Benchmark of ``ifuqa explore``'s fast builds (issue: search the scene space for breakdowns).

Target: ≤ 15 s per explored example on 2 cores — build (simulate + process in the issue's
exploration mode, :mod:`ifuqa.builds.exploration`) and the issue's checks — and a replayed
example (its outcome read from the content-keyed cache) in well under a second.

For each known issue, in a fresh process: the first ``--examples`` scenes its search draws
(fixed seed) are built and checked one after the other, each timed; then the first scene is
evaluated again through the search's predicate (a replay) and timed; then the first scene is
built with the whole chain (full 1/f noise and NSClean: the physics the fast mode replaces) for
comparison.

Run: ``python -m benchmarks.bench_explore [--examples 3] [--issue NS-IFU04 ...]`` (writes
``reports/bench_explore.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

TARGET_S = 15.0
ISSUES = ("NS-IFU01", "NS-IFU02", "NS-IFU03", "NS-IFU04", "NS-IFU05", "NS-IFU06")


def _draw(issue: str, n: int) -> list:
    """The first ``n`` distinct scenes a search of ``issue`` draws (derandomized)."""
    from hypothesis import HealthCheck, Phase, given, settings

    from ifuqa.explore.search import issue_strategy

    scenes: dict[str, object] = {}

    @settings(max_examples=4 * n, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(issue_strategy(issue))
    def collect(scenario):
        if len(scenes) < n:
            scenes.setdefault(scenario.name, scenario)

    collect()
    return list(scenes.values())


def _child(issue: str, n: int) -> None:
    from benchmarks._harness import peak_rss_gib
    from ifuqa.builds.exploration import PROFILES, build_exploration, full_chain_scenario
    from ifuqa.evaluate.shipped_checks import checks_dir, run_checks
    from ifuqa.explore.search import _Search
    from ifuqa.verdicts.thresholds import Thresholds

    scenes = _draw(issue, n)
    thresholds = Thresholds.defaults()
    per_example, described = [], []
    with tempfile.TemporaryDirectory() as tmp:
        search = _Search(issue, cache_root=Path(tmp), checks_dir=checks_dir(), defects=(),
                         thresholds=thresholds, shrink_budget=10**6, log=lambda line: None)
        for scenario in scenes:  # (a large shrink budget: a failing scene stops nothing)
            start = time.perf_counter()
            failed = search(scenario)
            per_example.append(round(time.perf_counter() - start, 2))
            described.append(f"{scenario.name}: {len(scenario.dithers)} dither(s), "
                             f"{'+'.join(scenario.detectors or ('NRS1',))}, "
                             f"{scenario.wavelength_range_um[0]:.3f}-"
                             f"{scenario.wavelength_range_um[1]:.3f} um, "
                             f"{'fails' if failed else 'passes'}")
        start = time.perf_counter()
        search(scenes[0])  # the replay: same scene, outcome from the cache
        replay_s = time.perf_counter() - start
        full = full_chain_scenario(scenes[0], PROFILES[issue])
        start = time.perf_counter()
        dataset = build_exploration(full, issue, Path(tmp) / "full", full_chain=True)
        run_checks(issue, dataset, thresholds, checks_dir())
        full_s = time.perf_counter() - start
    print(json.dumps({"seconds": round(statistics.mean(per_example), 2),
                      "per_example_s": per_example, "max_s": max(per_example),
                      "replay_s": round(replay_s, 4), "full_chain_s": round(full_s, 2),
                      "scenes": described, "peak_rss_gib": round(peak_rss_gib(), 2)}))


def main() -> None:
    """Run each issue's case in a child process and report against the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", default=None)
    parser.add_argument("--examples", type=int, default=3)
    parser.add_argument("--issue", action="append", default=[])
    args = parser.parse_args()
    if args.case:
        issue, n = args.case.split(":")
        _child(issue, int(n))
        return
    from benchmarks._harness import run_and_report

    cases = [f"{issue}:{args.examples}" for issue in (args.issue or ISSUES)]

    def describe(rec: dict) -> list[str]:
        verdict = "within" if rec["seconds"] <= TARGET_S else "OVER"
        return [f"per example {rec['per_example_s']} s (mean {rec['seconds']:.1f} s, "
                f"{verdict} the {TARGET_S:.0f} s target); replay {rec['replay_s'] * 1000:.0f} "
                f"ms; the first scene with the whole chain {rec['full_chain_s']:.1f} s",
                *rec["scenes"]]

    run_and_report("benchmarks.bench_explore", cases, "bench_explore.json", describe)


if __name__ == "__main__":
    main()
