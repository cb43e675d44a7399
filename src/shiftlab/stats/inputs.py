"""Reading a study's predictions and metrics for aggregation, with each file's provenance.

Predictions are reduced on load to what the statistics need (per-row correctness at
top-1/top-5, the max softmax probability and the top-k classes), so a 50,000-image x 75-cell
ImageNet-C file stays a few numeric columns in memory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shiftlab.errors import UserError
from shiftlab.hashing import sha256_file

PROVENANCE_COLUMNS = [
    "checkpoint_sha256", "dataset_fingerprint", "predictions_sha256",
    "config_sha256", "code_version", "mlflow_run_id",
]  # fmt: skip
SUMMARY_COLUMNS = ["run", "benchmark", "variant", "metric", "value", "ci_low", "ci_high", "n"]
SUMMARY_COLUMNS += PROVENANCE_COLUMNS
METRICS_COLUMNS = SUMMARY_COLUMNS[:8] + ["predictions_sha256"]

# Keys a predictions provenance record may use for the evaluated dataset's identity, in order.
_DATASET_KEYS = ("dataset_fingerprint", "fingerprint", "dataset", "index")

# Benchmark ids used by the shipped configs -> kind, for when neither the stats config nor
# the provenance record names the kind.
_KIND_BY_ID = {
    "train": "imagenet_train", "val": "imagenet_val", "sketch": "imagenet_sketch",
    "a": "imagenet_a", "r": "imagenet_r", "o": "imagenet_o", "real": "imagenet_real",
    "cue": "cue_conflict", "c": "imagenet_c", "p": "imagenet_p", "t": "transforms",
}  # fmt: skip
_SEVERITY_VARIANT = re.compile(r"^[A-Za-z0-9_]+/\d+$")


@dataclass
class Predictions:
    """One predictions parquet, reduced: per-row correctness, confidence and top-k."""

    run: str
    benchmark: str
    path: Path
    sha256: str
    record: dict[str, Any]
    rows: pd.DataFrame  # sample, target, wnid, variant, frame, correct, correct5, msp
    topk: np.ndarray  # (n, k) int, -1 padded
    kind: str = ""
    provenance: dict[str, str] = field(default_factory=dict)

    @cached_property
    def labelled(self) -> pd.DataFrame:
        """Rows with a class in the label space and no sequence frame: accuracy applies."""
        rows = self.rows
        keep = (rows["target"] >= 0) & (rows["frame"] < 0)
        return rows if keep.all() else rows[keep]  # no copy of a file that is all labelled


INT32 = np.iinfo(np.int32)
# the predictions columns read_predictions uses (docs/contracts.md names the others)
READ_COLUMNS = ("sample", "target", "wnid", "variant", "frame", "topk", "msp", "group")


def _strings(table: Any, name: str, n: int, fill: bool) -> np.ndarray:
    """A string column as an object array holding one Python str per distinct value, not
    per row (pyarrow's to_numpy makes a ~60-byte str object for every row, 4.75 M of them
    per column of an ImageNet-C file, before pandas stores the column as arrow strings).
    `fill`: nulls become "" and values str, like `Series.fillna("").astype(str)`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if name not in table.column_names:
        return np.full(n, "", dtype=object)
    column = table.column(name).combine_chunks()
    if pa.types.is_null(column.type):
        return np.full(n, "" if fill else None, dtype=object)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    values = list(column.dictionary.to_pylist()) + [None]
    if fill:
        values = ["" if v is None else str(v) for v in values]
    codes = pc.fill_null(column.indices, len(values) - 1).to_numpy(zero_copy_only=False)
    return np.array(values, dtype=object)[codes]


def _list_to_matrix(column) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    n = len(lengths)
    k = int(lengths.max()) if n else 0
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    # class ids fit int32: half the memory of the largest array a study keeps per row
    small = flat.size == 0 or (flat.min() >= INT32.min and flat.max() <= INT32.max)
    out = np.full((n, k), -1, dtype=np.int32 if small else np.int64)
    if n and np.all(lengths == k):
        out[:] = flat.reshape(n, k)
    else:
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        for i, (s, ln) in enumerate(zip(starts, lengths, strict=True)):
            out[i, :ln] = flat[s : s + ln]
    return out


def read_predictions(
    path: str | Path, run: str | None = None, benchmark: str | None = None
) -> Predictions:
    """Load a predictions parquet; run and benchmark default to the contract path
    `predictions/<run>/<benchmark>.parquet`."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise UserError(f"predictions file {path} does not exist")
    # only the columns the statistics use: top-k probabilities and per-class scores are
    # the largest part of a file and are never needed here
    names = pq.read_schema(path).names
    table = pq.read_table(path, columns=[c for c in names if c in READ_COLUMNS])
    meta = table.schema.metadata or {}
    raw = meta.get(b"shiftlab")
    if raw is None:
        raise UserError(f"{path} has no 'shiftlab' provenance metadata; re-run predict")
    record = json.loads(raw)
    missing = {"target", "topk", "msp"} - set(table.column_names)
    if missing:
        raise UserError(f"{path} lacks columns {sorted(missing)} (see docs/contracts.md)")
    topk = _list_to_matrix(table.column("topk"))
    n = table.num_rows

    def col(name: str, default: Any) -> np.ndarray:
        if name in table.column_names:
            return table.column(name).to_numpy(zero_copy_only=False)
        return np.full(n, default)

    target = col("target", -1).astype(np.int64)
    top1 = topk[:, 0].astype(np.int64) if topk.shape[1] else np.full(n, -2)
    rows = pd.DataFrame(
        {
            "sample": _strings(table, "sample", n, fill=False),
            "target": target,
            "wnid": _strings(table, "wnid", n, fill=False),
            "variant": _strings(table, "variant", n, fill=True),
            "frame": col("frame", -1).astype(np.int64),
            "correct": (top1 == target) & (target >= 0),
            "correct5": (topk[:, :5] == target[:, None]).any(axis=1) & (target >= 0),
            "msp": col("msp", np.nan).astype(float),
            "top1": top1,
            "group": _strings(table, "group", n, fill=True),
        }
    )
    return Predictions(
        run=run or path.parent.name,
        benchmark=benchmark or path.stem,
        path=path,
        sha256=sha256_file(path),
        record=record,
        rows=rows,
        topk=topk,
    )


def benchmark_kind(pred: Predictions, configured: dict[str, Any]) -> str:
    """Kind of a benchmark: stats config `benchmarks` map, then the provenance record's
    `kind` or params, then the shipped id convention, then the data's shape."""
    entry = configured.get(pred.benchmark)
    if isinstance(entry, dict):
        entry = entry.get("kind")
    if entry:
        return str(entry)
    if pred.record.get("kind"):
        return str(pred.record["kind"])
    params = pred.record.get("params") or {}
    for key in ("benchmark", "benchmark_json"):
        value = params.get(key)
        if isinstance(value, dict) and value.get("kind"):
            return str(value["kind"])
    if params.get("kind"):
        return str(params["kind"])
    if pred.benchmark in _KIND_BY_ID:
        return _KIND_BY_ID[pred.benchmark]
    if pred.benchmark.startswith("v2"):
        return "imagenet_v2"
    rows = pred.rows
    if (rows["frame"] >= 0).any():
        return "imagenet_p"
    variants = rows["variant"].unique()
    if len(variants) and all(_SEVERITY_VARIANT.match(v) for v in variants):
        return "imagenet_c"
    return "folder"


def _code_version(code: dict[str, Any] | None) -> str:
    if not code:
        return ""
    commit = code.get("git_commit")
    if commit:
        return f"{commit}{'-dirty' if code.get('git_dirty') else ''}"
    return f"shiftlab-{code.get('package', '')}"


def load_mlflow_ids(path: str | Path | None) -> dict[tuple[str, str | None], str]:
    """MLflow run ids from `shiftlab track`'s tracking.json: `metrics[run][benchmark]` (the
    metrics job of that evaluation) and `train[run]` (fallback), keyed (run, benchmark) and
    (run, None)."""
    if not path:
        return {}
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--mlflow-ids {path} does not exist")
    data = json.loads(path.read_text()) or {}
    ids: dict[tuple[str, str | None], str] = {}
    for run, value in (data.get("train") or {}).items():
        if isinstance(value, str):
            ids[(run, None)] = value
    for run, per_bench in (data.get("metrics") or {}).items():
        for bench, value in (per_bench or {}).items():
            if isinstance(value, str):
                ids[(run, bench)] = value
    return ids


def provenance_of(
    pred: Predictions, config_sha256: str, mlflow_ids: dict[str, str]
) -> dict[str, str]:
    """The summary's provenance columns for numbers computed from this one file."""
    inputs = pred.record.get("inputs") or {}
    checkpoint = (inputs.get("checkpoint") or {}).get("sha256", "")
    dataset = ""
    for key in _DATASET_KEYS:
        entry = inputs.get(key)
        if isinstance(entry, dict) and entry.get("sha256"):
            dataset = entry["sha256"]
            break
    if not dataset:
        dataset = str((pred.record.get("params") or {}).get("fingerprint", ""))
    return {
        "checkpoint_sha256": checkpoint,
        "dataset_fingerprint": dataset,
        "predictions_sha256": pred.sha256,
        "config_sha256": config_sha256,
        "code_version": _code_version(pred.record.get("code")),
        "mlflow_run_id": mlflow_ids.get((pred.run, pred.benchmark))
        or mlflow_ids.get((pred.run, None))
        or pred.record.get("mlflow_run_id")
        or "",
    }


def merge_provenance(parts: list[dict[str, str]]) -> dict[str, str]:
    """Provenance of a number derived from several files: each column lists the distinct
    values of its sources joined by ';' (in source order)."""
    merged = {}
    for column in PROVENANCE_COLUMNS:
        values: list[str] = []
        for part in parts:
            for value in str(part.get(column, "") or "").split(";"):
                if value and value not in values:
                    values.append(value)
        merged[column] = ";".join(values)
    return merged


def read_metrics(paths: list[str | Path]) -> pd.DataFrame:
    """Concatenate metrics CSVs (docs/contracts.md columns), keeping their order."""
    frames = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"metrics file {path} does not exist")
        frame = pd.read_csv(path, dtype={"variant": str, "predictions_sha256": str, "run": str})
        missing = set(METRICS_COLUMNS) - set(frame.columns)
        if missing:
            raise UserError(f"{path} lacks columns {sorted(missing)} (see docs/contracts.md)")
        frames.append(frame[METRICS_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=METRICS_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["variant"] = out["variant"].fillna("")
    out["predictions_sha256"] = out["predictions_sha256"].fillna("")
    return out
