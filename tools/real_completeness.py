#!/usr/bin/env python3
"""Completeness of the truth-free checks on the project's real JWST products.

For every real product in ``../shared/data/real/`` and every defect its products allow, the
defect is injected into copies at 0.25–3 × its check's threshold and at four positions each;
the share of copies the check fails is its completeness at that size. Writes
``docs/real_power.md`` (the real-data power matrix: each check on the clean product and on the
product with its defect at 2.5 × threshold, and the cross-talk), ``docs/completeness.md`` (the
README's completeness table) and ``docs/completeness.png`` (the curves)::

    python3 tools/real_completeness.py            # ~6 min on 2 cores

A product whose clean copy does not pass the check (it has the symptom, or the check does not
apply) gets its reason instead of a curve.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REAL = ROOT.parent / "shared" / "data" / "real"
PRODUCTS = {
    "16 Cyg B (MIRI MRS ch4-short s3d)": ("s3d", "miri_mrs_16cygb_ch4-short_s3d.fits.gz"),
    "NGC 7469 (MIRI MRS ch4-short s3d, extended)": (
        "s3d", "miri_mrs_ngc7469_ch4-short_s3d.fits.gz"),
    "SNAP-2 (NIRSpec IFU PRISM x1d)": (
        "x1d", "nirspec_ifu_snap2_jw01128-o002_t016_nirspec_prism-clear_x1d.fits"),
    "Telesto (NIRSpec IFU PRISM x1d)": ("x1d", "nirspec_ifu_telesto_d1_prism-clear_x1d.fits"),
    "MOS s06355 (NIRSpec G395M x1d, faint)": (
        "x1d", "jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the completeness curves and write the table and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    if not REAL.is_dir():
        print(f"real products not present at {REAL}", file=sys.stderr)
        return 2
    from ifuqa.products import Dataset
    from ifuqa.recovery import completeness, real_power_matrix
    from ifuqa.verdicts.thresholds import Thresholds

    thresholds = Thresholds.defaults()
    rows, curves, matrix = [], [], []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for label, (kind, name) in PRODUCTS.items():
            path = REAL / name
            dataset = Dataset(name=path.name.split(f"_{kind}")[0], **{kind: [path]})
            entries = real_power_matrix(dataset, thresholds, Path(tmp) / "power" / name)
            matrix.extend((label, entry) for entry in entries)
            for entry in entries:
                target = entry.target
                if entry.clean.verdict not in ("pass", "undecided"):
                    rows.append((label, target, None, entry.clean))
                    continue
                curve = completeness(dataset, target, thresholds,
                                     Path(tmp) / "curve" / name / target.injection)
                rows.append((label, target, curve, entry.clean))
                curves.append((label, curve))
                print(f"{label}: {target.injection}: {curve.fraction.tolist()}", flush=True)
    elapsed = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "completeness.md").write_text(_table(rows, elapsed))
    (args.out / "real_power.md").write_text(_matrix(matrix))
    _figure(curves, args.out / "completeness.png")
    print(f"wrote {args.out / 'completeness.md'} and completeness.png ({elapsed:.0f} s)")
    return 0


def _table(rows: list, elapsed: float) -> str:
    import numpy as np

    lines = ["| product | defect → check | threshold | caught at 1× / 1.5× / 2× / 3× | "
             "95 % from | ≤ 2.5 × threshold? |",
             "|---|---|---|---|---|---|"]
    for label, target, curve, clean in rows:
        check = f"{target.injection} → `{target.check}`"
        if curve is None:
            reason = clean.message.replace("|", "/")
            lines.append(f"| {label} | {check} | — | clean product: {clean.verdict} "
                         f"({reason[:140]}) | — | — |")
            continue
        at = dict(zip(np.round(curve.sizes / curve.threshold, 3), curve.fraction, strict=True))
        caught = " / ".join(f"{100 * at.get(f, np.nan):.0f} %" for f in (1.0, 1.5, 2.0, 3.0))
        size95 = curve.size95
        ok = "yes" if np.isfinite(size95) and size95 <= 2.5 * curve.threshold else "**no**"
        text95 = (f"{size95:.3g} {target.unit} ({size95 / curve.threshold:.2f}×)"
                  if np.isfinite(size95) else "not reached")
        lines.append(f"| {label} | {check} | {curve.threshold:.3g} {target.unit} | {caught} | "
                     f"{text95} | {ok} |")
    lines.append("")
    lines.append(f"{len(rows)} rows, {rows and rows[0][2].trials if rows and rows[0][2] else 4} "
                 f"positions per size; measured in {elapsed / 60:.1f} min on 2 cores by "
                 "`python3 tools/real_completeness.py`.")
    return "\n".join(lines) + "\n"


def _value(outcome) -> str:
    """The deciding metric's value ± uncertainty, or the verdict's reason."""
    if not outcome.values:
        return f"{outcome.verdict}: {outcome.message[:90]}".replace("|", "/")
    name, (value, sigma) = next(iter(outcome.values.items()))
    for metric, (v, s) in outcome.values.items():
        if metric in outcome.message:
            name, value, sigma = metric, v, s
            break
    unc = f" ± {sigma:.2g}" if sigma is not None else ""
    return f"{outcome.verdict} ({name} {value:.3g}{unc})"


def _matrix(matrix: list) -> str:
    lines = ["| product | injected defect (size) | its check: clean | its check: injected | "
             "power | other issues' checks failing |", "|---|---|---|---|---|---|"]
    for label, entry in matrix:
        t = entry.target
        lines.append(f"| {label} | {t.injection} ({entry.size:.3g} {t.unit}) | "
                     f"{_value(entry.clean)} | {_value(entry.injected)} | {entry.power} | "
                     f"{', '.join(entry.cross_failures) or 'none'} |")
    return "\n".join(lines) + "\n"


def _figure(curves: list, path: Path) -> None:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, curve in curves:
        ax.plot(curve.sizes / curve.threshold, 100 * np.asarray(curve.fraction), "o-",
                label=f"{curve.target.injection} — {label.split(' (')[0]}")
    ax.axvline(1.0, color="k", lw=0.6, ls="--")
    ax.axvline(2.5, color="C3", lw=0.6, ls=":")
    ax.axhline(95.0, color="0.5", lw=0.6)
    ax.set_xlabel("injected size / the check's threshold")
    ax.set_ylabel("injections caught (%)")
    ax.set_ylim(-3, 103)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})


if __name__ == "__main__":
    raise SystemExit(main())
