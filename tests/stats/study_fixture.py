"""A tiny synthetic study on disk in the contract layouts (predictions parquets with
embedded provenance, metrics CSVs), for the aggregate and report tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shiftlab.hashing import sha256_bytes, sha256_file

WNIDS = ["n01514859", "n01664065", "n02099601", "n02123045", "n02132136", "n02504013"]
RUNS = {"r0": 0.55, "r1": 0.65, "r2": 0.75, "r3": 0.85}  # clean accuracy per run
KINDS = {"val": "imagenet_val", "t": "transforms", "c": "imagenet_c", "v2": "imagenet_v2",
         "a": "imagenet_a", "p": "imagenet_p", "cue": "cue_conflict"}  # fmt: skip
# benchmark -> {variant: accuracy multiplier}
VARIANTS = {
    "val": {"": 1.0},
    "t": {"rotation": 0.6, "hflip": 1.0},
    "c": {"gaussian_noise/1": 0.8, "gaussian_noise/2": 0.6, "contrast/1": 0.9, "contrast/2": 0.7},
    "v2": {"": 0.85},
    "a": {"": 0.3},
    "p": {"gaussian_noise_2": 1.0, "rotate": 1.0},
    "cue": {"": 0.4},
}


def _predictions(
    bench: str, run: str, acc: float, rng: np.random.Generator, per_class: int
) -> pd.DataFrame:
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
        "params": {"benchmark": {"kind": KINDS[bench]}},
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


def _metrics(run: str, bench: str, frame: pd.DataFrame, sha: str) -> pd.DataFrame:
    labelled = frame[frame["target"] >= 0]
    correct = labelled["topk"].str[0] == labelled["target"]
    rows = []
    if bench != "p":
        rows.append(
            ("", "top1", 100 * correct.mean(), len(labelled))
        )  # percent, like shiftlab metrics
    if bench == "c":
        for variant, part in labelled.groupby("variant"):
            rows.append((variant, "error", 100 * (1 - correct[part.index].mean()), len(part)))
        for corruption in ("gaussian_noise", "contrast"):
            mask = labelled["variant"].str.startswith(corruption)
            rows.append((corruption, "ce", 100 * (1 - correct[mask].mean()) / 0.8, int(mask.sum())))
        rows.append(("", "mce", 0.9, len(labelled)))
    if bench == "p":
        for variant in VARIANTS["p"]:
            rows.append((variant, "fp", 0.1 + 0.05 * list(VARIANTS["p"]).index(variant), 24))
    if bench == "cue":
        rows.append(("", "shape_bias", 0.2 + 0.1 * list(RUNS).index(run), len(labelled)))
    if bench == "val":
        rows.append(("", "ece", 0.05, len(labelled)))
    return pd.DataFrame(
        [{"run": run, "benchmark": bench, "variant": v, "metric": m, "value": x, "ci_low": np.nan,
          "ci_high": np.nan, "n": n, "predictions_sha256": sha} for v, m, x, n in rows]
    )  # fmt: skip


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
            sha = write_predictions(path, frame, run, bench)
            preds.append(str(path))
            mpath = root / "metrics" / run / f"{bench}.csv"
            mpath.parent.mkdir(parents=True, exist_ok=True)
            _metrics(run, bench, frame, sha).to_csv(mpath, index=False)
            metrics.append(str(mpath))
    stats_json = json.dumps({"alpha": 0.05, "correction": "holm", "bootstrap": 200, "seed": 0,
                             "baseline_run": "r0", "clean_benchmark": "val"})  # fmt: skip
    return {"predictions": preds, "metrics": metrics, "stats_json": stats_json}
