"""Top-1 / top-k accuracy from stored top-k predictions.

Definition: top-k accuracy = fraction of samples whose target is among the k highest-scoring
classes (Russakovsky et al. 2015, IJCV, ILSVRC evaluation). Values are fractions in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shiftlab.metrics.registry import register_metric


def as_topk_array(topk: Sequence[Sequence[int]] | np.ndarray, k: int = 1) -> np.ndarray:
    """(n, >=k) int array of top-k lists, best first; raises if a row has fewer than k entries."""
    if isinstance(topk, np.ndarray) and topk.ndim == 2:
        arr = topk
    else:
        rows = list(topk)
        if not rows:
            return np.zeros((0, k), dtype=np.int64)
        width = min(len(r) for r in rows)
        if width < k:
            raise ValueError(f"top-{k} needs at least {k} stored predictions per row, got {width}")
        arr = np.asarray([np.asarray(r)[:width] for r in rows])
    if arr.shape[1] < k:
        raise ValueError(
            f"top-{k} needs at least {k} stored predictions per row, got {arr.shape[1]}"
        )
    return arr.astype(np.int64, copy=False)


def topk_hits(
    topk: Sequence[Sequence[int]] | np.ndarray, target: Sequence[int], k: int = 1
) -> np.ndarray:
    """Boolean per sample: is `target` among the first k entries of its top-k list."""
    arr = as_topk_array(topk, k)
    tgt = np.asarray(target, dtype=np.int64)
    if len(arr) != len(tgt):
        raise ValueError(f"{len(arr)} predictions but {len(tgt)} targets")
    return (arr[:, :k] == tgt[:, None]).any(axis=1)


@register_metric("top1", unit="%", interval="clopper-pearson", doc="top-1 accuracy")
def accuracy(pred: Sequence[int], target: Sequence[int]) -> float:
    """Top-1 accuracy: mean of 1[pred == target]. NaN for no samples."""
    p, t = np.asarray(pred), np.asarray(target)
    if p.shape != t.shape:
        raise ValueError(f"{p.shape} predictions but {t.shape} targets")
    return float(np.mean(p == t)) if p.size else float("nan")


@register_metric("top5", unit="%", interval="clopper-pearson", doc="top-5 accuracy")
def topk_accuracy(
    topk: Sequence[Sequence[int]] | np.ndarray, target: Sequence[int], k: int = 5
) -> float:
    """Top-k accuracy: fraction of samples whose target is in the first k predictions."""
    hits = topk_hits(topk, target, k)
    return float(hits.mean()) if hits.size else float("nan")
