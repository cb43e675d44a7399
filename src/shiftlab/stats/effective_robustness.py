"""Effective robustness (Taori et al. 2020): how much better a run does on a shifted
benchmark than its clean accuracy predicts from the study's other runs.

The baseline is a straight line in logit space fitted with scipy.stats.linregress over
the fit set; a run's effective robustness is its shifted accuracy minus the line's
prediction at its clean accuracy, in accuracy units (fractions, not points). Bands are
percentile bootstrap bands of the line over resampled runs, as in imagenet-testbed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import expit, logit

# Accuracies of exactly 0 or 1 have infinite logits; clip them half an image inside.
DEFAULT_EPS = 1e-4


def to_logit(acc: ArrayLike, eps: float = DEFAULT_EPS) -> np.ndarray:
    return logit(np.clip(np.asarray(acc, dtype=float), eps, 1.0 - eps))


@dataclass(frozen=True)
class LogitFit:
    slope: float
    intercept: float
    rvalue: float
    pvalue: float
    stderr: float
    n: int

    def predict(self, clean_acc: ArrayLike, eps: float = DEFAULT_EPS) -> np.ndarray:
        return expit(self.slope * to_logit(clean_acc, eps) + self.intercept)


def fit_logit_line(
    clean_acc: ArrayLike, shifted_acc: ArrayLike, eps: float = DEFAULT_EPS
) -> LogitFit | None:
    """linregress(logit(clean), logit(shifted)); None with fewer than two distinct x."""
    x = to_logit(clean_acc, eps)
    y = to_logit(shifted_acc, eps)
    if x.size < 2 or np.unique(x).size < 2:
        return None
    res = stats.linregress(x, y)
    return LogitFit(
        float(res.slope), float(res.intercept), float(res.rvalue), float(res.pvalue),
        float(res.stderr), int(x.size),
    )  # fmt: skip


def residuals(
    fit: LogitFit, clean_acc: ArrayLike, shifted_acc: ArrayLike, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """Effective robustness of each point: shifted accuracy minus the line's prediction."""
    return np.asarray(shifted_acc, dtype=float) - fit.predict(clean_acc, eps)


def bootstrap_band(
    clean_acc: ArrayLike,
    shifted_acc: ArrayLike,
    grid: ArrayLike,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    eps: float = DEFAULT_EPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile band of the fitted line at `grid` clean accuracies, resampling runs with
    replacement; resamples with fewer than two distinct clean accuracies cannot define a
    line and are dropped (NaN band when all are)."""
    x = to_logit(clean_acc, eps)
    y = to_logit(shifted_acc, eps)
    gx = to_logit(grid, eps)
    rng = np.random.default_rng(seed)
    n = x.size
    if n < 2 or np.unique(x).size < 2:
        return np.full(gx.size, np.nan), np.full(gx.size, np.nan)
    # Least squares for all resamples at once (the same estimates linregress gives).
    idx = rng.integers(0, n, size=(n_boot, n))
    xs, ys = x[idx], y[idx]
    xc = xs - xs.mean(axis=1, keepdims=True)
    sxx = (xc**2).sum(axis=1)
    valid = sxx > 1e-12 * max(1.0, float(np.abs(x).max()) ** 2)
    slope = np.where(
        valid,
        (xc * (ys - ys.mean(axis=1, keepdims=True))).sum(axis=1) / np.where(valid, sxx, 1),
        np.nan,
    )
    intercept = ys.mean(axis=1) - slope * xs.mean(axis=1)
    curves = expit(slope[:, None] * gx[None, :] + intercept[:, None])
    tail = (1.0 - confidence) / 2.0 * 100.0
    if np.all(np.isnan(curves)):
        return np.full(gx.size, np.nan), np.full(gx.size, np.nan)
    low, high = np.nanpercentile(curves, [tail, 100.0 - tail], axis=0)
    return low, high
