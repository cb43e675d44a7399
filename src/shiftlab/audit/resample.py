"""`audit --sample K`: re-predict K stored samples from the checkpoint (CPU) and compare the
new top-k with the stored predictions bit for bit."""

from __future__ import annotations

import importlib
from typing import Any

from shiftlab.audit.chain import StudyFiles, text
from shiftlab.audit.findings import NOTE, AuditReport, Finding


def _predict_api() -> Any | None:
    try:
        return importlib.import_module("shiftlab.evaluate.predict")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("shiftlab.evaluate"):
            raise
        return None


def check_resampled(
    files: StudyFiles, report: AuditReport, rows: list[tuple[int, dict]], k: int
) -> None:
    api = _predict_api()
    pairs = sorted({(text(r.get("run")), text(r.get("benchmark"))) for _, r in rows} - {("", "")})
    for run, benchmark in pairs:
        path = files.predictions(run, benchmark)
        if api is None or not hasattr(api, "repredict_sample"):
            report.add(
                Finding(NOTE, files.rel(path), f"--sample {k}: re-prediction API not available yet")
            )
            continue
