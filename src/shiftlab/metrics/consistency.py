"""Shift consistency: how much a prediction changes when the image is shifted by a few pixels.

Definitions (in the spirit of Azulay & Weiss 2019, "Why do deep convolutional networks
generalize so poorly to small image transformations?", JMLR, and Zhang 2019, "Making
Convolutional Networks Shift-Invariant Again", ICML, "consistency"):
- shift_flip_prob = P(top-1 of the shifted image != top-1 of the unshifted image);
- shift_prob_change = mean |MSP(shifted) - MSP(unshifted)|, the mean absolute change of the
  top-1 probability.
Pairs are matched by image; both are fractions in [0, 1].
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
