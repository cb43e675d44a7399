"""Aggregate a study: every metric and statistic into summary.csv (with provenance), the
per-class detail into per_class.parquet, and the detailed tables into stats/*.csv.

Statistics are computed from the predictions (per-image correctness), never from rounded
metric values, so each one can be re-derived from files named by their sha256.

Conventions (documented in the report's methods section):
- `run` is `*` for numbers computed across runs; their provenance columns list every
  source file's hashes joined by ';'.
- ImageNet-C seed analyses pool the five severities of a corruption (variant
  `<corruption>`); with `c_per_severity: true` each `<corruption>/<severity>` is tested too.
- Pairwise comparisons pair identical images (same sample, variant, frame); with a
  `baseline_run` every run is compared with it, otherwise every pair is compared.
- Correction families: one per benchmark and condition for class tests; one per benchmark
  and condition for per-run shift tests; one per benchmark for McNemar and for Wilcoxon.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shiftlab.atomic import atomic_path, write_csv
from shiftlab.errors import UserError
from shiftlab.stats.accuracy_tables import bootstrap_table, metrics_into_summary
from shiftlab.stats.c_parity import c_parity_table, parity_into_summary
from shiftlab.stats.ood_histogram import ood_histogram_table
from shiftlab.stats.paired_tables import paired_tables
from shiftlab.stats.reliability import reliability_table
from shiftlab.stats.repeatability_tables import repeatability_tables
from shiftlab.stats.robustness_tables import effective_robustness_tables
from shiftlab.stats.seed_tables import seed_tables
from shiftlab.stats.summary import Study, Summary

# Per-class detail (one row per class and condition: ~10^3x the other rows at ImageNet
# scale) lives in a columnar table beside summary.csv, with the same columns and provenance.
PER_CLASS_FILE = "per_class.parquet"
PER_CLASS_PREFIXES = ("class_acc/",)


def per_class_rows(frame: pd.DataFrame) -> pd.Series:
    """Mask of the rows that belong in per_class.parquet rather than summary.csv."""
    return frame["metric"].astype(str).str.startswith(PER_CLASS_PREFIXES)


def aggregate(study: Study, out_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Run every analysis and write summary.csv, per_class.parquet and stats/*.csv."""
    out_dir = Path(out_dir)
    tables = compute_tables(study)
    for name, table in tables.items():
        if name == PER_CLASS_FILE:
            with atomic_path(out_dir / name) as tmp:
                table.to_parquet(tmp, index=False)
        else:
            write_csv(table, out_dir / name)
    return tables


def compute_tables(study: Study) -> dict[str, pd.DataFrame]:
    """Every analysis in memory, keyed by output file (the audit re-derives with this)."""
    summary = Summary()
    boot = bootstrap_table(study, summary)
    metrics_into_summary(study, boot, summary)
    seed, shift_wilcoxon = seed_tables(study, summary)
    mcnemar, run_wilcoxon, pairwise = paired_tables(study, summary)
    er, band = effective_robustness_tables(study, summary)
    parity = c_parity_table(study.preds, study.cfg.bootstrap, study.cfg.seed)
    parity_into_summary(parity, study, summary)
    repeat_groups, run_agreement = repeatability_tables(study, summary)
    wilcoxon = pd.concat([t for t in (run_wilcoxon, shift_wilcoxon) if not t.empty] or [run_wilcoxon],
                         ignore_index=True)  # fmt: skip
    tables = {
        "stats/seed_ttests.csv": seed,
        "stats/mcnemar.csv": mcnemar,
        "stats/wilcoxon.csv": wilcoxon,
        "stats/pairwise.csv": pairwise,
        "stats/effective_robustness.csv": er,
        "stats/effective_robustness_band.csv": band,
        "stats/bootstrap_ci.csv": boot,
        "stats/reliability.csv": reliability_table(study),
        "stats/ood_histogram.csv": ood_histogram_table(study.preds),
        "stats/c_parity.csv": parity,
        "stats/repeatability_groups.csv": repeat_groups,
        "stats/run_agreement.csv": run_agreement,
    }
    frame = summary.frame()
    missing = frame["predictions_sha256"].fillna("").eq("")
    if missing.any():
        first = frame[missing].iloc[0]
        raise UserError(
            f"summary row without provenance: {first.run} {first.benchmark} {first.metric}"
        )
    detail = per_class_rows(frame)
    tables["summary.csv"] = frame[~detail].reset_index(drop=True)
    tables[PER_CLASS_FILE] = frame[detail].reset_index(drop=True)
    return tables
