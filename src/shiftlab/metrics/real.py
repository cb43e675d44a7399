"""ReaL ("Reassessed Labels") accuracy (Beyer et al. 2020, "Are we done with ImageNet?").

Definition (docs/benchmarks.md §3.5, the `google-research/reassessed-imagenet` README and timm's
`RealLabelsImagenet`): an image is correct@k when ANY of its k best predictions is in its
ReaL label set; images whose label set is empty are left out of numerator and denominator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shiftlab.metrics.accuracy import as_topk_array
from shiftlab.metrics.registry import register_metric


def real_hits(
    topk: Sequence[Sequence[int]] | np.ndarray, label_sets: Sequence[Sequence[int]], k: int = 1
) -> np.ndarray:
    """Correct@k for every image with a non-empty label set (empty sets are dropped)."""
    arr = as_topk_array(topk, k)
    sets = list(label_sets)
    if len(arr) != len(sets):
        raise ValueError(f"{len(arr)} predictions but {len(sets)} label sets")
    hits = [
        bool(set(row[:k].tolist()) & set(np.asarray(labels).tolist()))
        for row, labels in zip(arr, sets, strict=True)
        if len(labels) > 0
    ]
    return np.asarray(hits, dtype=bool)


@register_metric("real_top1", unit="%", interval="clopper-pearson", doc="ReaL top-1 accuracy")
@register_metric("real_top5", unit="%", interval="clopper-pearson", doc="ReaL top-5 accuracy")
def real_accuracy(
    topk: Sequence[Sequence[int]] | np.ndarray, label_sets: Sequence[Sequence[int]], k: int = 1
) -> float:
    """ReaL top-k accuracy (fraction); NaN when every label set is empty."""
    hits = real_hits(topk, label_sets, k)
    return float(hits.mean()) if hits.size else float("nan")
