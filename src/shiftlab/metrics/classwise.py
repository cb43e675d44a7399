"""Class-wise accuracy: the per-class numbers the statistics compare across runs.

Definition: accuracy restricted to the samples of one true class (the per-class recall of
the confusion matrix). Reported as `class_acc/<wnid>` with a Clopper-Pearson interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shiftlab.metrics.registry import register_metric


@register_metric(
    "class_acc/*",
    unit="%",
    interval="clopper-pearson",
    doc="top-1 accuracy on one true class (wnid)",
)
def class_accuracy(classes: Sequence[str], correct: Sequence[bool]) -> dict[str, tuple[int, int]]:
    """Map each class to (number correct, number of samples), classes sorted."""
    cls = np.asarray(classes)
    ok = np.asarray(correct, dtype=bool)
    if cls.shape != ok.shape:
        raise ValueError(f"{cls.shape} class labels but {ok.shape} correctness flags")
    names, inverse = np.unique(cls, return_inverse=True)
    hits = np.bincount(inverse, weights=ok, minlength=len(names))
    counts = np.bincount(inverse, minlength=len(names))
    return {str(c): (int(h), int(n)) for c, h, n in zip(names, hits, counts, strict=True)}
