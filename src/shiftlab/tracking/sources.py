"""What the `track` rule logs: one entry per fine-tuning job and per metrics job, read from
the files those jobs wrote (so compute nodes never need to reach a tracking server)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftlab.hashing import sha256_file
from shiftlab.provenance import (
    canonical_json,
    code_version_string,
    read_checkpoint_meta,
    read_parquet_record,
    read_sidecar,
)
from shiftlab.tracking.store import flatten, mlflow_name_safe

TRAIN, METRICS = "train", "metrics"


@dataclass
class TrackedJob:
    """Everything one MLflow run holds, independent of MLflow."""

    kind: str  # TRAIN | METRICS
    run: str
    benchmark: str | None
    source_sha256: str  # digest of the files below; unchanged digest -> nothing to re-log
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, float, int]] = field(default_factory=list)  # (key, value, step)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.run}" + (f"/{self.benchmark}" if self.benchmark else "")


def metric_key(variant: Any, metric: str) -> str:
    """MLflow key of a tidy metrics row: `metric`, or `variant/metric` for a variant's row."""
    variant = (
        ""
        if variant is None or (isinstance(variant, float) and math.isnan(variant))
        else str(variant)
    )
    return mlflow_name_safe(f"{variant}/{metric}" if variant else str(metric))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _numeric(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


def train_job(results_dir: Path, run: str) -> TrackedJob | None:
    """The fine-tuning job of `run`: history.csv as step metrics, checkpoint meta as params."""
    import pandas as pd

    history = results_dir / "checkpoints" / run / "history.csv"
    checkpoint = results_dir / "checkpoints" / run / "final.pt"
    if not history.is_file() or not checkpoint.is_file():
        return None
    ckpt_sha = sha256_file(checkpoint)
    hist_sha = sha256_file(history)
    meta = read_checkpoint_meta(checkpoint)
    record = meta.get("provenance") or {}
    job = TrackedJob(TRAIN, run, None, _digest(hist_sha, ckpt_sha))
    job.params = flatten(record.get("params") or {})
    model = meta.get("model") or {}
    for name in ("name", "num_classes", "source", "pretrained"):
        if name in model:
            job.params[f"model.{name}"] = str(model[name])
    frame = pd.read_csv(history)
    steps = frame["epoch"] if "epoch" in frame else pd.Series(range(len(frame)))
    for column in frame.columns:
        if column in ("epoch", "step"):
            continue
        for step, value in zip(steps, frame[column], strict=True):
            number = _numeric(value)
            if number is not None:
                job.metrics.append((mlflow_name_safe(str(column)), number, int(step)))
    job.tags = {
        "shiftlab.rule": str(record.get("rule") or "train"),
        "shiftlab.wildcards": canonical_json(record.get("wildcards") or {"run": run}),
        "checkpoint_sha256": ckpt_sha,
        "history_sha256": hist_sha,
        "code_version": code_version_string(record["code"]) if record.get("code") else "",
    }
    return job


def metrics_job(results_dir: Path, csv_path: Path) -> TrackedJob:
    """The metrics job behind `metrics/<run>/<benchmark>.csv`: every row as a metric."""
    import pandas as pd

    run, benchmark = csv_path.parent.name, csv_path.stem
    csv_sha = sha256_file(csv_path)
    frame = pd.read_csv(csv_path, keep_default_na=False, na_values=[""], dtype={"variant": str})
    record = read_sidecar(csv_path) or {}
    job = TrackedJob(METRICS, run, benchmark, csv_sha)
    job.params = flatten(record.get("params") or {})
    for row in frame.itertuples(index=False):
        key = metric_key(getattr(row, "variant", ""), row.metric)
        for suffix, column in (("", "value"), (".ci_low", "ci_low"), (".ci_high", "ci_high")):
            number = _numeric(getattr(row, column, None))
            if number is not None and not (suffix and math.isnan(number)):
                job.metrics.append((key + suffix, number, 0))
    shas = sorted({str(s) for s in frame.get("predictions_sha256", []) if isinstance(s, str) and s})
    predictions = results_dir / "predictions" / run / f"{benchmark}.parquet"
    pred_record = read_parquet_record(predictions) if predictions.is_file() else None
    inputs = (pred_record or {}).get("inputs") or {}
    job.tags = {
        "shiftlab.rule": str(record.get("rule") or "metrics"),
        "shiftlab.wildcards": canonical_json(
            record.get("wildcards") or {"run": run, "benchmark": benchmark}
        ),
        "metrics_sha256": csv_sha,
        "predictions_sha256": ",".join(shas),
        "checkpoint_sha256": str((inputs.get("checkpoint") or {}).get("sha256") or ""),
        "dataset_fingerprint": dataset_fingerprint(results_dir, benchmark, pred_record),
        "code_version": code_version_string(record["code"]) if record.get("code") else "",
    }
    return job


def dataset_fingerprint(
    results_dir: Path, benchmark: str, pred_record: dict[str, Any] | None
) -> str:
    """The dataset fingerprint a predictions file was made from (its record, else the index)."""
    inputs = (pred_record or {}).get("inputs") or {}
    for name in ("dataset", "dataset_fingerprint", "fingerprint"):
        if (inputs.get(name) or {}).get("sha256"):
            return str(inputs[name]["sha256"])
    index = results_dir / "index" / f"{benchmark}.parquet"
    if index.is_file():
        meta = read_parquet_record(index) or {}
        return str(meta.get("fingerprint") or "")
    return ""


def study_jobs(results_dir: str | Path) -> list[TrackedJob]:
    """All trackable jobs of a study directory, in a stable order."""
    results_dir = Path(results_dir)
    jobs: list[TrackedJob] = []
    train_root = results_dir / "checkpoints"  # a run without history.csv was not fine-tuned
    for run_dir in sorted(train_root.iterdir()) if train_root.is_dir() else []:
        job = train_job(results_dir, run_dir.name)
        if job is not None:
            jobs.append(job)
    metrics_root = results_dir / "metrics"
    for csv_path in sorted(metrics_root.glob("*/*.csv")) if metrics_root.is_dir() else []:
        jobs.append(metrics_job(results_dir, csv_path))
    return jobs
