"""Reading an aggregated results folder for the report (every table optional)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from shiftlab.errors import UserError
from shiftlab.stats.inputs import PROVENANCE_COLUMNS

STATS_TABLES = ("seed_ttests", "mcnemar", "wilcoxon", "pairwise", "effective_robustness",
                "effective_robustness_band", "bootstrap_ci", "reliability", "ood_histogram", "c_parity",
                "repeatability_groups", "run_agreement")  # fmt: skip
SEVERITY_VARIANT = re.compile(r"^(?P<corruption>[A-Za-z0-9_]+)/(?P<severity>\d+)$")


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        frame = pd.read_csv(path, dtype={"variant": str, "run": str, "condition": str, "unit": str,
                                         "run_a": str, "run_b": str})  # fmt: skip
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    for column in ("variant", "condition"):
        if column in frame:
            frame[column] = frame[column].fillna("")
    return frame


@dataclass
class Results:
    """summary.csv (row position = provenance anchor) and the stats tables."""

    root: Path
    summary: pd.DataFrame
    stats: dict[str, pd.DataFrame]
    # fine-tuned runs: per-epoch histories (a `run` column) and their recipe entries
    training: pd.DataFrame = field(default_factory=pd.DataFrame)
    recipes: dict[str, dict] = field(default_factory=dict)
    # dataset indexes (frame, metadata) of the transforms benchmarks and their sources
    indexes: list[tuple[pd.DataFrame, dict]] = field(default_factory=list)

    def metric(self, metric: str, variant: str | None = None) -> pd.DataFrame:
        rows = self.summary[self.summary["metric"] == metric]
        if variant is not None:
            rows = rows[rows["variant"] == variant]
        return rows

    def severity_rows(self) -> pd.DataFrame:
        """top1 rows of `<corruption>/<severity>` variants, with those two columns."""
        rows = self.metric("top1")
        parts = rows["variant"].str.extract(SEVERITY_VARIANT)
        rows = rows.assign(
            corruption=parts["corruption"], severity=pd.to_numeric(parts["severity"])
        )
        return rows.dropna(subset=["corruption"])


def load_results(root: str | Path) -> Results:
    root = Path(root)
    summary_path = root / "summary.csv"
    if not summary_path.is_file():
        raise UserError(f"{summary_path} does not exist: run `shiftlab aggregate` first")
    summary = _read(summary_path).reset_index(drop=True)
    summary["row"] = summary.index  # the anchor id: same N as `shiftlab audit --row N`
    for column in ("run", "benchmark", "variant", "metric", *PROVENANCE_COLUMNS):
        if column not in summary:
            raise UserError(f"{summary_path} lacks column {column!r}: re-run `shiftlab aggregate`")
        summary[column] = (
            summary[column].astype(object).where(summary[column].notna(), "").astype(str)
        )
    stats = {name: _read(root / "stats" / f"{name}.csv") for name in STATS_TABLES}
    return Results(root, summary, stats)
