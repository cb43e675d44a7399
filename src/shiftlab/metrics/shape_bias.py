"""Shape bias on the cue-conflict stimuli (Geirhos et al. 2019, "ImageNet-trained CNNs are
biased towards texture", ICLR; model-vs-human `plotting/analyses.py::ShapeBias`).

Rows whose shape and texture category agree are dropped; then
    shape_bias = #(decision == shape) / (#(decision == shape) + #(decision == texture)).
Decisions come from the 16-class aggregation (mean softmax probability over each category's
ImageNet classes, then argmax; docs/benchmarks.md §2.10), stored by `predict` as `probs_subset16`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics.registry import register_metric

# The 16 categories in sorted order: the column order of `probs_subset16`.
CATEGORIES16: tuple[str, ...] = (
    "airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat",
    "chair", "clock", "dog", "elephant", "keyboard", "knife", "oven", "truck",
)  # fmt: skip


def cue_conflict_categories(sample: str) -> tuple[str, str]:
    """(shape, texture) of a stimulus `<shape>/<shape>N-<texture>M.png`.

    Shape is the parent folder (model-vs-human's ImageNetInfoMapping); texture is the last
    '-' token of the file stem with digits stripped (ShapeBias.get_texture_category).
    """
    path = PurePosixPath(sample)
    if len(path.parts) < 2 or "-" not in path.stem:
        raise UserError(
            f"not a cue-conflict stimulus path <shape>/<shape>N-<texture>M.png: {sample!r}"
        )
    shape = path.parent.name
    texture = re.sub(r"\d", "", path.stem.rsplit("-", 1)[1])
    return shape, texture


def shape_texture_counts(
    shape_cat: Sequence[str], texture_cat: Sequence[str], predicted_cat: Sequence[str]
) -> tuple[int, int]:
    """(shape decisions, shape + texture decisions) after dropping shape == texture rows."""
    shape, texture, pred = (
        np.asarray(x, dtype=object) for x in (shape_cat, texture_cat, predicted_cat)
    )
    if not shape.shape == texture.shape == pred.shape:
        raise ValueError("shape, texture and predicted categories must have equal length")
    keep = shape != texture
    shape_hits = int(np.sum(pred[keep] == shape[keep]))
    texture_hits = int(np.sum(pred[keep] == texture[keep]))
    return shape_hits, shape_hits + texture_hits


@register_metric(
    "shape_bias",
    unit="%",
    interval="clopper-pearson",
    doc="shape decisions / (shape + texture decisions)",
)
def shape_bias(
    shape_cat: Sequence[str], texture_cat: Sequence[str], predicted_cat: Sequence[str]
) -> float:
    """Fraction of shape decisions among shape-or-texture decisions (NaN when there are none)."""
    k, n = shape_texture_counts(shape_cat, texture_cat, predicted_cat)
    return k / n if n else float("nan")
