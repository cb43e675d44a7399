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
    res = stats.wilcoxon(x, y)
    return TestResult(float(res.statistic), float(res.pvalue), int(x.size))


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
