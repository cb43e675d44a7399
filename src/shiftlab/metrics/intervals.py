"""95 % intervals for every reported number.

Which interval a metric uses (also recorded in `shiftlab.metrics.registry`):

- proportions of independent trials (top-1/top-5 accuracy, error of one ImageNet-C cell,
  class-wise accuracy, ReaL accuracy, shape bias, shift flip probability): exact
  Clopper-Pearson (Clopper & Pearson 1934, Biometrika 26:404), the interval
  imagenet-testbed draws around each accuracy;
- ratios and means over correlated cells (CE, mCE, relative mCE, mean error over
  corruptions, FP/T5D, mFR/mT5D, AUPR/AUROC/FPR95, ECE/RMS calibration error): percentile
  bootstrap over images (or videos) with a fixed seed (Efron & Tibshirani 1993, ch. 13),
  resampling each independent group separately (e.g. in- and out-of-distribution sets).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

DEFAULT_REPS = 1000
DEFAULT_SEED = 0


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 1-alpha interval for a binomial proportion k/n.

    Bounds are beta quantiles: low = B(alpha/2; k, n-k+1), high = B(1-alpha/2; k+1, n-k),
    with low = 0 when k = 0 and high = 1 when k = n. Returns (nan, nan) for n = 0.

    The same bounds as `scipy.stats.binomtest(k, n).proportion_ci(method="exact")` (the
    tests check it), computed directly: binomtest is over 10x slower per call, and a 1,000-class
    study draws this interval for every class of every run and benchmark
    (`benchmarks/libraries.py` prints the ratio).
    """
    from scipy.stats import beta

    k, n = int(k), int(n)
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def bootstrap_ci(
    statistic: Callable[[list[np.ndarray]], float | np.ndarray],
    sizes: Sequence[int],
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> tuple[Any, Any]:
    """Percentile bootstrap interval of `statistic` (a scalar or a vector of statistics).

    `sizes` lists independent groups (e.g. [n_in, n_out]); each replicate draws, for every
    group, indices with replacement and calls `statistic([idx_group0, idx_group1, ...])`.
    Replicates where a statistic is undefined (nan) are ignored for it. Returns nan bounds
    when reps is 0 or a group is empty.

    Not `scipy.stats.bootstrap`: that resamples the data arrays themselves, while these
    statistics take the resampled *indices* of several aligned arrays at once (predictions,
    labels, the clean references) and may return a vector with undefined entries to skip;
    the seed and the index stream are recorded, so the audit can re-derive every interval.
    """
    if reps <= 0 or not sizes or min(sizes) <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = np.asarray(
        [statistic([rng.integers(0, n, size=n) for n in sizes]) for _ in range(reps)],
        dtype=np.float64,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns -> nan bounds
        low, high = np.nanquantile(values, [alpha / 2, 1 - alpha / 2], axis=0)
    if values.ndim == 1:
        return float(low), float(high)
    return low, high
