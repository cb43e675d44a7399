"""Accuracy kinds: top-1/top-5, calibration and class-wise accuracy per variant; ImageNet-A/R's
clean-subset comparator, ReaL labels, and the shift probes of a transforms benchmark."""

from __future__ import annotations

from typing import Any

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics import calibration
from shiftlab.metrics.classwise import class_accuracy
from shiftlab.metrics.core import (
    SOURCE,
    Options,
    Predictions,
    Row,
    metric_row,
    proportion_row,
    register_kind,
    subset_wnids,
)
from shiftlab.metrics.intervals import bootstrap_ci
from shiftlab.metrics.probes import probe_metrics
from shiftlab.metrics.real import real_hits
from shiftlab.metrics.registry import MetricInfo, add_metric
from shiftlab.metrics.repeatability import group_table, repeatability_rows

for _info in [
    MetricInfo(
        "top1_clean_subset",
        "%",
        "clopper-pearson",
        "clean val top-1 on the benchmark's subset classes, masked to the subset",
    ),
    MetricInfo("real_excluded", "images", "none", "images with an empty ReaL label set (n = all)"),
]:
    add_metric(_info)
ACCURACY_KINDS = (
    "imagenet_train", "imagenet_val", "imagenet_v2", "imagenet_sketch",
    "imagenet_a", "imagenet_r", "folder", "transforms", "tiny_imagenet",
)  # fmt: skip


def _calibration_rows(variant: str, conf: np.ndarray, ok: np.ndarray, opts: Options) -> list[Row]:
    def stat(idx: list[np.ndarray]) -> np.ndarray:
        c, o = conf[idx[0]], ok[idx[0]]
        return np.array(
            [calibration.expected_calibration_error(c, o), calibration.rms_calibration_error(c, o)]
        )

    point = stat([np.arange(conf.size)])
    low, high = bootstrap_ci(stat, [conf.size], opts.reps, opts.seed, opts.alpha)
    low, high = np.broadcast_to(low, 2), np.broadcast_to(high, 2)
    names = ("ece", "rms_calibration_error")
    return [
        metric_row(variant, m, 100 * point[i], 100 * low[i], 100 * high[i], conf.size)
        for i, m in enumerate(names)
    ]


def _accuracy_group_rows(variant: str, preds: Predictions, group: Any, opts: Options) -> list[Row]:
    topk = preds.rows(group)
    target = group["target"].to_numpy()
    hit1 = topk[:, 0] == target
    rows = [proportion_row(variant, "top1", int(hit1.sum()), hit1.size, opts.alpha)]
    if topk.shape[1] >= 5:
        hit5 = (topk[:, :5] == target[:, None]).any(axis=1)
        rows.append(proportion_row(variant, "top5", int(hit5.sum()), hit5.size, opts.alpha))
    if "msp" in group.columns:
        conf = np.clip(group["msp"].to_numpy(dtype=np.float64), 0.0, 1.0)
        rows += _calibration_rows(variant, conf, hit1.astype(np.float64), opts)
    classes = group["wnid"].astype(str).to_numpy()
    for wnid, (k, n) in class_accuracy(classes, hit1).items():
        rows.append(proportion_row(variant, f"class_acc/{wnid}", k, n, opts.alpha))
    return rows


def _masked_top1_hits(topk: np.ndarray, target: np.ndarray, allowed: set[int]) -> np.ndarray:
    """Top-1 over a class subset from full-space top-k lists (the official 200-way masking).

    Exact: the masked top-1 is the best-ranked subset class; if no subset class is in the
    stored top-k, the target (a subset class) is not either, so the prediction is wrong.
    """
    hits = np.zeros(len(target), dtype=bool)
    for i, (row, t) in enumerate(zip(topk, target, strict=True)):
        first = next((c for c in row.tolist() if c in allowed), None)
        hits[i] = first == t
    return hits


def _clean_subset_rows(preds: Predictions, opts: Options) -> list[Row]:
    """Clean val restricted to the benchmark's subset classes (A/R comparators, `top1_clean_subset`)."""
    wnids = subset_wnids(preds.meta)
    if opts.clean is None or not wnids:
        return []
    clean = opts.clean.frame
    keep = clean["wnid"].isin(set(wnids)).to_numpy()
    if not keep.any():
        return []
    # subset class indices in the label space: the targets the benchmark's rows use per wnid
    space = dict(zip(preds.frame["wnid"], preds.frame["target"], strict=True))
    space.update(dict(zip(clean["wnid"][keep], clean["target"][keep], strict=True)))
    allowed = {int(space[w]) for w in wnids if w in space and int(space[w]) >= 0}
    topk = opts.clean.rows(keep)
    target = clean["target"][keep].to_numpy()
    hits = _masked_top1_hits(topk, target, allowed)
    row = proportion_row("", "top1_clean_subset", int(hits.sum()), hits.size, opts.alpha)
    return [row | {SOURCE: "clean"}]


@register_kind(*ACCURACY_KINDS, "imagenet_real")
def accuracy_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """top-1/top-5, calibration and class-wise accuracy per variant and overall."""
    frame = preds.frame
    rows = _accuracy_group_rows("", preds, frame, opts)
    variants = sorted(frame["variant"].unique())
    if len(variants) > 1:
        for variant in variants:
            rows += _accuracy_group_rows(variant, preds, frame[frame["variant"] == variant], opts)
    kind = opts.bench.get("kind")
    if kind in ("imagenet_a", "imagenet_r"):
        rows += _clean_subset_rows(preds, opts)
    if kind == "imagenet_real":
        rows += real_metrics(preds, opts)
    if kind == "transforms":
        rows += probe_metrics(preds, opts)
    if kind == "folder" and "group" in frame.columns:
        rows += _repeatability(preds, opts)
    return rows


def _repeatability(preds: Predictions, opts: Options) -> list[Row]:
    """Within-group agreement over repeated captures (`shiftlab.metrics.repeatability`)."""
    frame = preds.frame
    msp = frame["msp"] if "msp" in frame.columns else np.full(len(frame), np.nan)
    table = group_table(frame["group"].fillna(""), frame["wnid"], preds.topk[:, 0], msp)
    return repeatability_rows(table, opts)


def real_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """ReaL top-1/top-5 (empty label sets excluded; `real_excluded` counts them)."""
    frame = preds.frame
    if "labels" not in frame.columns:
        raise UserError(f"{preds.path}: imagenet_real predictions need a `labels` column")
    topk = preds.topk
    labels = [list(x) if x is not None else [] for x in frame["labels"]]
    rows = []
    for k in (1, 5):
        if topk.shape[1] >= k:
            hits = real_hits(topk, labels, k)
            rows.append(proportion_row("", f"real_top{k}", int(hits.sum()), hits.size, opts.alpha))
    excluded = sum(1 for x in labels if len(x) == 0)
    rows.append(metric_row("", "real_excluded", excluded, np.nan, np.nan, len(labels)))
    return rows
