"""A tiny synthetic study on disk in the contract layouts, for the aggregate and report tests:
random predictions parquets with embedded provenance, and metrics CSVs written by the real
`shiftlab metrics` verb from them (so a renamed metric breaks these tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shiftlab.cli import main
from shiftlab.hashing import sha256_bytes, sha256_file
from shiftlab.metrics.corruption import TEST_CORRUPTIONS
from shiftlab.metrics.shape_bias import CATEGORIES16

WNIDS = ["n01514859", "n01664065", "n02099601", "n02123045", "n02132136", "n02504013"]
RUNS = {"r0": 0.55, "r1": 0.65, "r2": 0.75, "r3": 0.85}  # clean accuracy per run
KINDS = {"val": "imagenet_val", "t": "transforms", "c": "imagenet_c", "v2": "imagenet_v2",
         "a": "imagenet_a", "p": "imagenet_p", "cue": "cue_conflict", "o": "imagenet_o",
         "c-fly": "imagenet_c"}  # fmt: skip
# the benchmark entry's source (the C pair: a materialized set and on-the-fly corruption)
SOURCES = {"c": "derived", "c-fly": "on_the_fly", "t": "derived", "p": "derived"}
# benchmark -> {variant: accuracy multiplier}
VARIANTS = {
    "val": {"": 1.0},
    # two transforms and a shift probe (steps 0..3)
    "t": {"rotation": 0.6, "hflip": 1.0, **{f"crop_shift_{k}": 1.0 - 0.05 * k for k in range(4)}},
    # the 15 test corruptions at two severities: enough for CE and mCE
    "c": {
        f"{c}/{sev}": (0.9 if sev == 1 else 0.6) - 0.01 * i
        for i, c in enumerate(TEST_CORRUPTIONS)
        for sev in (1, 2)
    },  # fmt: skip
    "v2": {"": 0.85},
    "a": {"": 0.3},
    "p": {"gaussian_noise_2": 1.0, "rotate": 1.0},
    "cue": {"": 0.4},
    "o": {"": 1.0},
}
VARIANTS["c-fly"] = VARIANTS["c"]


def _cue_conflict(acc: float, rng: np.random.Generator, per_class: int) -> pd.DataFrame:
    """Stimuli <shape>/<shape>N-<texture>M.png; `acc` is the chance of a shape decision."""
    rows = []
    for shape in CATEGORIES16[:4]:
        for i in range(per_class):
            texture = CATEGORIES16[(CATEGORIES16.index(shape) + 1 + i) % 16]
            decided = shape if rng.random() < acc else texture
            probs = rng.random(16) * 0.1
            probs[CATEGORIES16.index(decided)] = 0.9
            rows.append({"sample": f"{shape}/{shape}{i}-{texture}{i % 3}.png", "target": -1,
                         "wnid": "", "variant": "", "frame": -1, "topk": [0], "topk_prob": [0.9],
                         "msp": 0.9, "probs_subset16": probs.tolist()})  # fmt: skip
    return pd.DataFrame(rows)


def _imagenet_o(acc: float, rng: np.random.Generator, per_class: int) -> pd.DataFrame:
    """ImageNet-O images (target -1) and the in-distribution half (val images of O's
    classes) in one file; a better run is less confident on the O images."""
    rows = []
    for population in ("in", "out"):
        for j, wnid in enumerate(WNIDS[:3]):
            for i in range(per_class):
                mean = 0.75 if population == "in" else 0.9 - acc / 2
                msp = float(np.clip(rng.normal(mean, 0.12), 0.05, 1.0))
                rows.append({"sample": f"{population}/{wnid}/img{i}.JPEG", "wnid": wnid,
                             "target": j if population == "in" else -1, "variant": "",
                             "frame": -1, "topk": [j, (j + 1) % 3], "topk_prob": [msp, 1 - msp],
                             "msp": msp})  # fmt: skip
    return pd.DataFrame(rows)


def _predictions(
    bench: str, run: str, acc: float, rng: np.random.Generator, per_class: int
) -> pd.DataFrame:
    if bench == "cue":
        return _cue_conflict(acc, rng, per_class)
    if bench == "o":
        return _imagenet_o(acc, rng, per_class)
    classes = WNIDS[:3] if bench == "a" else WNIDS
    rows = []
    for variant, factor in VARIANTS[bench].items():
        frames = range(4) if bench == "p" else [-1]
        for wnid in classes:
            target = WNIDS.index(wnid)
            for i in range(per_class):
                for frame in frames:
                    correct = rng.random() < acc * factor
                    others = [c for c in range(len(WNIDS)) if c != target]
                    rng.shuffle(others)
                    topk = [target] + others[:4] if correct else others[:1] + [target] + others[1:4]
                    msp = float(np.clip(rng.normal(0.8 if correct else 0.5, 0.15), 0.05, 1.0))
                    probs = [msp] + [(1 - msp) / 5] * 4
                    rows.append({"sample": f"{variant}/{wnid}/img{i}.JPEG", "target": target, "wnid": wnid,
                                 "variant": variant, "frame": frame, "topk": topk, "topk_prob": probs,
                                 "msp": msp})  # fmt: skip
    return pd.DataFrame(rows).sort_values(["variant", "sample", "frame"], kind="stable")


def write_predictions(path: Path, frame: pd.DataFrame, run: str, bench: str) -> str:
    record = {
        "format": "shiftlab-provenance/1",
        "rule": "predict",
        "params": {"benchmark": {"kind": KINDS[bench], "source": SOURCES.get(bench, "mininet")}},
        "inputs": {
            "checkpoint": {
                "path": f"checkpoints/{run}/final.pt",
                "sha256": sha256_bytes(run.encode()),
            },
            "index": {"path": f"index/{bench}.parquet", "sha256": sha256_bytes(bench.encode())},
        },
        "code": {"package": "0.1.0", "git_commit": "abc123", "git_dirty": False},
        "mlflow_run_id": None,
    }
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"shiftlab": json.dumps(record).encode()}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return sha256_file(path)


def _metrics(root: Path, run: str, bench: str, baseline: str) -> Path:
    """The real `shiftlab metrics` verb on one predictions file (+ clean / baseline files)."""
    preds = root / "predictions"
    out = root / "metrics" / run / f"{bench}.csv"
    argv = ["metrics", "--run", run, "--benchmark", bench,
            "--benchmark-json", json.dumps({"kind": KINDS[bench]}),
            "--predictions", str(preds / run / f"{bench}.parquet"), "--out", str(out),
            "--bootstrap", "100"]  # fmt: skip
    if bench != "val" and (preds / run / "val.parquet").is_file():
        argv += ["--clean-predictions", str(preds / run / "val.parquet")]
    if KINDS[bench] == "imagenet_c":
        argv += ["--baseline-predictions", str(preds / baseline / f"{bench}.parquet")]
        if (preds / baseline / "val.parquet").is_file():
            argv += ["--baseline-clean-predictions", str(preds / baseline / "val.parquet")]
    assert main(argv) == 0, argv
    return out


def make_study(
    root: Path, benchmarks: tuple[str, ...] = tuple(KINDS), per_class: int = 8, seed: int = 0
) -> dict:
    """Write results/<study>/{predictions,metrics}; return the path lists and stats JSON."""
    rng = np.random.default_rng(seed)
    preds, metrics = [], []
    for run, acc in RUNS.items():
        for bench in benchmarks:
            frame = _predictions(bench, run, acc, rng, per_class)
            path = root / "predictions" / run / f"{bench}.parquet"
            write_predictions(path, frame, run, bench)
            preds.append(str(path))
    for run in RUNS:
        for bench in benchmarks:
            metrics.append(str(_metrics(root, run, bench, baseline=next(iter(RUNS)))))
    stats_json = json.dumps({"alpha": 0.05, "correction": "holm", "bootstrap": 200, "seed": 0,
                             "baseline_run": "r0", "clean_benchmark": "val"})  # fmt: skip
    return {"predictions": preds, "metrics": metrics, "stats_json": stats_json}
