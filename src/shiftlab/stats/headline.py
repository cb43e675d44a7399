"""The study's headline numbers as a small JSON file: what `dvc metrics show` prints and
what `dvc metrics diff` compares between two commits."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from shiftlab.atomic import write_json

# (metric, variant) pairs worth a headline: whole-benchmark numbers, one per benchmark kind.
HEADLINE_METRICS = (
    "top1", "real_top1", "mce_alexnet", "mce_baseline", "relative_mce_baseline", "mean_error",
    "mean_error_19", "mfr", "mt5d", "mean_fp", "aupr", "auroc", "shape_bias", "ece", "eff_robustness",
)  # fmt: skip


def headline(summary: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{run: {"<benchmark>/<metric>": value}} for whole-benchmark headline metrics."""
    rows = summary[(summary["variant"].fillna("") == "") & summary["metric"].isin(HEADLINE_METRICS)]
    rows = rows[rows["run"] != "*"]
    out: dict[str, dict[str, float]] = {}
    for row in rows.itertuples(index=False):
        value = float(row.value)
        if math.isfinite(value):
            out.setdefault(str(row.run), {})[f"{row.benchmark}/{row.metric}"] = round(value, 6)
    return {run: dict(sorted(values.items())) for run, values in sorted(out.items())}


def write_headline(summary: pd.DataFrame, path: str | Path) -> Path:
    return write_json(path, headline(summary))
