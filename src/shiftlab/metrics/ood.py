"""Out-of-distribution detection (ImageNet-O): AUPR, AUROC, FPR at 95 % TPR.

Convention (Hendrycks et al., "Natural Adversarial Examples"; `natural-adv-examples`
eval_many_models.py::get_imagenet_o_results + calibration_tools.py::get_measures;
docs/benchmarks.md §3.4): scores are ANOMALY scores (higher = more anomalous, e.g. -MSP) and the
out-of-distribution set is the POSITIVE class.

- AUROC: area under the ROC curve = P(out score > in score) + 1/2 P(tie) (Mann-Whitney U
  with average ranks; equals scikit-learn's roc_auc_score).
- AUPR: average precision, AP = sum_n (R_n - R_{n-1}) P_n over distinct score thresholds
  (scikit-learn's average_precision_score, which the official code calls).
- FPR@95: false-positive rate at the highest threshold whose TPR (recall of the
  out-of-distribution set) reaches 0.95. The official `fpr_and_fdr_at_recall` instead takes
  the threshold whose recall is nearest to 0.95; the two agree whenever a threshold attains
  exactly 0.95 and otherwise differ by at most one threshold step.
All three are fractions in [0, 1].

The tests check AUROC and AUPR against scikit-learn, which is not called here: each number
gets a 1,000-replicate bootstrap interval, and scikit-learn's input validation makes it
5-8x slower per call on ImageNet-O sizes (`benchmarks/libraries.py` prints the ratio).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shiftlab.metrics.registry import register_metric


def _labels_scores(
    in_scores: Sequence[float], out_scores: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    s_in = np.asarray(in_scores, dtype=np.float64).ravel()
    s_out = np.asarray(out_scores, dtype=np.float64).ravel()
    if s_in.size == 0 or s_out.size == 0:
        raise ValueError("OOD metrics need at least one in- and one out-of-distribution score")
    y = np.r_[np.zeros(s_in.size), np.ones(s_out.size)]
    return y, np.r_[s_in, s_out]


def _cumulative_at_thresholds(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True/false positives when thresholding at each distinct score, highest first."""
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    return tps, fps


@register_metric("auroc", unit="%", interval="bootstrap", doc="AUROC, OOD positive, score = -MSP")
def auroc(in_scores: Sequence[float], out_scores: Sequence[float]) -> float:
    """Area under the ROC curve with the out-of-distribution set as positives."""
    from scipy.stats import rankdata

    y, s = _labels_scores(in_scores, out_scores)
    ranks = rankdata(s)  # average ranks for ties
    n_pos, n_neg = y.sum(), (1 - y).sum()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@register_metric(
    "aupr",
    unit="%",
    interval="bootstrap",
    doc="AUPR (average precision), OOD positive, score = -MSP",
)
def aupr(in_scores: Sequence[float], out_scores: Sequence[float]) -> float:
    """Area under the precision-recall curve (average precision), OOD positive."""
    y, s = _labels_scores(in_scores, out_scores)
    tps, fps = _cumulative_at_thresholds(y, s)
    precision = tps / (tps + fps)
    recall = tps / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@register_metric(
    "fpr95", unit="%", interval="bootstrap", doc="FPR at 95 % TPR, OOD positive, score = -MSP"
)
def fpr_at_95_tpr(
    in_scores: Sequence[float], out_scores: Sequence[float], tpr: float = 0.95
) -> float:
    """Fraction of in-distribution samples flagged at the first threshold with TPR >= `tpr`."""
    y, s = _labels_scores(in_scores, out_scores)
    tps, fps = _cumulative_at_thresholds(y, s)
    recall = tps / y.sum()
    first = int(np.searchsorted(recall, tpr, side="left"))
    return float(fps[first] / (1 - y).sum())
