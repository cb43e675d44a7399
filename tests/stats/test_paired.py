import math

import numpy as np
import pytest
from scipy import stats

from shiftlab.stats.paired import mcnemar_exact, ttest_paired, ttest_unpaired, wilcoxon_signed_rank


def _two_sided_sign_test(b: int, c: int) -> float:
    """By the binomial sum, independently of scipy: 2 * sum_{i <= min} C(n, i) / 2^n."""
    n = b + c
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n)


def test_mcnemar_equals_the_binomial_sum():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n = int(rng.integers(5, 300))
        a = rng.random(n) < rng.uniform(0.3, 0.9)
        b = rng.random(n) < rng.uniform(0.3, 0.9)
        res = mcnemar_exact(a, b)
        assert res.only_a == int(np.sum(a & ~b)) and res.only_b == int(np.sum(~a & b))
        discordant = res.only_a + res.only_b
        expected = _two_sided_sign_test(res.only_a, res.only_b) if discordant else 1.0
        assert np.isclose(res.pvalue, expected, rtol=1e-12, atol=1e-15)
        assert np.isclose(mcnemar_exact(b, a).pvalue, res.pvalue)


def test_mcnemar_by_hand():
    # 1 vs 7 discordant: p = 2 * (C(8,0) + C(8,1)) / 2^8 = 18 / 256
    a = np.array([1, 0, 0, 0, 0, 0, 0, 0, 1, 1], bool)
    b = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1], bool)
    assert np.isclose(mcnemar_exact(a, b).pvalue, 18 / 256)


def test_wilcoxon_equals_scipy():
    rng = np.random.default_rng(1)
    for n in (6, 15, 80):
        x = rng.uniform(size=n)
        y = np.clip(x + rng.normal(0.05, 0.1, size=n), 0, 1)
        res = wilcoxon_signed_rank(x, y)
        ref = stats.wilcoxon(x, y)
        assert np.isclose(res.statistic, ref.statistic) and np.isclose(res.pvalue, ref.pvalue)
    assert wilcoxon_signed_rank([0.5, 0.5], [0.5, 0.5]).pvalue == 1.0


def test_ttests_equal_scipy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=12), rng.normal(0.4, 1.0, size=12)
    rel, ref_rel = ttest_paired(x, y), stats.ttest_rel(x, y)
    ind, ref_ind = ttest_unpaired(x, y), stats.ttest_ind(x, y)
    assert np.isclose(rel.statistic, ref_rel.statistic) and np.isclose(rel.pvalue, ref_rel.pvalue)
    assert np.isclose(ind.statistic, ref_ind.statistic) and np.isclose(ind.pvalue, ref_ind.pvalue)
    assert np.isnan(ttest_paired([1.0], [2.0]).pvalue)


def test_wilcoxon_with_ties_and_zeros_equals_scipy_permutation():
    """Accuracies of few classes tie and repeat: the exact sign-flip path must give
    scipy's permutation p-value (and statistic) for every n up to 13, and scipy's own
    answer (normal approximation) above it."""
    rng = np.random.default_rng(7)
    checked = 0
    for n in list(range(1, 17)) * 6:
        x = rng.integers(0, 6, size=n) / 5  # per-class accuracies of 5 images: many ties
        y = np.clip(x + rng.integers(-1, 2, size=n) / 5, 0, 1)
        if np.all(x == y):
            continue
        res = wilcoxon_signed_rank(x, y)
        ref = stats.wilcoxon(x, y)
        assert res.statistic == pytest.approx(float(ref.statistic), abs=1e-12), (x, y)
        assert res.pvalue == pytest.approx(float(ref.pvalue), abs=1e-12), (x, y)
        assert res.n == n
        checked += 1
    assert checked > 80
