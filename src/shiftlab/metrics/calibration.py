"""Calibration: expected calibration error and RMS calibration error.

- ECE (Naeini et al. 2015, AAAI; Guo et al. 2017, "On Calibration of Modern Neural
  Networks", eq. 3): M equal-width confidence bins ((m-1)/M, m/M];
  ECE = sum_m |B_m|/n * |acc(B_m) - conf(B_m)|.
- RMS calibration error (Hendrycks et al., "Natural Adversarial Examples", and
  `natural-adv-examples/calibration_tools.py::calib_err` with p='2', beta=100): sort by
  confidence, cut into consecutive bins of `bin_size` samples (the last bin absorbs the
  remainder), RMS = sqrt(sum_b |B_b|/n * (conf(B_b) - acc(B_b))^2). The official loop never
  scores the last bin (`range(len(bins) - 1)`); here every bin is scored, and fewer than
  `bin_size` samples make one bin instead of failing.
Both are fractions in [0, 1] (the CSV reports percent).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shiftlab.metrics.registry import register_metric


def _check(conf: Sequence[float], correct: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(conf, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if c.shape != ok.shape or c.ndim != 1:
        raise ValueError(
            f"confidence {c.shape} and correctness {ok.shape} must be equal-length 1-d"
        )
    if c.size and (c.min() < 0 or c.max() > 1):
        raise ValueError("confidences must lie in [0, 1]")
    return c, ok


@register_metric(
    "ece", unit="%", interval="bootstrap", doc="expected calibration error, 15 equal-width bins"
)
def expected_calibration_error(
    conf: Sequence[float], correct: Sequence[bool], bins: int = 15
) -> float:
    """ECE with `bins` equal-width bins ((m-1)/M, m/M]; a confidence of 0 falls in the first bin."""
    c, ok = _check(conf, correct)
    if c.size == 0:
        return float("nan")
    idx = np.clip(np.ceil(c * bins).astype(np.int64) - 1, 0, bins - 1)
    gap = np.bincount(idx, weights=c, minlength=bins) - np.bincount(idx, weights=ok, minlength=bins)
    return float(np.abs(gap).sum() / c.size)  # sum_m |B_m|/n * |mean gap| = sum_m |sum gap| / n


@register_metric(
    "rms_calibration_error",
    unit="%",
    interval="bootstrap",
    doc="RMS calibration error, adaptive bins of 100 sorted by confidence, last bin scored",
)
def rms_calibration_error(
    conf: Sequence[float], correct: Sequence[bool], bin_size: int = 100
) -> float:
    """RMS calibration error over adaptive bins of `bin_size` consecutive sorted confidences."""
    c, ok = _check(conf, correct)
    n = c.size
    if n == 0:
        return float("nan")
    order = np.argsort(c, kind="stable")
    c, ok = c[order], ok[order]
    n_bins = max(n // bin_size, 1)
    edges = [i * bin_size for i in range(n_bins)] + [n]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        total += (hi - lo) / n * (c[lo:hi].mean() - ok[lo:hi].mean()) ** 2
    return float(np.sqrt(total))
