"""`audit --sample K`: re-predict K stored samples from the checkpoint on the CPU and compare
them with the stored predictions bit for bit.

The K rows are drawn with a fixed seed, written as a small index (same metadata as the
benchmark's index) and run through the same `shiftlab.evaluate.predict.predict` the
`predict` rule uses, with the params its record holds. Top-k classes must match exactly;
probabilities must match exactly when the stored file was itself made on the CPU in fp32
(a GPU / bf16 file is only expected to agree on classes).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from shiftlab.audit.chain import StudyFiles, text
from shiftlab.audit.findings import ERROR, NOTE, AuditReport, Finding

KEYS = ["variant", "sample", "frame"]


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
    stored = pq.read_table(stored_path).to_pandas()
    frame, meta = read_index(files.index(benchmark))
    picked = frame.sample(n=min(k, len(frame)), random_state=0).sort_index()
    with tempfile.TemporaryDirectory(prefix="shiftlab-audit-") as tmp:
        sub_index = write_index(picked.reset_index(drop=True), meta, Path(tmp) / "index.parquet")
        fresh_path = predict(
            files.checkpoint(run), sub_index, params.get("benchmark") or {},
            Path(tmp) / "predictions.parquet", batch_size=int(params.get("batch_size", 64)),
            fp32=True, device="cpu", topk=int(params.get("topk", 5)),
            full=bool(params.get("full_1000", False)),
        )  # fmt: skip
        fresh = pq.read_table(fresh_path).to_pandas()
    keys = [c for c in KEYS if c in fresh and c in stored]
    merged = fresh.merge(
        stored, on=keys, how="left", suffixes=("", "_stored"), indicator="presence"
    )
    exact_probs = params.get("device") == "cpu" and bool(params.get("fp32"))
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
            level = ERROR if exact_probs else NOTE
            diff = float(
                np.max(np.abs(np.asarray(row.topk_prob) - np.asarray(row.topk_prob_stored)))
            )
            problems.append((level, f"{where}: top-k probabilities differ (max {diff:.3g})"))
    return problems


def _ints(values: Any) -> list[int]:
    return [int(v) for v in values]
