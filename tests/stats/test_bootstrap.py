import numpy as np
import pytest

from shiftlab.stats.bootstrap import paired_difference_ci, proportion_ci, statistic_ci


def _coverage(interval, truth) -> float:
    hits = [low <= truth <= high for low, high in interval]
    return float(np.mean(hits))


def test_proportion_ci_covers_95_percent():
    rng = np.random.default_rng(10)
    p, n = 0.3, 200
    intervals = [proportion_ci(rng.random(n) < p, n_boot=1000, seed=i)[1:] for i in range(200)]
    assert 0.91 <= _coverage(intervals, p) <= 0.99


def test_paired_difference_ci_covers_95_percent():
    rng = np.random.default_rng(11)
    n, truth = 300, 0.7 - 0.6
    intervals = []
    for i in range(200):
        u = rng.random(n)
        a, b = u < 0.7, u < 0.6  # strongly paired: b correct implies a correct
        b = np.where(rng.random(n) < 0.2, rng.random(n) < 0.6, b)
        intervals.append(paired_difference_ci(a, b, n_boot=1000, seed=i)[1:])
    assert 0.91 <= _coverage(intervals, truth) <= 0.99


@pytest.mark.slow
def test_statistic_ci_covers_95_percent():
    rng = np.random.default_rng(12)
    intervals = [
        statistic_ci(rng.normal(1.0, 2.0, 60), np.mean, n_boot=500, seed=i)[1:] for i in range(200)
    ]
    assert 0.91 <= _coverage(intervals, 1.0) <= 0.99


def test_fixed_seed_reproducible_and_matches_index_bootstrap():
    x = np.random.default_rng(3).random(400) < 0.4
    assert proportion_ci(x, seed=5) == proportion_ci(x, seed=5)
    # the count shortcut has the index bootstrap's distribution: intervals agree closely
    _, low, high = proportion_ci(x, n_boot=4000, seed=1)
    _, ilow, ihigh = statistic_ci(x.astype(float), np.mean, n_boot=4000, seed=2)
    assert abs(low - ilow) < 0.01 and abs(high - ihigh) < 0.01
