"""A full-size study, rehearsed: `shiftlab metrics` per file, `aggregate`, `report` and
`audit` on predictions files of ImageNet size (1,000 classes, 22 runs), each figure printed
against its target.

The predictions are random but true to docs/contracts.md: every benchmark of
config/imagenet.yaml with its ImageNet row count (ImageNet-C 95 cells x 50,000 images,
materialised and on the fly; ImageNet-P 10 perturbations x 10,000 videos x 10 frames;
transforms 6 variants x 50,000), correct with a per-run accuracy. Real and cue-conflict are
left out (a relabelling of val, and 1,280 images). On a small machine, `--runs` samples a few
of the 22 runs and `--fraction` a share of each benchmark's images (at least one image per
class); every figure is then extrapolated linearly to 22 runs and full size, and printed as
"extrapolated". Peak memory is the child process's maximum resident set (os.wait4).

    .venv/bin/python benchmarks/scale.py --runs 2 --fraction 0.02 [--out DIR] [--browser]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shiftlab.atomic import atomic_path  # noqa: E402
from shiftlab.metrics.corruption import ALL_CORRUPTIONS  # noqa: E402
from shiftlab.metrics.perturbation import TEST_PERTURBATIONS  # noqa: E402
from shiftlab.provenance import make_record  # noqa: E402

RUNS, CLASSES = 22, 1000
C_CELLS = [f"{c}/{s}" for c in ALL_CORRUPTIONS for s in range(1, 6)]
TRANSFORMS = ["rotation", "hflip", *[f"crop_shift_{k}" for k in range(4)]]
# benchmark -> (entry, images (videos for P), classes, variants, frames per video)
BENCHMARKS = {
    "val": ({"kind": "imagenet_val"}, 50_000, CLASSES, [""], 0),
    "v2-mf": ({"kind": "imagenet_v2"}, 10_000, CLASSES, [""], 0),
    "v2-t07": ({"kind": "imagenet_v2"}, 10_000, CLASSES, [""], 0),
    "v2-top": ({"kind": "imagenet_v2"}, 10_000, CLASSES, [""], 0),
    "sketch": ({"kind": "imagenet_sketch"}, 50_889, CLASSES, [""], 0),
    "a": ({"kind": "imagenet_a"}, 7_500, 200, [""], 0),
    "r": ({"kind": "imagenet_r"}, 30_000, 200, [""], 0),
    "c": ({"kind": "imagenet_c", "source": "download"}, 50_000, CLASSES, C_CELLS, 0),
    "c-ours": ({"kind": "imagenet_c", "source": "on_the_fly"}, 50_000, CLASSES, C_CELLS, 0),
    "t": ({"kind": "transforms", "source": "derived"}, 50_000, CLASSES, TRANSFORMS, 0),
    "p": ({"kind": "imagenet_p"}, 10_000, CLASSES, list(TEST_PERTURBATIONS), 10),
}
TARGETS = {  # figure -> (target, unit)
    "metrics c-ours (largest file)": (120.0, "s"),
    "aggregate": (900.0, "s"),
    "aggregate peak memory": (16_000.0, "MB"),
    "audit": (1200.0, "s"),
    "report.html": (10.0, "MB"),
    "report interactive (chromium)": (3.0, "s"),
}


def rows_of(bench: str, fraction: float) -> int:
    _, images, classes, variants, frames = BENCHMARKS[bench]
    return max(classes, round(images * fraction)) * len(variants) * max(frames, 1)


def predictions(bench: str, run: int, fraction: float, rng: np.random.Generator) -> pa.Table:
    """One predictions table: per image a target, and top-5 classes that hold it at top-1
    with the run's accuracy (x a per-variant factor)."""
    entry, images, classes, variants, frames = BENCHMARKS[bench]
    n = max(classes, round(images * fraction))
    step = CLASSES // classes  # A/R: a 200-class subset of the 1,000
    target = (np.arange(n) % classes) * step
    per = max(frames, 1)
    total = n * len(variants) * per
    tgt = np.tile(np.repeat(target, per), len(variants))
    factor = np.repeat(np.linspace(1.0, 0.5, len(variants)), n * per)
    correct = rng.random(total) < (0.55 + 0.3 * run / (RUNS - 1)) * factor
    other = (tgt + rng.integers(1, CLASSES, total)) % CLASSES
    topk = (tgt[:, None] + np.arange(5)[None, :] * 7 + 1) % CLASSES
    topk[:, 0] = np.where(correct, tgt, other)
    topk[:, 1] = np.where(correct, other, tgt)
    msp = np.clip(rng.normal(np.where(correct, 0.8, 0.5), 0.15), 0.05, 1.0)
    probs = np.column_stack([msp, *[(1 - msp) / 5] * 4])
    sample = np.array([f"{'video' if frames else 'img'}{i:06d}.JPEG" for i in range(n)], object)
    wnids = np.array([f"n{c:08d}" for c in range(CLASSES)], object)

    def lists(values: np.ndarray) -> pa.Array:
        return pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), 5).cast(
            pa.list_(pa.from_numpy_dtype(values.dtype))
        )

    return pa.table(
        {
            "sample": np.tile(np.repeat(sample, per), len(variants)),
            "target": tgt,
            "wnid": wnids[tgt],
            "variant": np.repeat(np.array(variants, object), n * per),
            "frame": np.tile(np.arange(per), n * len(variants)) if frames else np.full(total, -1),
            "topk": lists(topk.astype(np.int64)),
            "topk_prob": lists(probs.astype(np.float32)),
            "msp": msp.astype(np.float32),
        }
    )


def write_study(root: Path, runs: list[int], fraction: float) -> list[Path]:
    paths = []
    for run in runs:
        rng = np.random.default_rng(run)
        for bench, (entry, *_rest) in BENCHMARKS.items():
            table = predictions(bench, run, fraction, rng)
            record = make_record(
                "predict",
                params={"benchmark": entry},
                input_hashes={"checkpoint": f"{run:064x}", "dataset": f"{hash(bench):064x}"},
                wildcards={"run": f"run{run:02d}", "benchmark": bench},
            )
            table = table.replace_schema_metadata({b"shiftlab": json.dumps(record).encode()})
            path = root / "predictions" / f"run{run:02d}" / f"{bench}.parquet"
            with atomic_path(path) as tmp:
                pq.write_table(table, tmp)
            paths.append(path)
    return paths


def timed(argv: list[str], log: Path) -> tuple[float, float]:
    """(wall s, peak resident MB) of one shiftlab command, run as a child process."""
    start = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shiftlab.cli", *argv], stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # audit exits 1 on findings
        raise SystemExit(f"{argv[0]} failed, see {log}")
    return wall, usage.ru_maxrss / 1024


def metrics_argv(root: Path, run: str, bench: str, baseline: str, reps: int) -> list[str]:
    preds = root / "predictions"
    argv = ["metrics", "--run", run, "--benchmark", bench,
            "--benchmark-json", json.dumps(BENCHMARKS[bench][0]),
            "--predictions", str(preds / run / f"{bench}.parquet"),
            "--out", str(root / "metrics" / run / f"{bench}.csv"), "--bootstrap", str(reps)]  # fmt: skip
    if bench != "val":
        argv += ["--clean-predictions", str(preds / run / "val.parquet")]
    if BENCHMARKS[bench][0]["kind"] == "imagenet_c":
        argv += ["--baseline-predictions", str(preds / baseline / f"{bench}.parquet"),
                 "--baseline-clean-predictions", str(preds / baseline / "val.parquet")]  # fmt: skip
    return argv


def browser_seconds(report: Path) -> float | None:
    """Seconds from navigation to a sorted largest table in headless Chromium (None: absent)."""
    sys.path.insert(0, str(ROOT / "tests" / "report"))
    from cdp import Browser, find_chromium

    binary = find_chromium()
    if binary is None:
        return None
    browser = Browser(binary)
    try:
        browser.call("Page.enable")
        start = time.perf_counter()
        browser.call("Page.navigate", url=report.as_uri())
        browser.wait_for("Page.loadEventFired", timeout=120)
        browser.evaluate(
            "(() => { const t = Array.from(document.querySelectorAll('main table'))"
            ".sort((a, b) => b.rows.length - a.rows.length)[0];"
            " t.tHead.rows[0].cells[1].click(); return t.rows.length; })()"
        )
        return time.perf_counter() - start
    finally:
        browser.close()


def run_commands(root: Path, runs: list[str], reps: int, log: Path) -> dict[str, tuple]:
    """Every verb of the study on the generated files: {name: (wall s, peak MB)}."""
    out: dict[str, tuple] = {}
    for run in runs:
        for bench in BENCHMARKS:
            wall, mem = timed(metrics_argv(root, run, bench, runs[0], reps), log)
            key = f"metrics {bench}"
            out[key] = max(out.get(key, (0.0, 0.0)), (wall, mem))
    metrics = [str(p) for p in sorted((root / "metrics").glob("*/*.csv"))]
    preds = [str(p) for p in sorted((root / "predictions").glob("*/*.parquet"))]
    stats = {"bootstrap": reps, "seed": 0, "baseline_run": runs[0], "clean_benchmark": "val"}
    out["aggregate"] = timed(["aggregate", "--study", "scale", "--metrics", *metrics,
                              "--predictions", *preds, "--stats-json", json.dumps(stats),
                              "--config-sha256", "scale", "--out-dir", str(root)], log)  # fmt: skip
    out["report"] = timed(["report", "--results-dir", str(root), "--out", str(root / "report.html")], log)  # fmt: skip
    out["audit"] = timed(["audit", str(root / "summary.csv"), "--json"], root / "audit.json")
    return out


def figure_bytes(report: Path) -> int:
    import re

    return sum(len(m) for m in re.findall(rb'base64,([^"]+)"', report.read_bytes()))


def measure(base: Path, runs: int, fraction: float, reps: int, browser: bool) -> dict:
    """One sampled study at `fraction`: {figure: measured value} plus sizes and findings."""
    root = base / f"fraction-{fraction:g}" / "results" / "scale"
    root.mkdir(parents=True, exist_ok=True)
    write_study(root, list(range(runs)), fraction)
    names = [f"run{r:02d}" for r in range(runs)]
    timings = run_commands(root, names, reps, root / "scale.log")
    report = root / "report.html"
    findings = json.loads((root / "audit.json").read_text())["findings"]
    out = {
        "rows": sum(rows_of(b, fraction) for b in BENCHMARKS),
        "c_rows": rows_of("c-ours", fraction),
        "metrics c-ours (largest file)": timings["metrics c-ours"][0],
        "aggregate": timings["aggregate"][0],
        "aggregate peak memory": timings["aggregate"][1],
        "audit": timings["audit"][0],
        "report.html": report.stat().st_size / 1e6,
        "figures MB": figure_bytes(report) / 1e6,
        "summary rows": sum(1 for _ in (root / "summary.csv").open()) - 1,
        "summary MB": (root / "summary.csv").stat().st_size / 1e6,
        "per_class MB": (root / "per_class.parquet").stat().st_size / 1e6,
        "underived": sum(1 for f in findings if "re-derived" in f["message"]),
        "timings": timings,
    }
    if browser:
        out["report interactive (chromium)"] = browser_seconds(report)
    return out


def extrapolate(points: list[dict], name: str, rows: str, full_rows: int, runs: int) -> tuple:
    """(value at full size for 22 runs, how): a line a + b * rows through the smallest and
    largest fraction, where rows counts every run's rows (a: start-up, fixed per command).
    When the two points give no positive slope (timing noise on a shared machine), or there
    is one fraction, the line through the origin and the largest fraction: an upper bound,
    as it scales fixed costs too."""
    scale = runs if name != "metrics c-ours (largest file)" else 1
    full = full_rows * (RUNS if scale > 1 else 1)
    (x0, y0), (x1, y1) = [(p[rows] * scale, p[name]) for p in (points[0], points[-1])]
    if x1 > x0 and y1 > y0:
        slope = (y1 - y0) / (x1 - x0)
        return y1 + slope * (full - x1), "fit"
    return y1 * full / x1, "bound"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs to generate (of {RUNS})")
    parser.add_argument("--fraction", type=float, nargs="+", default=[1.0],
                        help="share(s) of each benchmark; two give a fitted extrapolation")  # fmt: skip
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples (imagenet.yaml)")
    parser.add_argument("--out", help="folder to keep the studies in (default: a temporary one)")
    parser.add_argument("--browser", action="store_true", help="time the report in Chromium")
    args = parser.parse_args()
    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="shiftlab-scale-"))
    fractions = sorted(args.fraction)
    sizes = [sum(rows_of(b, f) for b in BENCHMARKS) for f in fractions]
    if len(set(sizes)) < len(sizes):
        raise SystemExit(f"fractions {fractions} give the same row counts after the one-image-"
                         "per-class floor: pick fractions >= 0.02 that differ")  # fmt: skip
    points = [measure(base, args.runs, f, args.bootstrap, args.browser) for f in fractions]
    full_rows = sum(rows_of(b, 1.0) for b in BENCHMARKS)
    last = points[-1]
    counts = ", ".join(f"{p['rows']:,}" for p in points)
    print(f"scale: {args.runs} of {RUNS} runs at fractions {fractions} of each benchmark "
          f"({counts} rows per run; full size "
          f"{full_rows:,}), {args.bootstrap} bootstrap resamples")  # fmt: skip
    if args.runs < RUNS or fractions[-1] < 1.0:
        print(
            "'extrapolated' to 22 runs at full size: (fit) a + b*rows through the two "
            "fractions; (bound) through the origin, an upper bound; (runs) tables x 22/runs"
        )
    print(f"{'figure':32} {'measured':>12} {'extrapolated':>14} {'target':>10}  within")
    for name, (target, unit) in TARGETS.items():
        if last.get(name) is None:
            continue
        rows = "c_rows" if name.startswith("metrics") else "rows"
        how = "runs"
        if name == "report.html":  # tables grow with runs, not images; figures stay
            full = (last[name] - last["figures MB"]) * RUNS / args.runs + last["figures MB"]
        elif name.startswith("report interactive"):
            full = last[name] * ((last["report.html"] - last["figures MB"]) * RUNS / args.runs
                                 + last["figures MB"]) / last["report.html"]  # fmt: skip
        else:
            full, how = extrapolate(points, name, rows, full_rows if rows == "rows" else
                                    rows_of("c-ours", 1.0), args.runs)  # fmt: skip
        print(f"{name:32} {last[name]:10.1f} {unit:>2}{full:12.1f} {unit:>2}{target:8.0f} {unit:>2}  "
              f"{'yes' if full <= target else 'NO'} ({how})")  # fmt: skip
    for fraction, point in zip(fractions, points, strict=True):
        print(f"fraction {fraction:g}:")
        for name, (wall, mem) in point["timings"].items():
            print(f"  {name:30} {wall:8.1f} s {mem:8.0f} MB peak")
        print(f"  summary.csv {point['summary rows']:,} rows, {point['summary MB']:.1f} MB "
              f"(x{RUNS / args.runs:g} runs: ~{point['summary rows'] * RUNS / args.runs:,.0f} rows);"
              f" per_class.parquet {point['per_class MB']:.1f} MB; audit: {point['underived']} "
              "re-derivation findings (want 0)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
