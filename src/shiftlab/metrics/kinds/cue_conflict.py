"""Cue-conflict stimuli: shape bias overall and per shape category."""

from __future__ import annotations

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics.core import Options, Predictions, Row, proportion_row, register_kind
from shiftlab.metrics.shape_bias import (
    CATEGORIES16,
    cue_conflict_categories,
    shape_texture_counts,
)


@register_kind("cue_conflict")
def cue_conflict_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """Shape bias from the 16-class decisions (`probs_subset16` argmax)."""
    frame = preds.frame
    if "probs_subset16" not in frame.columns:
        raise UserError(f"{preds.path}: cue_conflict predictions need `probs_subset16`")
    probs = np.stack([np.asarray(p, dtype=np.float64) for p in frame["probs_subset16"]])
    if probs.shape[1] != len(CATEGORIES16):
        raise UserError(f"probs_subset16 has {probs.shape[1]} columns, expected 16")
    # NaN marks a category with no class in the label space: it can never be the decision
    # (a plain argmax would pick the NaN).
    decision = np.asarray(CATEGORIES16, dtype=object)[
        np.nan_to_num(probs, nan=-np.inf).argmax(axis=1)
    ]
    shape, texture = zip(*(cue_conflict_categories(s) for s in frame["sample"]), strict=True)
    k, n = shape_texture_counts(shape, texture, decision)
    rows = [proportion_row("", "shape_bias", k, n, opts.alpha)]
    # per shape category (variant = category): where the bias comes from
    shape, texture = np.asarray(shape, dtype=object), np.asarray(texture, dtype=object)
    for category in CATEGORIES16:
        sel = shape == category
        k, n = shape_texture_counts(shape[sel], texture[sel], decision[sel])
        if n:
            rows.append(proportion_row(category, "shape_bias", k, n, opts.alpha))
    return rows
