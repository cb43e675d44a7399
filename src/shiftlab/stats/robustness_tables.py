"""Effective robustness: per shifted benchmark, a logit-linear fit of shifted on clean
accuracy over the fit runs, each run's residual and the fit's bootstrap band."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shiftlab.stats import effective_robustness
from shiftlab.stats.inputs import Predictions
from shiftlab.stats.summary import ALL_RUNS, Study, Summary

# Benchmarks whose top-1 accuracy is a natural "shifted accuracy" for effective robustness.
SHIFTED_KINDS = {"imagenet_v2", "imagenet_sketch", "imagenet_a", "imagenet_r", "imagenet_c",
                 "transforms", "folder"}  # fmt: skip


def _subset_correct(pred: Predictions, subset_targets: np.ndarray) -> np.ndarray:
    """Top-1 correctness on the rows of `subset_targets` classes with predictions masked to
    those classes, from the stored top-k: the first top-k class inside the subset. Exact
    unless none of the top-k lies in the subset (then counted wrong)."""
    labelled = pred.labelled
    rows = labelled.index.to_numpy()
    positions = pred.rows.index.get_indexer(rows)
    topk = pred.topk[positions]
    keep = np.isin(labelled["target"].to_numpy(), subset_targets)
    topk, target = topk[keep], labelled["target"].to_numpy()[keep]
    inside = np.isin(topk, subset_targets)
    first = np.where(inside.any(axis=1), topk[np.arange(len(topk)), inside.argmax(axis=1)], -2)
    return first == target


def _accuracy_points(
    study: Study, bench: str, runs: list[str]
) -> tuple[np.ndarray, np.ndarray, list[int], bool]:
    """Each run's clean and shifted top-1 (fractions) and image count. When the shifted
    benchmark covers a subset of the clean classes, the clean axis is restricted and masked
    to that subset (`subset` true)."""
    clean = study.cfg.clean_benchmark
    shifted_targets = np.unique(
        np.concatenate([study.preds[(r, bench)].labelled["target"].to_numpy() for r in runs])
    )
    clean_targets = np.unique(
        np.concatenate([study.preds[(r, clean)].labelled["target"].to_numpy() for r in runs])
    )
    subset = bool(set(shifted_targets) < set(clean_targets))
    xs, ys, ns = [], [], []
    for r in runs:
        if subset:
            correct = _subset_correct(study.preds[(r, clean)], shifted_targets)
        else:
            correct = study.preds[(r, clean)].labelled["correct"].to_numpy()
        shifted = study.preds[(r, bench)].labelled["correct"].to_numpy()
        xs.append(correct.mean() if correct.size else np.nan)
        ys.append(shifted.mean())
        ns.append(min(correct.size, shifted.size))
    return np.array(xs), np.array(ys), ns, subset


def _fit_with_band(
    study: Study, bench: str, x: np.ndarray, y: np.ndarray, in_fit: np.ndarray, eps: float
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """The logit fit over the fit runs, its prediction and bootstrap band at every run, and
    the band on a grid (rows for the figure); NaN everywhere when no line can be fitted."""
    cfg = study.cfg
    fit = effective_robustness.fit_logit_line(x[in_fit], y[in_fit], eps)
    band_rows = []
    if fit is None:
        predicted = low = high = np.full(len(x), np.nan)
        return fit, predicted, low, high, band_rows
    predicted = fit.predict(x, eps)
    low, high = effective_robustness.bootstrap_band(
        x[in_fit], y[in_fit], x, cfg.bootstrap, cfg.seed, eps=eps
    )
    pad = 0.05
    grid = np.linspace(max(eps, x.min() - pad), min(1 - eps, x.max() + pad), 50)
    glow, ghigh = effective_robustness.bootstrap_band(
        x[in_fit], y[in_fit], grid, cfg.bootstrap, cfg.seed, eps=eps
    )
    for gx, gy, gl, gh in zip(grid, fit.predict(grid, eps), glow, ghigh, strict=True):
        band_rows.append({"benchmark": bench, "clean_acc": gx, "fit": gy, "low": gl, "high": gh})
    return fit, predicted, low, high, band_rows


def effective_robustness_tables(
    study: Study, summary: Summary
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per shifted benchmark: the logit fit over the fit runs, each run's residual and the
    bootstrap band (also on a grid, for the figure)."""
    cfg = study.cfg
    clean = cfg.clean_benchmark
    rows, band_rows = [], []
    for bench in study.benchmarks:
        if bench == clean or study.kind(bench) not in SHIFTED_KINDS:
            continue
        runs = [r for r in study.runs_with(bench) if (r, clean) in study.preds]
        runs = [r for r in runs if not study.preds[(r, bench)].labelled.empty]
        if not runs:
            continue
        x, y, ns, subset = _accuracy_points(study, bench, runs)
        eps = 0.5 / max(1, min(ns))  # half an image inside (0, 1): finite logits
        in_fit = np.array([cfg.fit_runs is None or r in cfg.fit_runs for r in runs])
        fit, predicted, low, high, band = _fit_with_band(study, bench, x, y, in_fit, eps)
        band_rows += band
        axis = f"{clean}-on-{bench}-classes" if subset else clean
        all_keys = [(r, clean) for r in runs] + [(r, bench) for r in runs]
        for i, r in enumerate(runs):
            resid = y[i] - predicted[i]
            rows.append({"benchmark": bench, "run": r, "clean_axis": axis, "clean_acc": x[i], "shifted_acc": y[i],
                         "predicted_acc": predicted[i], "eff_robustness": resid,
                         "ci_low": y[i] - high[i], "ci_high": y[i] - low[i], "in_fit": bool(in_fit[i]),
                         "slope": fit.slope if fit else np.nan, "intercept": fit.intercept if fit else np.nan,
                         "rvalue": fit.rvalue if fit else np.nan, "n_fit": int(in_fit.sum()), "n": ns[i],
                         "eps": eps})  # fmt: skip
            prov = study.provenance(all_keys)  # the line depends on every fit run
            # percentage points, like every accuracy in the summary (the fit is on fractions)
            ci = (100 * (y[i] - high[i]), 100 * (y[i] - low[i]))
            summary.add(r, bench, "", "eff_robustness", 100 * resid, prov, ci, ns[i])
            if subset:
                summary.add(
                    r,
                    bench,
                    "",
                    f"clean_top1/{axis}",
                    100 * x[i],
                    study.provenance([(r, clean)]),
                    n=ns[i],
                )
        if fit is not None:
            prov = study.provenance(all_keys)
            summary.add(ALL_RUNS, bench, "", "eff_robustness_slope", fit.slope, prov, n=fit.n)
            summary.add(
                ALL_RUNS, bench, "", "eff_robustness_intercept", fit.intercept, prov, n=fit.n
            )
    er = pd.DataFrame(rows)
    band = pd.DataFrame(band_rows, columns=["benchmark", "clean_acc", "fit", "low", "high"])
    return er, band
