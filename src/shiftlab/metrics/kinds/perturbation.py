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


def difficulties(bench: dict[str, Any]) -> list[int]:
    """The study's ImageNet-P difficulties (one value or a list)."""
    value = bench.get("difficulty", 1)
    return sorted({int(d) for d in ([value] if isinstance(value, int) else value)})


def noise_difficulty(variant: str) -> int:
    """Difficulty of a noise sequence folder: `gaussian_noise` 1, `gaussian_noise_3` 3."""
    tail = variant.rpartition("_")[2]
    return int(tail) if variant != perturbation.base_perturbation(variant) else 1


def _at_difficulty(variants: list[str], difficulty: int) -> list[str]:
    """Sequences scored at a difficulty: its noise folder of each noise perturbation (the
    official `<name>_<d>`), and every other perturbation (walked with stride d)."""
    return [
        v for v in variants if not perturbation.is_noise(v) or noise_difficulty(v) == difficulty
    ]


@register_kind("imagenet_p")
def imagenet_p_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """FP and T5D per perturbation; unnormalised means; mFR / mT5D vs a baseline run, at each
    difficulty of the study. With several difficulties, rows of difficulty d are named
    `<perturbation>@d<d>` and `difficulty_<d>` (the means, mFR and mT5D)."""
    levels = difficulties(opts.bench)
    rows: list[Row] = []
    for difficulty in levels:
        suffix = f"@d{difficulty}" if len(levels) > 1 else ""
        mean = f"difficulty_{difficulty}" if len(levels) > 1 else ""
        for row in _difficulty_rows(preds, opts, difficulty):
            variant = row["variant"]
            rows.append(row | {"variant": f"{variant}{suffix}" if variant else mean})
    return rows


def _difficulty_rows(preds: Predictions, opts: Options, difficulty: int) -> list[Row]:
    """The rows of one difficulty (variant '' for its means, mFR and mT5D)."""

    def stride_for(variant: str) -> tuple[bool, int]:
        noise = perturbation.is_noise(variant)
        return noise, 1 if noise else difficulty

    run = _per_video(preds, stride_for)
    base = _per_video(opts.baseline, stride_for) if opts.baseline is not None else None
    variants = _at_difficulty(sorted(run), difficulty)
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
