"""`audit --sample K`: re-predict K stored samples from the checkpoint on the CPU and compare
them with the stored predictions bit for bit.

The K rows are drawn with a fixed seed; the batches that held them (the `predict` rule
batches the index in order, `batch_size` rows at a time) are written as a small index (same
metadata as the benchmark's index) and run through the same `shiftlab.evaluate.predict.predict`
the `predict` rule uses, with the params its record holds. Re-predicting whole batches keeps
the arithmetic identical: a CPU kernel may round differently for another batch size. The class
mask of subset benchmarks (A/R) is pinned to the stored file's `subset_wnids`, since `predict`
derives it from the index it is given. Top-k classes must match exactly; probabilities must
match exactly when the stored file was itself made on the CPU in fp32 with a recorded thread
count (a CPU kernel's reduction order depends on it). Without one, probabilities that differ
by float32 rounding only (<= PROB_ROUNDING) are a note; a GPU / bf16 file is only expected to
agree on classes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shiftlab.audit.files import StudyFiles, input_of, text
from shiftlab.audit.findings import ERROR, NOTE, AuditReport, Finding

KEYS = ["variant", "sample", "frame"]
PROB_ROUNDING = 1e-6  # float32 rounding of a softmax computed in another reduction order


def check_resampled(
    files: StudyFiles, report: AuditReport, rows: list[tuple[int, dict]], k: int
) -> None:
    pairs = sorted({(text(r.get("run")), text(r.get("benchmark"))) for _, r in rows})
    for run, benchmark in pairs:
        if not run or not benchmark or run == "*":
            continue
        path = files.predictions(run, benchmark)
        try:
            problems = resample(files, run, benchmark, k)
        except Exception as exc:  # noqa: BLE001 - report, keep auditing the other files
            report.add(
                Finding(ERROR, files.rel(path), f"--sample {k}: re-prediction failed: {exc}")
            )
            continue
        for level, message in problems:
            report.add(Finding(level, files.rel(path), f"--sample {k}: {message}"))


def resample(files: StudyFiles, run: str, benchmark: str, k: int) -> list[tuple[str, str]]:
    """Findings (level, message) from re-predicting `k` rows of one predictions file."""
    import numpy as np
    import pyarrow.parquet as pq

    from shiftlab.data import read_index
    from shiftlab.data.index import write_index
    from shiftlab.evaluate.predict import predict

    stored_path = files.predictions(run, benchmark)
    record, error = files.record(stored_path)
    if error or not record:
        return [(ERROR, f"no readable provenance record: {error or 'absent'}")]
    params = record.get("params") or {}
    if (
        params.get("benchmark", {}).get("source") == "on_the_fly"
        or record.get("kind") == "imagenet_o"
    ):
        return [(NOTE, "re-prediction of on-the-fly / two-index benchmarks is not supported")]
    # the checkpoint and index the predictions were made from, as their record names them
    checkpoint = files.recorded_path(input_of(record, "checkpoint")) or files.checkpoint(run)
    index = files.recorded_path(input_of(record, "index")) or files.index(benchmark)
    stored = pq.read_table(stored_path).to_pandas()
    frame, meta = read_index(index)
    frame = frame.reset_index(drop=True)
    batch_size = int(params.get("batch_size", 64))
    # the index rows one batch held: images, or videos (`predict` batches batch_size/32 videos)
    per_batch = max(1, batch_size // 32) if record.get("kind") == "imagenet_p" else batch_size
    drawn = frame.sample(n=min(k, len(frame)), random_state=0).index
    blocks = sorted({int(i) // per_batch for i in drawn})
    picked = frame.iloc[
        [i for b in blocks for i in range(b * per_batch, min((b + 1) * per_batch, len(frame)))]
    ]
    with tempfile.TemporaryDirectory(prefix="shiftlab-audit-") as tmp, _pinned_mask(record):
        sub_index = write_index(picked.reset_index(drop=True), meta, Path(tmp) / "index.parquet")
        fresh_path = predict(
            checkpoint, sub_index, params.get("benchmark") or {},
            Path(tmp) / "predictions.parquet", batch_size=batch_size,
            fp32=True, device="cpu", topk=int(params.get("topk", 5)),
            threads=int(params.get("threads") or 1),
            full=bool(params.get("full_1000", False)),
        )  # fmt: skip
        fresh = pq.read_table(fresh_path).to_pandas()
    wanted = set(zip(frame.loc[drawn, "variant"], frame.loc[drawn, "sample"], strict=True))
    fresh = fresh[[key in wanted for key in zip(fresh["variant"], fresh["sample"], strict=True)]]
    keys = [c for c in KEYS if c in fresh and c in stored]
    merged = fresh.merge(
        stored, on=keys, how="left", suffixes=("", "_stored"), indicator="presence"
    )
    cpu_fp32 = params.get("device") == "cpu" and bool(params.get("fp32"))
    exact_probs = cpu_fp32 and params.get("threads") is not None
    problems: list[tuple[str, str]] = []
    for row in merged.itertuples(index=False):
        where = "/".join(
            str(getattr(row, c)) for c in keys if text(getattr(row, c)) not in ("", "-1")
        )
        if row.presence != "both":
            problems.append((ERROR, f"{where}: missing from the stored predictions"))
            continue
        if not np.array_equal(np.asarray(row.topk), np.asarray(row.topk_stored)):
            problems.append(
                (ERROR, f"{where}: top-k {_ints(row.topk)} != stored {_ints(row.topk_stored)}")
            )
        elif not np.array_equal(np.asarray(row.topk_prob), np.asarray(row.topk_prob_stored)):
            diff = float(
                np.max(np.abs(np.asarray(row.topk_prob) - np.asarray(row.topk_prob_stored)))
            )
            level = NOTE
            if exact_probs or (cpu_fp32 and diff > PROB_ROUNDING):
                level = ERROR
            problems.append((level, f"{where}: top-k probabilities differ (max {diff:.3g})"))
    return problems


@contextmanager
def _pinned_mask(record: dict[str, Any]) -> Iterator[None]:
    """Score subset benchmarks over the stored file's class mask, not the sub-index's."""
    import importlib

    # the module, not the `predict` function the package re-exports under the same name
    module = importlib.import_module("shiftlab.evaluate.predict")

    subset = list(record.get("subset_wnids") or [])
    original = module.protocol_for
    if not subset:
        yield
        return

    def pinned(kind: str, label_wnids: list[str], index_wnids: list[str], full: bool = False):
        return original(kind, label_wnids, subset, full)

    module.protocol_for = pinned
    try:
        yield
    finally:
        module.protocol_for = original


def _ints(values: Any) -> list[int]:
    return [int(v) for v in values]
