"""Official vs regenerated ImageNet-C: does our corruption engine give the same errors?

For each run evaluated on two ImageNet-C benchmarks of the same images (the official files
and shiftlab's regenerated set; in a study without official files, the materialized set and
on-the-fly corruption), every corruption x severity cell gets the error difference
regenerated - official in percentage points, with a paired bootstrap interval over the
cell's images (each image's two copies resampled together). A cell is flagged when its
interval excludes 0: the two sets disagree beyond sampling noise there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shiftlab.stats import bootstrap
from shiftlab.variants import VariantMasks

COLUMNS = ["run", "reference", "other", "variant", "n", "error_reference", "error_other",
           "diff", "ci_low", "ci_high", "flagged"]  # fmt: skip
# Preference of a benchmark source as the reference of a comparison (lower first).
REFERENCE_RANK = {"download": 0, "local": 0, "mininet": 0, "derived": 1, "on_the_fly": 2}


def benchmark_source(pred: Any) -> str:
    """The `source` of the benchmark entry a predictions file was made from."""
    params = (pred.record or {}).get("params") or {}
    entry = params.get("benchmark") or {}
    return str(entry.get("source", "")) if isinstance(entry, dict) else ""


def parity_pairs(preds: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    """(reference, other) ImageNet-C benchmark ids: official vs each regenerated set, or,
    without official files, the materialized set vs on-the-fly."""
    sources: dict[str, str] = {}
    for (_, bench), pred in preds.items():
        if pred.kind == "imagenet_c":
            sources.setdefault(bench, benchmark_source(pred))
    ranked = sorted(sources, key=lambda b: (REFERENCE_RANK.get(sources[b], 3), b))
    if len(ranked) < 2:
        return []
    reference = ranked[0]
    return [(reference, other) for other in ranked[1:] if sources[other] != sources[reference]]


def _cells(pred: Any) -> pd.DataFrame:
    """Per labelled row: the image key (sample without the cell prefix), cell, correctness."""
    rows = pred.labelled
    key = rows["sample"].astype(str).reset_index(drop=True)
    masks = VariantMasks(rows["variant"])
    # vectorised per cell (a Python loop per row took 1 s per 10^6 rows), put back in order
    parts = [key.iloc[np.flatnonzero(masks.codes == code)].str.removeprefix(variant + "/")
             for code, variant in enumerate(masks.distinct)]  # fmt: skip
    if parts:
        key = pd.concat(parts).sort_index()
    return pd.DataFrame({"key": key, "variant": rows["variant"].to_numpy(),
                         "correct": rows["correct"].to_numpy(bool)})  # fmt: skip


def c_parity_table(
    preds: dict[tuple[str, str], Any], n_boot: int, seed: int, confidence: float = 0.95
) -> pd.DataFrame:
    """One row per run, benchmark pair and cell: errors, difference and its interval (pp)."""
    rows = []
    runs = sorted({run for run, _ in preds})
    for reference, other in parity_pairs(preds):
        for run in runs:
            if (run, reference) not in preds or (run, other) not in preds:
                continue
            joined = _cells(preds[(run, reference)]).merge(
                _cells(preds[(run, other)]), on=["key", "variant"], suffixes=("_ref", "_oth")
            )
            for variant, part in joined.groupby("variant", sort=True):
                ref, oth = part["correct_ref"].to_numpy(), part["correct_oth"].to_numpy()
                # acc(ref) - acc(other) = error(other) - error(ref)
                diff, low, high = bootstrap.paired_difference_ci(ref, oth, n_boot, seed, confidence)
                rows.append({"run": run, "reference": reference, "other": other,
                             "variant": variant, "n": len(part),
                             "error_reference": 100 * (1 - ref.mean()),
                             "error_other": 100 * (1 - oth.mean()), "diff": 100 * diff,
                             "ci_low": 100 * low, "ci_high": 100 * high,
                             "flagged": bool(low > 0 or high < 0)})  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def flagged_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per run and pair: cells compared and cells whose interval excludes 0."""
    if table.empty:
        return pd.DataFrame(columns=["run", "reference", "other", "cells", "flagged"])
    grouped = table.groupby(["run", "reference", "other"], sort=True)["flagged"]
    return grouped.agg(cells="size", flagged="sum").reset_index().astype({"flagged": np.int64})


def parity_into_summary(table: pd.DataFrame, study: Any, summary: Any) -> None:
    """Each cell's difference (benchmark = the regenerated set) and each run's flagged count."""
    for r in table.itertuples(index=False):
        prov = study.provenance([(r.run, r.reference), (r.run, r.other)])
        summary.add(r.run, r.other, r.variant, "c_parity_error_diff", r.diff, prov,
                    (r.ci_low, r.ci_high), r.n)  # fmt: skip
    for r in flagged_counts(table).itertuples(index=False):
        prov = study.provenance([(r.run, r.reference), (r.run, r.other)])
        summary.add(r.run, r.other, "", "c_parity_cells_flagged", int(r.flagged), prov,
                    n=int(r.cells))  # fmt: skip
