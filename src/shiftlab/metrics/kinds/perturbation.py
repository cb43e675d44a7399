"""ImageNet-P: flip probability and top-5 distance per perturbation, their means, and mFR /
mT5D against a baseline run, with bootstrap intervals over videos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics import perturbation
from shiftlab.metrics.core import (
    Options,
    Predictions,
    Row,
    aligned_positions,
    metric_row,
    register_kind,
)
from shiftlab.metrics.intervals import bootstrap_ci


def _per_video(preds: Predictions, stride_for: Callable[[str], tuple[bool, int]]) -> dict[str, Any]:
    """perturbation -> (video keys, per-video FP, per-video T5D or None)."""
    frame = preds.frame
    if "frame" not in frame.columns:
        raise UserError(f"{preds.path}: ImageNet-P predictions need a `frame` column")
    topk = preds.topk
    out = {}
    for variant, group in frame.groupby("variant", sort=True):
        noise, stride = stride_for(variant)
        keys, fps, t5ds = [], [], []
        for sample, video in group.sort_values("frame").groupby("sample", sort=True):
            ranks = topk[video.index.to_numpy()]
            keys.append(sample)
            fps.append(perturbation.per_video_flips([ranks[:, 0]], noise, stride)[0])
            if ranks.shape[1] >= 5:
                t5ds.append(perturbation.per_video_top5_distance([ranks], noise, stride)[0])
        out[variant] = (
            np.asarray(keys, dtype=object),
            np.asarray(fps),
            np.asarray(t5ds) if t5ds else None,
        )
    return out


@register_kind("imagenet_p")
def imagenet_p_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """FP and T5D per perturbation; unnormalised means; mFR / mT5D vs a baseline run."""
    difficulty = int(opts.bench.get("difficulty", 1))

    def stride_for(variant: str) -> tuple[bool, int]:
        noise = perturbation.is_noise(variant)
        return noise, 1 if noise else difficulty

    run = _per_video(preds, stride_for)
    base = _per_video(opts.baseline, stride_for) if opts.baseline is not None else None
    variants = sorted(run)
    tested = [
        v for v in variants if perturbation.base_perturbation(v) in perturbation.TEST_PERTURBATIONS
    ]
    averaged = tested or variants
    sizes = [len(run[v][0]) for v in variants]
    # run video i -> position of the same video in the baseline (None: different videos)
    pairing = {v: aligned_positions(run[v][0], base[v][0]) for v in variants if base and v in base}

    def values(idx: list[np.ndarray] | None) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        fp, t5 = {}, {}
        for j, v in enumerate(variants):
            keys, f, t = run[v]
            sel = idx[j] if idx is not None else np.arange(len(keys))
            fp[v] = float(np.nanmean(f[sel]))
            if t is not None:
                t5[v] = float(np.nanmean(t[sel]))
            out[(v, "fp")] = 100 * fp[v]
            if t is not None:
                out[(v, "t5d")] = t5[v]
        out[("", "mean_fp")] = 100 * float(np.mean([fp[v] for v in averaged]))
        if all(v in t5 for v in averaged):
            out[("", "mean_t5d")] = float(np.mean([t5[v] for v in averaged]))
        if base is not None and all(v in base for v in averaged):
            bfp, bt5 = {}, {}
            for j, v in enumerate(variants):
                if v not in base:
                    continue
                bkeys, bf, bt = base[v]
                sel = np.arange(len(bkeys))
                if idx is not None and pairing.get(v) is not None:
                    sel = pairing[v][idx[j]]  # same videos: paired resampling
                bfp[v] = float(np.nanmean(bf[sel]))
                if bt is not None:
                    bt5[v] = float(np.nanmean(bt[sel]))
            out[("", "mfr")] = perturbation.mfr({v: fp[v] for v in averaged}, bfp)
            if all(v in t5 and v in bt5 for v in averaged):
                out[("", "mt5d")] = perturbation.mt5d({v: t5[v] for v in averaged}, bt5)
        return out

    point = values(None)
    keys = list(point)
    low, high = bootstrap_ci(
        lambda idx: np.array([values(idx).get(k, np.nan) for k in keys]),
        sizes,
        opts.reps,
        opts.seed,
        opts.alpha,
    )
    low, high = np.broadcast_to(low, len(keys)), np.broadcast_to(high, len(keys))
    rows = []
    for i, (variant, metric) in enumerate(keys):
        n = len(run[variant][0]) if variant else sum(len(run[v][0]) for v in averaged)
        rows.append(metric_row(variant, metric, point[(variant, metric)], low[i], high[i], n))
    return rows
