"""Robustness metrics as pure functions of stored predictions.

Every function cites its definition in its module docstring; `registry` says which unit and
which 95 % interval each CSV metric uses; `compute` turns a predictions file into the tidy
metrics rows of one benchmark.
"""

from shiftlab.metrics.accuracy import accuracy, topk_accuracy, topk_hits
from shiftlab.metrics.calibration import expected_calibration_error, rms_calibration_error
from shiftlab.metrics.classwise import class_accuracy
from shiftlab.metrics.consistency import shift_flip_probability, shift_prob_change
from shiftlab.metrics.corruption import (
    ALEXNET_CLEAN_ERROR,
    ALEXNET_MEAN_ERRORS,
    ALEXNET_SEVERITY_ERRORS,
    TEST_CORRUPTIONS,
    VALIDATION_CORRUPTIONS,
    corruption_error,
    corruption_errors,
    mce,
    mean_error,
    relative_corruption_error,
    relative_mce,
)
from shiftlab.metrics.intervals import bootstrap_ci, clopper_pearson
from shiftlab.metrics.ood import aupr, auroc, fpr_at_95_tpr
from shiftlab.metrics.perturbation import (
    TEST_PERTURBATIONS,
    flip_probability,
    mfr,
    mt5d,
    top5_distance,
)
from shiftlab.metrics.real import real_accuracy
from shiftlab.metrics.registry import MetricInfo, get_metric, list_metrics, register_metric
from shiftlab.metrics.shape_bias import CATEGORIES16, cue_conflict_categories, shape_bias

__all__ = [
    "ALEXNET_CLEAN_ERROR",
    "ALEXNET_MEAN_ERRORS",
    "ALEXNET_SEVERITY_ERRORS",
    "CATEGORIES16",
    "TEST_CORRUPTIONS",
    "TEST_PERTURBATIONS",
    "VALIDATION_CORRUPTIONS",
    "MetricInfo",
    "accuracy",
    "aupr",
    "auroc",
    "bootstrap_ci",
    "class_accuracy",
    "clopper_pearson",
    "corruption_error",
    "corruption_errors",
    "cue_conflict_categories",
    "expected_calibration_error",
    "flip_probability",
    "fpr_at_95_tpr",
    "get_metric",
    "list_metrics",
    "mce",
    "mean_error",
    "mfr",
    "mt5d",
    "real_accuracy",
    "register_metric",
    "relative_corruption_error",
    "relative_mce",
    "rms_calibration_error",
    "shape_bias",
    "shift_flip_probability",
    "shift_prob_change",
    "top5_distance",
    "topk_accuracy",
    "topk_hits",
]
