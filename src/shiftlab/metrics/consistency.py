"""Shift consistency: how much a prediction changes when the image is shifted by a few pixels.

Definitions (in the spirit of Azulay & Weiss 2019, "Why do deep convolutional networks
generalize so poorly to small image transformations?", JMLR, and Zhang 2019, "Making
Convolutional Networks Shift-Invariant Again", ICML, "consistency"):
- shift_flip_prob = P(top-1 of the shifted image != top-1 of the unshifted image);
- shift_prob_change = mean |MSP(shifted) - MSP(unshifted)|, the mean absolute change of the
  top-1 probability.
- shift_flip_prob_consecutive = P(top-1 differs between consecutive shifts k-1 and k);
- shift_msp = mean top-1 probability at one shift (the probability-vs-shift curve).
Pairs are matched by image; the functions return fractions in [0, 1], the metrics CSV
percent (`shiftlab.metrics.probes` builds the rows of each probe).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shiftlab.metrics.registry import register_metric


@register_metric(
    "shift_flip_prob",
    unit="%",
    interval="clopper-pearson",
    doc="P(top-1 changes) shifted vs unshifted",
)
def shift_flip_probability(reference_top1: Sequence[int], shifted_top1: Sequence[int]) -> float:
    """Fraction of images whose top-1 class differs between the unshifted and shifted copy."""
    ref, cur = np.asarray(reference_top1), np.asarray(shifted_top1)
    if ref.shape != cur.shape:
        raise ValueError("reference and shifted predictions must be paired")
    return float(np.mean(ref != cur)) if ref.size else float("nan")


@register_metric(
    "shift_prob_change",
    unit="%",
    interval="bootstrap",
    doc="mean |change of the top-1 probability| under shift",
)
def shift_prob_change(reference_msp: Sequence[float], shifted_msp: Sequence[float]) -> float:
    """Mean absolute change of the maximum softmax probability under the shift."""
    ref, cur = np.asarray(reference_msp, dtype=float), np.asarray(shifted_msp, dtype=float)
    if ref.shape != cur.shape:
        raise ValueError("reference and shifted probabilities must be paired")
    return float(np.mean(np.abs(cur - ref))) if ref.size else float("nan")


@register_metric(
    "shift_flip_prob_consecutive",
    unit="%",
    interval="bootstrap",
    doc="P(top-1 changes) between consecutive shifts of a probe, pooled over steps",
)
def consecutive_flip_probability(top1_by_step: np.ndarray) -> float:
    """Fraction of (image, step) pairs whose top-1 differs from the previous step's."""
    steps = np.asarray(top1_by_step)
    if steps.ndim != 2 or steps.shape[1] < 2:
        raise ValueError("need an images x steps array with at least two steps")
    return float(np.mean(steps[:, 1:] != steps[:, :-1])) if steps.size else float("nan")


@register_metric(
    "shift_msp", unit="%", interval="bootstrap", doc="mean top-1 probability at one shift"
)
def mean_top1_probability(msp: Sequence[float]) -> float:
    """Mean maximum softmax probability: one point of the probability-vs-shift curve."""
    values = np.asarray(msp, dtype=float)
    return float(values.mean()) if values.size else float("nan")
