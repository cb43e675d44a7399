"""AUROC / AUPR / FPR@95 against scikit-learn on random data and hand cases."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from shiftlab.metrics import aupr, auroc, fpr_at_95_tpr


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("ties", [False, True])
def test_match_sklearn(seed, ties):
    rng = np.random.default_rng(seed)
    s_in = rng.normal(0, 1, size=300)
    s_out = rng.normal(0.8, 1, size=int(rng.integers(20, 200)))
    if ties:
        s_in, s_out = np.round(s_in, 1), np.round(s_out, 1)
    y = np.r_[np.zeros_like(s_in), np.ones_like(s_out)]
    s = np.r_[s_in, s_out]
    assert auroc(s_in, s_out) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert aupr(s_in, s_out) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    assert fpr_at_95_tpr(s_in, s_out) == pytest.approx(fpr[np.searchsorted(tpr, 0.95)])


def test_hand_cases():
    # perfectly separated: anomalies score higher
    assert auroc([0, 1], [2, 3]) == 1.0
    assert aupr([0, 1], [2, 3]) == 1.0
    assert fpr_at_95_tpr([0, 1], [2, 3]) == 0.0
    # in: [0.1, 0.4], out: [0.35, 0.8] -> 3 of 4 pairs ordered correctly
    assert auroc([0.1, 0.4], [0.35, 0.8]) == pytest.approx(0.75)
    # ranking: 0.8(out) 0.4(in) 0.35(out) 0.1(in): AP = 1/2*1 + 1/2*2/3
    assert aupr([0.1, 0.4], [0.35, 0.8]) == pytest.approx(0.5 + 1 / 3)
    # TPR reaches 1 only after flagging 0.4 -> FPR 1/2
    assert fpr_at_95_tpr([0.1, 0.4], [0.35, 0.8]) == pytest.approx(0.5)
