"""Accuracy, ReaL, calibration, shape bias, shift consistency, class-wise, intervals, registry."""

import warnings

import numpy as np
import pytest
from scipy.stats import binomtest

from shiftlab.errors import UserError
from shiftlab.metrics import (
    accuracy,
    bootstrap_ci,
    class_accuracy,
    clopper_pearson,
    cue_conflict_categories,
    expected_calibration_error,
    get_metric,
    list_metrics,
    real_accuracy,
    rms_calibration_error,
    shape_bias,
    shift_flip_probability,
    shift_prob_change,
    topk_accuracy,
)
from shiftlab.metrics.registry import MetricInfo, add_metric


def test_accuracy_topk():
    topk = [[1, 2, 3, 4, 5], [2, 1, 3, 4, 5], [9, 8, 7, 6, 5], [0, 1, 2, 3, 4]]
    target = [1, 1, 5, 7]
    assert accuracy([r[0] for r in topk], target) == 0.25
    assert topk_accuracy(topk, target, k=1) == 0.25
    assert topk_accuracy(topk, target, k=2) == 0.5
    assert topk_accuracy(topk, target, k=5) == 0.75
    with pytest.raises(ValueError):
        topk_accuracy([[1, 2]], [1], k=5)


def test_real_accuracy_excludes_empty_sets():
    topk = [[1, 2, 3, 4, 5], [7, 8, 9, 10, 11], [3, 1, 0, 0, 0], [4, 4, 4, 4, 4]]
    labels = [[1], [], [1, 6], [5]]
    # row 1 excluded; top-1: row0 yes, row2 no (3 not in {1,6}), row3 no -> 1/3
    assert real_accuracy(topk, labels, k=1) == pytest.approx(1 / 3)
    # top-2: row2 now yes (1 in {1,6}) -> 2/3
    assert real_accuracy(topk, labels, k=2) == pytest.approx(2 / 3)
    assert np.isnan(real_accuracy([[1, 2, 3, 4, 5]], [[]]))


def test_ece_by_hand():
    conf = [0.05, 0.15, 0.95, 0.9, 1.0, 0.0]
    correct = [0, 0, 1, 0, 1, 1]
    # 2 bins (0,.5], (.5,1]: bin0 {0.05,0.15,0.0}: conf mean 0.0667, acc 1/3 -> |gap| 0.2667
    # bin1 {0.95,0.9,1.0}: conf 0.95, acc 2/3 -> 0.2833 ; ECE = 0.5*0.2667 + 0.5*0.2833
    assert expected_calibration_error(conf, correct, bins=2) == pytest.approx(0.275)
    # a confidence exactly on an edge belongs to the lower bin ((m-1)/M, m/M]
    assert expected_calibration_error([0.5, 0.5], [1, 1], bins=2) == pytest.approx(0.5)


def test_rms_scores_last_bin():
    conf = np.r_[np.full(100, 0.9), np.full(150, 0.6)]
    correct = np.r_[np.ones(100), np.zeros(150)]
    # sorted: 150 at 0.6 (acc 0) then 100 at 0.9 (acc 1): bins [0,100) and [100,250)
    b1 = 100 / 250 * 0.6**2
    conf2 = np.r_[np.full(50, 0.6), np.full(100, 0.9)]
    acc2 = np.r_[np.zeros(50), np.ones(100)]
    b2 = 150 / 250 * (conf2.mean() - acc2.mean()) ** 2
    assert rms_calibration_error(conf, correct) == pytest.approx(np.sqrt(b1 + b2))
    # fewer than bin_size samples: one bin
    assert rms_calibration_error([0.8, 0.6], [1, 0]) == pytest.approx(abs(0.7 - 0.5))


def test_cue_conflict_parsing_and_shape_bias():
    assert cue_conflict_categories("cat/cat7-elephant1.png") == ("cat", "elephant")
    assert cue_conflict_categories("bird/bird3-bird2.png") == ("bird", "bird")
    with pytest.raises(UserError):
        cue_conflict_categories("cat7.png")
    shape = ["cat", "cat", "bird", "dog", "car"]
    texture = ["elephant", "elephant", "bird", "clock", "oven"]
    pred = ["cat", "elephant", "bird", "knife", "car"]
    # bird==bird row dropped; shape hits: row0, row4; texture hits: row1; row3 neither
    assert shape_bias(shape, texture, pred) == pytest.approx(2 / 3)
    assert np.isnan(shape_bias(["a"], ["a"], ["a"]))


def test_shift_consistency():
    assert shift_flip_probability([1, 2, 3, 4], [1, 2, 0, 0]) == 0.5
    assert shift_prob_change([0.9, 0.5], [0.8, 0.7]) == pytest.approx(0.15)


def test_class_accuracy():
    out = class_accuracy(["b", "a", "b", "b"], [True, False, False, True])
    assert out == {"a": (0, 1), "b": (2, 3)}


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (761, 1000), (1, 1)])
def test_clopper_pearson_vs_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-10)
    assert all(np.isnan(clopper_pearson(0, 0)))


def test_bootstrap_ci_is_seeded_and_covers_mean():
    x = np.random.default_rng(1).normal(size=200)
    a = bootstrap_ci(lambda idx: x[idx[0]].mean(), [x.size], reps=300, seed=3)
    b = bootstrap_ci(lambda idx: x[idx[0]].mean(), [x.size], reps=300, seed=3)
    assert a == b and a[0] < x.mean() < a[1]
    # close to the normal-theory interval mean +- 1.96 se
    se = x.std(ddof=1) / np.sqrt(x.size)
    assert a[1] - a[0] == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert all(np.isnan(bootstrap_ci(lambda idx: 0.0, [5], reps=0)))


def test_registry():
    assert "mce_alexnet" in list_metrics("mce_*")
    assert get_metric("class_acc/n01440764").interval == "clopper-pearson"
    assert get_metric("aupr").interval == "bootstrap"
    with pytest.raises(KeyError):
        get_metric("nope")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        add_metric(
            MetricInfo(
                "top1", "%", "clopper-pearson", "top-1 accuracy", get_metric("top1").function
            )
        )
    assert any("registered twice" in str(w.message) for w in caught)
