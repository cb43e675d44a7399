"""ImageNet-P flip probability and top-5 distance on hand-made sequences (docs/benchmarks.md §3.3)."""

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from shiftlab.errors import UserError
from shiftlab.metrics import flip_probability, mfr, mt5d, top5_distance
from shiftlab.metrics.perturbation import base_perturbation, comparison_pairs, top5_pair_distance


def test_noise_compares_with_frame_0():
    top1 = np.array([[1, 1, 2, 1, 2], [3, 3, 3, 3, 3]])
    # video 0 vs frame 0: flips at frames 2 and 4 -> 2/4; video 1: 0
    assert flip_probability(top1, noise=True) == pytest.approx((0.5 + 0.0) / 2)


def test_non_noise_compares_consecutive_frames():
    top1 = np.array([[1, 1, 2, 1, 2]])
    # consecutive pairs: (1,1) (1,2) (2,1) (1,2) -> 3 flips / 4
    assert flip_probability(top1, noise=False) == pytest.approx(0.75)


def test_non_noise_stride_walks_each_offset():
    top1 = np.array([[0, 5, 0, 5, 1, 6, 1]])
    # stride 2: offset 0 frames [0,0,1,1] -> flips 0,1,0; offset 1 frames [5,5,6] -> 0,1
    # pooled: 2 flips / 5 comparisons
    assert flip_probability(top1, noise=False, stride=2) == pytest.approx(2 / 5)
    assert list(comparison_pairs(7, noise=False, stride=2)) == [
        (0, 2), (2, 4), (4, 6), (1, 3), (3, 5),
    ]  # fmt: skip


def test_videos_weighted_equally_ragged():
    videos = [np.array([1, 2]), np.array([1, 1, 1, 1, 1])]
    assert flip_probability(videos, noise=False) == pytest.approx((1.0 + 0.0) / 2)


def _official_top5(logits_ref: np.ndarray, logits_cur: np.ndarray) -> int:
    """The official computation on full rankings (ranks via ordinal rankdata of -logits)."""
    n = logits_ref.size
    cum = np.cumsum([0] + [1] * 5 + [0] * (n - 6))
    s1 = rankdata(-logits_ref, method="ordinal")
    s2 = rankdata(-logits_cur, method="ordinal")
    sigma = s2[np.argsort(s1)]
    return int(np.sum(np.abs(cum[:5] - cum[sigma - 1][:5])))


def test_top5_distance_matches_full_ranking_definition():
    rng = np.random.default_rng(0)
    for _ in range(200):
        ref = rng.normal(size=30)
        cur = ref + rng.normal(scale=rng.choice([0.05, 0.5, 3.0]), size=30)
        k = int(rng.integers(5, 8))
        top_ref = np.argsort(-ref, kind="stable")[:k]
        top_cur = np.argsort(-cur, kind="stable")[:k]
        assert top5_pair_distance(top_ref, top_cur) == _official_top5(ref, cur)


def test_top5_distance_by_hand():
    ref = [0, 1, 2, 3, 4]
    assert top5_pair_distance(ref, [0, 1, 2, 3, 4]) == 0
    assert top5_pair_distance(ref, [1, 0, 2, 3, 4]) == 2
    # all five leave the top-5: |0-5|+|1-5|+...+|4-5| = 15
    assert top5_pair_distance(ref, [9, 8, 7, 6, 5, 0]) == 15
    ranks = np.array([[ref, [1, 0, 2, 3, 4], [0, 1, 2, 3, 4]]])  # (1 video, 3 frames, k=5)
    assert top5_distance(ranks, noise=True) == pytest.approx((2 + 0) / 2)  # vs frame 0
    assert top5_distance(ranks, noise=False) == pytest.approx((2 + 2) / 2)  # consecutive
    with pytest.raises(ValueError):
        top5_pair_distance([0, 1, 2, 3], [0, 1, 2, 3])


def test_mfr_mt5d_normalised_by_baseline():
    fps = {"rotate": 0.02, "gaussian_noise": 0.1}
    base = {"rotate": 0.04, "gaussian_noise": 0.2, "tilt": 0.5}
    assert mfr(fps, base) == pytest.approx(50.0)
    assert mt5d({"rotate": 1.0}, {"rotate": 4.0}) == pytest.approx(25.0)
    with pytest.raises(UserError):
        mfr({"scale": 0.1}, base)


def test_base_perturbation_names():
    assert base_perturbation("gaussian_noise_2") == "gaussian_noise"
    assert base_perturbation("rotate") == "rotate"


def test_mfr_is_undefined_when_the_baseline_never_flips():
    from shiftlab.metrics.perturbation import mfr

    assert math.isnan(mfr({"rotate": 0.2, "scale": 0.1}, {"rotate": 0.0, "scale": 0.3}))
    assert mfr({"rotate": 0.2}, {"rotate": 0.4}) == 50.0
