import numpy as np
import pytest
from scipy import stats

from shiftlab.errors import UserError
from shiftlab.stats.correction import adjust, benjamini_hochberg, holm

# Worked by hand: p = [0.01, 0.04, 0.03, 0.005], m = 4.
# Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04;
#   running max -> 0.02, 0.03, 0.06, 0.06.
# BH: sorted times m/rank = 0.02, 0.02, 0.04, 0.04; running min from the top -> same.
P = [0.01, 0.04, 0.03, 0.005]


def test_holm_by_hand():
    np.testing.assert_allclose(holm(P), [0.03, 0.06, 0.06, 0.02])


def test_bh_by_hand():
    np.testing.assert_allclose(benjamini_hochberg(P), [0.02, 0.04, 0.04, 0.02])


def test_bh_matches_scipy():
    p = np.random.default_rng(1).uniform(size=200) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"))


def _holm_stepdown_rejections(p, alpha):
    """Textbook Holm: reject in ascending order while p_(i) <= alpha / (m - i)."""
    order = np.argsort(p)
    reject = np.zeros(len(p), dtype=bool)
    for i, j in enumerate(order):
        if p[j] > alpha / (len(p) - i):
            break
        reject[j] = True
    return reject


def test_holm_equals_stepdown_procedure():
    rng = np.random.default_rng(2)
    for _ in range(20):
        p = rng.uniform(size=30) ** 4
        np.testing.assert_array_equal(holm(p) <= 0.05, _holm_stepdown_rejections(p, 0.05))


def test_nan_not_counted_in_family():
    out = holm([0.01, np.nan, 0.02])
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.02])
    assert np.isnan(benjamini_hochberg([np.nan])).all()


def test_unknown_method():
    with pytest.raises(UserError, match="holm"):
        adjust(P, "bonferonni")
    np.testing.assert_allclose(adjust(P, "none"), P)
