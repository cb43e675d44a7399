"""Predictions file(s) -> tidy metrics rows for one benchmark.

One function per benchmark kind (a module each in `shiftlab.metrics.kinds`), registered by
kind name. Each returns rows `{variant, metric, value, ci_low, ci_high, n}`; the `metrics`
command adds run, benchmark and the predictions hash. Proportions and ratios are reported in
percent (units and interval methods per metric: `shiftlab.metrics.registry`). Intervals are
95 % unless `alpha` says otherwise; bootstrap intervals resample images (videos for
ImageNet-P) with a fixed seed, and resample a baseline's or the clean set's predictions
jointly when they cover the same images.
"""

from __future__ import annotations

from shiftlab.metrics import kinds  # noqa: F401 - registers every kind and its metric names
from shiftlab.metrics.core import (
    SOURCE,
    Options,
    Predictions,
    Row,
    compute_metrics,
    read_predictions,
)

__all__ = ["SOURCE", "Options", "Predictions", "Row", "compute_metrics", "read_predictions"]
