"""Reliability diagram data: accuracy per confidence bin."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shiftlab.stats.summary import NO_PAIRED_KINDS, Study


def reliability_table(study: Study) -> pd.DataFrame:
    """Equal-width confidence bins (max softmax probability) with accuracy per bin, the
    data behind reliability diagrams."""
    bins = study.cfg.reliability_bins
    rows = []
    for (run, bench), pred in sorted(study.preds.items()):
        labelled = pred.labelled
        if labelled.empty or pred.kind in NO_PAIRED_KINDS or labelled["msp"].isna().all():
            continue
        conf = labelled["msp"].to_numpy()
        correct = labelled["correct"].to_numpy()
        index = np.clip((conf * bins).astype(int), 0, bins - 1)
        for b in range(bins):
            mask = index == b
            if mask.any():
                rows.append({"run": run, "benchmark": bench, "bin": b, "bin_low": b / bins,
                             "bin_high": (b + 1) / bins, "count": int(mask.sum()),
                             "confidence": conf[mask].mean(), "accuracy": correct[mask].mean()})  # fmt: skip
    return pd.DataFrame(rows, columns=["run", "benchmark", "bin", "bin_low", "bin_high", "count",
                                       "confidence", "accuracy"])  # fmt: skip
