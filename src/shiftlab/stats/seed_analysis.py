"""The seed studies' class-sensitivity analysis, reproduced and then done right.

Seed (reproduced): for each class, a two-sided Student t-test of the class's accuracy
across the study's models on clean images (control) vs under one transformation
(experimental); a class is "affected" when p < alpha, uncorrected. Per model, a t-test of
the accuracy shift across classes.

Done right: the same models see both conditions and the same classes appear in both, so
the tests are paired (paired t-test, Wilcoxon signed-rank), and the per-class family is
corrected for multiple comparisons (Holm or Benjamini-Hochberg).

Inputs are accuracy tables with one row per run and one column per class (wnid).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from shiftlab.stats.correction import adjust
from shiftlab.stats.paired import ttest_paired, ttest_unpaired, wilcoxon_signed_rank

CLASS_COLUMNS = [
    "unit", "n_runs", "mean_control", "mean_experimental", "diff",
    "t_ind", "p_ind", "t_rel", "p_rel", "p_rel_adj", "affected_seed", "affected_corrected",
]  # fmt: skip
MODEL_COLUMNS = [
    "unit", "n_classes", "mean_control", "mean_experimental", "diff",
    "t_ind", "p_ind", "t_rel", "p_rel", "p_rel_adj", "w_stat", "w_p", "w_p_adj",
    "affected_seed", "affected_corrected",
]  # fmt: skip


def _align(control: pd.DataFrame, experimental: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = control.index.intersection(experimental.index)
    classes = control.columns.intersection(experimental.columns)
    return control.loc[runs, classes], experimental.loc[runs, classes]


def _t_tests(c: np.ndarray, e: np.ndarray) -> dict[str, float]:
    """Means and the unpaired (seed study) and paired t-tests of control vs experimental."""
    ind = ttest_unpaired(c, e)
    rel = ttest_paired(c, e)
    return {
        "mean_control": float(np.mean(c)) if len(c) else np.nan,
        "mean_experimental": float(np.mean(e)) if len(e) else np.nan,
        "t_ind": ind.statistic,
        "p_ind": ind.pvalue,
        "t_rel": rel.statistic,
        "p_rel": rel.pvalue,
    }


def class_tests(
    control: pd.DataFrame, experimental: pd.DataFrame, alpha: float, correction: str
) -> pd.DataFrame:
    """One row per class: seed t-test across runs (unpaired) and the paired, corrected one."""
    control, experimental = _align(control, experimental)
    # (classes, runs), each class's runs contiguous: the row-wise reductions below then sum
    # in the order the 1-D tests do, so the numbers are bit-identical to them.
    c = np.ascontiguousarray(control.to_numpy(float).T)
    e = np.ascontiguousarray(experimental.to_numpy(float).T)
    rows = _t_tests_rows(c, e)
    for i in np.flatnonzero(np.isnan(c).any(axis=1) | np.isnan(e).any(axis=1)):
        rows[i] = _t_tests(c[i], e[i])  # a class some runs lack: the 1-D tests drop NaN
    out = pd.DataFrame(rows, columns=[k for k in CLASS_COLUMNS[2:] if k not in _DERIVED])
    out.insert(0, "unit", list(control.columns))
    out.insert(1, "n_runs", len(control.index))
    return _finish(out, alpha, correction, CLASS_COLUMNS)


def _t_tests_rows(c: np.ndarray, e: np.ndarray) -> list[dict[str, float]]:
    """`_t_tests` of every row of (classes, runs) matrices in one scipy call each: at
    ImageNet scale 1,000 classes x 44 conditions made 88,000 scipy calls, 94 % of the
    aggregate's time. Rows with NaN are left for the caller to redo one by one."""
    if not c.size or c.shape[1] < 2:  # the 1-D tests return NaN for fewer than two runs
        return [_t_tests(x, y) for x, y in zip(c, e, strict=True)]
    with warnings.catch_warnings():  # near-constant accuracies: as in ttest_paired/unpaired
        warnings.simplefilter("ignore", RuntimeWarning)
        ind = stats.ttest_ind(c, e, axis=1)
        rel = stats.ttest_rel(c, e, axis=1)
    columns = {"mean_control": np.mean(c, axis=1), "mean_experimental": np.mean(e, axis=1),
               "t_ind": ind.statistic, "p_ind": ind.pvalue,
               "t_rel": rel.statistic, "p_rel": rel.pvalue}  # fmt: skip
    values = np.column_stack([np.asarray(v, float) for v in columns.values()])
    return [dict(zip(columns, map(float, row), strict=True)) for row in values]


def model_tests(
    control: pd.DataFrame, experimental: pd.DataFrame, alpha: float, correction: str
) -> pd.DataFrame:
    """One row per run: does the variant shift this run's class-wise accuracy?"""
    control, experimental = _align(control, experimental)
    rows = []
    for run in control.index:
        c = control.loc[run].to_numpy(float)
        e = experimental.loc[run].to_numpy(float)
        wil = wilcoxon_signed_rank(c, e)
        rows.append(
            {
                "unit": run,
                "n_classes": len(c),
                **_t_tests(c, e),
                "w_stat": wil.statistic,
                "w_p": wil.pvalue,
            }
        )
    out = pd.DataFrame(rows, columns=[c for c in MODEL_COLUMNS if c not in _DERIVED])
    out["w_p_adj"] = adjust(out["w_p"].to_numpy(float), correction)
    return _finish(out, alpha, correction, MODEL_COLUMNS)


_DERIVED = {"diff", "p_rel_adj", "w_p_adj", "affected_seed", "affected_corrected"}


def _finish(out: pd.DataFrame, alpha: float, correction: str, columns: list[str]) -> pd.DataFrame:
    out["diff"] = out["mean_experimental"] - out["mean_control"]
    out["p_rel_adj"] = adjust(out["p_rel"].to_numpy(float), correction)
    # NaN p (a class every run gets equally right) compares False: not affected.
    out["affected_seed"] = out["p_ind"].to_numpy(float) < alpha
    out["affected_corrected"] = out["p_rel_adj"].to_numpy(float) < alpha
    return out[columns]


def affected_counts(class_table: pd.DataFrame) -> dict[str, int]:
    """How many classes the seed test and the corrected paired test call affected."""
    return {
        "classes_tested": int(len(class_table)),
        "classes_affected_seed": int(class_table["affected_seed"].sum()),
        "classes_affected_corrected": int(class_table["affected_corrected"].sum()),
    }
