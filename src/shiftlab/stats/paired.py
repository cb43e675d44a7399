"""Paired tests for two runs evaluated on the same images (or the same classes).

The seed studies compared runs with unpaired tests although every run sees the same
images; pairing removes the between-image variance and is the right test here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


@dataclass(frozen=True)
class McNemar:
    only_a: int  # images run A gets right and run B wrong
    only_b: int
    n: int
    pvalue: float


def mcnemar_exact(correct_a: ArrayLike, correct_b: ArrayLike) -> McNemar:
    """Exact (binomial) McNemar test on per-image correctness: under H0 the discordant
    images split Binomial(b + c, 1/2); two-sided p = min(1, 2 * P[X <= min(b, c)]), which is
    `scipy.stats.binomtest`'s two-sided p-value at p = 1/2."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("McNemar needs the same images for both runs")
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(~a & b))
    discordant = only_a + only_b
    p = 1.0 if discordant == 0 else float(stats.binomtest(only_a, discordant, 0.5).pvalue)
    return McNemar(only_a, only_b, int(a.size), p)


@dataclass(frozen=True)
class TestResult:
    statistic: float
    pvalue: float
    n: int


def wilcoxon_signed_rank(x: ArrayLike, y: ArrayLike) -> TestResult:
    """Two-sided Wilcoxon signed-rank test on paired values (scipy defaults: zero
    differences dropped by 'wilcox', exact distribution for small n). All-zero differences
    mean no evidence of a shift: statistic 0, p = 1."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size == 0:
        return TestResult(float("nan"), float("nan"), 0)
    if np.all(x == y):
        return TestResult(0.0, 1.0, int(x.size))
    d = x - y
    ranks = stats.rankdata(np.abs(d[d != 0]))
    tied = np.unique(ranks).size < ranks.size or np.any(d == 0)
    if tied and d.size <= EXACT_SIGN_FLIP_MAX_N:
        return _sign_flip_exact(d, ranks)
    res = stats.wilcoxon(x, y)
    return TestResult(float(res.statistic), float(res.pvalue), int(x.size))


# With ties or zeros and n <= 13, scipy's wilcoxon runs a permutation test over all 2**n
# sign flips, evaluating its statistic one flip at a time (~0.2 s a call; the demo's
# aggregate made 700 such calls). The same exact null, enumerated as one matrix product,
# gives scipy's p-value (tests/stats/test_paired.py compares them) in microseconds.
EXACT_SIGN_FLIP_MAX_N = 13


def _sign_flip_exact(d: np.ndarray, ranks: np.ndarray) -> TestResult:
    """scipy's exact permutation p-value for the signed-rank statistic: zero differences
    are dropped (flipping them changes nothing, so the null over the non-zero ones has the
    same proportions), the observed and null W+ are compared with scipy's relative
    tolerance (100 eps), and two-sided p = 2 min(P[W+ <= w], P[W+ >= w]), clipped at 1."""
    nonzero = d[d != 0]
    r_plus = float(ranks[nonzero > 0].sum())
    r_minus = float(ranks[nonzero < 0].sum())
    m = ranks.size
    signs = (np.arange(2**m)[:, None] >> np.arange(m)) & 1
    null = signs @ ranks
    gamma = abs(np.finfo(float).eps * 100 * r_plus)
    less = np.count_nonzero(null <= r_plus + gamma) / null.size
    greater = np.count_nonzero(null >= r_plus - gamma) / null.size
    p = min(1.0, 2 * min(less, greater))
    return TestResult(min(r_plus, r_minus), p, int(d.size))


def ttest_paired(x: ArrayLike, y: ArrayLike) -> TestResult:
    """Two-sided paired t-test (NaN when undefined: fewer than 2 pairs or zero variance)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 2:
        return TestResult(float("nan"), float("nan"), int(x.size))
    with warnings.catch_warnings():  # near-constant accuracies: scipy warns, we report NaN/p
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_rel(x, y)
    return TestResult(float(res.statistic), float(res.pvalue), int(x.size))


def ttest_unpaired(x: ArrayLike, y: ArrayLike) -> TestResult:
    """Two-sided Student t-test with pooled variance, as the seed studies ran it."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if x.size < 2 or y.size < 2:
        return TestResult(float("nan"), float("nan"), int(x.size + y.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(x, y)
    return TestResult(float(res.statistic), float(res.pvalue), int(x.size + y.size))
