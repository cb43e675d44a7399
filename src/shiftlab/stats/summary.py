"""The loaded study and the summary it fills: the `stats` config, every predictions file
keyed by (run, benchmark), and the rows of summary.csv, each carrying its provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shiftlab.errors import UserError
from shiftlab.stats.correction import METHODS
from shiftlab.stats.inputs import (
    SUMMARY_COLUMNS,
    Predictions,
    benchmark_kind,
    load_mlflow_ids,
    merge_provenance,
    provenance_of,
    read_metrics,
    read_predictions,
)

# the `run` of numbers computed across runs
ALL_RUNS = "*"
# Benchmarks without per-image correctness against one label (sequences; training data).
NO_PAIRED_KINDS = {"imagenet_p", "imagenet_train"}


@dataclass
class StatsConfig:
    """The `stats` section of the study config (plus the benchmark kinds)."""

    alpha: float = 0.05
    correction: str = "holm"
    bootstrap: int = 1000
    seed: int = 0
    baseline_run: str | None = None
    clean_benchmark: str = "val"
    benchmarks: dict[str, Any] = field(default_factory=dict)
    fit_runs: list[str] | None = None
    class_test_runs: list[str] | None = None
    c_per_severity: bool = False
    reliability_bins: int = 15

    @classmethod
    def from_json(cls, text: str) -> StatsConfig:
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise UserError(f"--stats-json is not valid JSON: {exc}") from None
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise UserError(f"--stats-json: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        cfg = cls(**data)
        if cfg.correction not in METHODS:
            raise UserError(
                f"stats.correction must be one of {', '.join(METHODS)}, not {cfg.correction!r}"
            )
        if not 0 < cfg.alpha < 1:
            raise UserError(f"stats.alpha must lie in (0, 1), not {cfg.alpha}")
        if cfg.bootstrap < 1:
            raise UserError("stats.bootstrap must be a positive number of resamples")
        return cfg


class Summary:
    """Collects summary rows; every row must carry its provenance."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, run: str, benchmark: str, variant: str, metric: str, value: float,
            provenance: dict[str, str], ci: tuple[float, float] = (np.nan, np.nan),
            n: float = np.nan) -> None:  # fmt: skip
        self.rows.append({"run": run, "benchmark": benchmark, "variant": variant, "metric": metric,
                          "value": value, "ci_low": ci[0], "ci_high": ci[1], "n": n, **provenance})  # fmt: skip

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=SUMMARY_COLUMNS)


@dataclass
class Study:
    """The loaded inputs of one aggregation."""

    cfg: StatsConfig
    preds: dict[tuple[str, str], Predictions]
    metrics: pd.DataFrame
    config_sha256: str

    @property
    def runs(self) -> list[str]:
        return sorted({run for run, _ in self.preds})

    @property
    def benchmarks(self) -> list[str]:
        return sorted({bench for _, bench in self.preds})

    def runs_with(self, benchmark: str) -> list[str]:
        return [run for run in self.runs if (run, benchmark) in self.preds]

    def kind(self, benchmark: str) -> str:
        for (_, bench), pred in self.preds.items():
            if bench == benchmark:
                return pred.kind
        return ""

    def provenance(self, keys: list[tuple[str, str]]) -> dict[str, str]:
        return merge_provenance([self.preds[key].provenance for key in keys])


def load_study(metrics_paths: list[str], prediction_paths: list[str], cfg: StatsConfig,
               config_sha256: str = "", mlflow_ids: str | None = None) -> Study:  # fmt: skip
    """Read the study's files: each predictions file once, with its kind and provenance."""
    ids = load_mlflow_ids(mlflow_ids)
    preds: dict[tuple[str, str], Predictions] = {}
    for path in prediction_paths:
        pred = read_predictions(path)
        key = (pred.run, pred.benchmark)
        if key in preds:
            raise UserError(
                f"two predictions files for run {key[0]!r} on {key[1]!r}: {preds[key].path}, {path}"
            )
        pred.kind = benchmark_kind(pred, cfg.benchmarks)
        pred.provenance = provenance_of(pred, config_sha256, ids)
        preds[key] = pred
    if cfg.baseline_run and preds and cfg.baseline_run not in {r for r, _ in preds}:
        raise UserError(f"stats.baseline_run {cfg.baseline_run!r} is not one of the study's runs")
    return Study(cfg, preds, read_metrics(metrics_paths), config_sha256)
