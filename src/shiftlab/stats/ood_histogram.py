"""Confidence histograms of ImageNet-O: the in-distribution and out-of-distribution images'
maximum softmax probabilities, the picture behind AUPR/AUROC (how far the two overlap)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ["run", "benchmark", "population", "bin", "bin_low", "bin_high", "count", "fraction"]


def ood_histogram_table(preds: dict[tuple[str, str], Any], bins: int = 20) -> pd.DataFrame:
    """Per run and ImageNet-O benchmark: MSP counts in equal-width bins, `in` (rows with a
    class) and `out` (target -1), with each population's fraction per bin."""
    rows = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    for (run, bench), pred in sorted(preds.items()):
        if pred.kind != "imagenet_o" or pred.rows["msp"].isna().all():
            continue
        msp, target = pred.rows["msp"].to_numpy(float), pred.rows["target"].to_numpy()
        for population, mask in (("in", target >= 0), ("out", target < 0)):
            if not mask.any():
                continue
            counts, _ = np.histogram(np.clip(msp[mask], 0.0, 1.0), bins=edges)
            for b, count in enumerate(counts):
                rows.append({"run": run, "benchmark": bench, "population": population, "bin": b,
                             "bin_low": edges[b], "bin_high": edges[b + 1], "count": int(count),
                             "fraction": count / mask.sum()})  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
