"""ImageNet-O: AUPR, AUROC and FPR95 of -MSP with ImageNet-O as the positive class."""

from __future__ import annotations

import sys

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics import ood
from shiftlab.metrics.core import (
    Options,
    Predictions,
    Row,
    metric_row,
    register_kind,
    subset_wnids,
)
from shiftlab.metrics.intervals import bootstrap_ci
from shiftlab.metrics.registry import MetricInfo, add_metric

for _info in [
    MetricInfo(
        "aupr_fullspace_in", "%", "bootstrap", "AUPR; in-distribution MSP over the full space"
    ),
    MetricInfo(
        "auroc_fullspace_in", "%", "bootstrap", "AUROC; in-distribution MSP over the full space"
    ),
    MetricInfo(
        "fpr95_fullspace_in", "%", "bootstrap", "FPR95; in-distribution MSP over the full space"
    ),
]:
    add_metric(_info)


@register_kind("imagenet_o")
def imagenet_o_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """AUPR / AUROC / FPR95 with ImageNet-O positive, score = -MSP over O's classes."""
    frame = preds.frame
    if "msp" not in frame.columns:
        raise UserError(f"{preds.path}: imagenet_o predictions need an `msp` column")
    is_out = frame["target"].to_numpy() < 0
    out_scores = -frame["msp"].to_numpy(float)[is_out]
    suffix = ""
    if (~is_out).any():  # in-distribution half predicted in the same file, over O's subset
        in_scores = -frame["msp"].to_numpy(float)[~is_out]
    elif opts.clean is not None:
        wnids = subset_wnids(preds.meta)
        if not wnids:
            raise UserError(
                f"{preds.path}: metadata lacks `subset_wnids` (ImageNet-O's 200 classes)"
            )
        clean = opts.clean.frame
        keep = clean["wnid"].isin(set(wnids)).to_numpy()
        in_scores = -clean["msp"].to_numpy(float)[keep]
        if sorted(subset_wnids(opts.clean.meta) or []) != sorted(wnids):
            # MSP over the full label space, not softmax over O's 200 classes as the official code
            suffix = "_fullspace_in"
            print(
                "shiftlab metrics: clean predictions are not masked to ImageNet-O's classes; "
                f"reporting OOD metrics with suffix {suffix}",
                file=sys.stderr,
            )
    else:
        raise UserError("imagenet_o needs the in-distribution half: pass --clean-predictions (val)")
    if in_scores.size == 0 or out_scores.size == 0:
        raise UserError("imagenet_o: empty in- or out-of-distribution set")

    def stat(idx: list[np.ndarray]) -> np.ndarray:
        i, o = in_scores[idx[0]], out_scores[idx[1]]
        return np.array([ood.aupr(i, o), ood.auroc(i, o), ood.fpr_at_95_tpr(i, o)])

    point = stat([np.arange(in_scores.size), np.arange(out_scores.size)])
    low, high = bootstrap_ci(
        stat, [in_scores.size, out_scores.size], opts.reps, opts.seed, opts.alpha
    )
    low, high = np.broadcast_to(low, 3), np.broadcast_to(high, 3)
    n = in_scores.size + out_scores.size
    return [
        metric_row("", m + suffix, 100 * point[i], 100 * low[i], 100 * high[i], n)
        for i, m in enumerate(("aupr", "auroc", "fpr95"))
    ]
