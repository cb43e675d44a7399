"""Where `make demo`'s time goes: wall time against the 5-minute target, and per rule the
number of jobs, their summed and mean duration, and what share of it is process start-up.

By default the script clones the current commit into a temporary folder (a fresh clone, as
a new user gets it; the existing `.venv` is linked, not reinstalled), runs `make demo` there
and reads the Snakemake log. `--log` reads the log of a run you already made instead.
Start-up is measured side by side in the same run: the time of a bare interpreter that
imports what each verb imports (torch + timm for the model verbs, pandas + scipy for the
table verbs) and exits.

    .venv/bin/python benchmarks/demo.py [--cores 2] [--log .snakemake/log/<run>.snakemake.log]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300.0
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
MODEL_VERBS = {"init_model", "train", "predict", "corrupt_shard", "corrupt_merge"}
IMPORTS = {
    "model verbs (torch, timm)": "import torch, timm, torchvision",
    "table verbs (pandas, scipy)": "import pandas, scipy.stats, pyarrow.parquet",
}


def job_durations(log: str) -> dict[str, list[float]]:
    """Rule -> durations (s) of its jobs, from the start/finish stamps of a Snakemake log."""
    started: dict[str, tuple[str, dt.datetime]] = {}
    out: dict[str, list[float]] = defaultdict(list)
    stamp, rule = None, None
    for line in log.splitlines():
        if m := STAMP.match(line.strip()):
            stamp = dt.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := re.match(r"^(?:local)?rule (\w+):", line):
            rule = m.group(1)
        elif (m := re.match(r"^\s+jobid: (\d+)", line)) and rule and stamp:
            started[m.group(1)] = (rule, stamp)
        elif (m := re.match(r"^Finished jobid: (\d+)", line)) and stamp:
            name, begin = started.pop(m.group(1), (None, None))
            if name and name != "all":
                out[name].append((stamp - begin).total_seconds())
    return out


def startup_seconds(python: str) -> dict[str, float]:
    """Best-of-3 wall time of an interpreter that only imports a verb's libraries."""
    times = {}
    for label, code in IMPORTS.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([python, "-c", code], check=True)
            best = min(best, time.perf_counter() - start)
        times[label] = best
    return times


def run_fresh_demo(cores: int) -> tuple[float, str]:
    """`make demo` in a fresh clone of HEAD; returns (wall seconds, Snakemake log text)."""
    work = Path(tempfile.mkdtemp(prefix="shiftlab-demo-"))
    clone = work / "shiftlab"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    # The linked venv is installed already: `-o` keeps make from re-running the editable
    # install (which would point the shared venv at the clone), PYTHONPATH runs the clone.
    env = {**os.environ, "PYTHONPATH": str(clone / "src")}
    start = time.perf_counter()
    subprocess.run(["make", "-o", ".venv/.shiftlab-installed", "demo", f"CORES={cores}"],
                   cwd=clone, env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - start
    logs = sorted((clone / ".snakemake" / "log").glob("*.snakemake.log"))
    print(f"fresh clone: {clone}")
    return wall, logs[-1].read_text()


def report(wall: float | None, durations: dict[str, list[float]], startup: dict[str, float]):
    model_start, table_start = startup.values()
    print(f"{'rule':<14} {'jobs':>4} {'sum s':>8} {'mean s':>7} {'start-up share':>15}")
    total_jobs = total_sum = total_start = 0.0
    for rule, times in sorted(durations.items(), key=lambda kv: -sum(kv[1])):
        start = model_start if rule in MODEL_VERBS else table_start
        share = min(1.0, start * len(times) / max(sum(times), 1e-9))
        total_jobs, total_sum = total_jobs + len(times), total_sum + sum(times)
        total_start += start * len(times)
        print(f"{rule:<14} {len(times):>4} {sum(times):>8.0f} {sum(times) / len(times):>7.1f} "
              f"{share:>14.0%}")  # fmt: skip
    print(f"{'all jobs':<14} {total_jobs:>4.0f} {total_sum:>8.0f}   start-up "
          f"{total_start:.0f} s of job time ({total_start / max(total_sum, 1e-9):.0%})")  # fmt: skip
    for label, seconds in startup.items():
        print(f"start-up of {label}: {seconds:.2f} s per job")
    if wall is not None:
        verdict = "meets" if wall <= TARGET_S else "misses"
        print(f"make demo wall time {wall:.0f} s; target {TARGET_S:.0f} s: {verdict} "
              f"({wall / TARGET_S:.2f}x the target)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--log", type=Path, help="read this Snakemake log instead of running")
    args = parser.parse_args()
    startup = startup_seconds(sys.executable)
    if args.log:
        wall, text = None, args.log.read_text()
    else:
        wall, text = run_fresh_demo(args.cores)
    durations = job_durations(text)
    if not durations:
        print("no finished jobs in the log", file=sys.stderr)
        return 1
    report(wall, durations, startup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
