"""ImageNet-C and Tiny-ImageNet-C: error per cell, CE per corruption, mCE and relative mCE
(AlexNet and/or a baseline run) and the mean error, with paired bootstrap intervals."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from shiftlab.metrics import corruption
from shiftlab.metrics.core import (
    Options,
    Predictions,
    Row,
    aligned_positions,
    label_space_size,
    metric_row,
    proportion_row,
    register_kind,
)
from shiftlab.metrics.intervals import bootstrap_ci
from shiftlab.variants import c_variant, split_c_variant


@dataclass
class _ErrorMatrix:
    """Top-1 errors as images x (corruption, severity) cells, for paired bootstrap."""

    keys: np.ndarray
    cells: list[tuple[str, int]]
    err: np.ndarray  # (images, cells), nan where an image is missing from a cell

    def errors(self, weights: np.ndarray | None = None) -> dict[str, dict[int, float]]:
        if weights is None:
            weights = np.ones(len(self.keys))
        present = ~np.isnan(self.err)
        num = weights @ np.where(present, self.err, 0.0)
        den = weights @ present
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = num / den
        out: dict[str, dict[int, float]] = {}
        for (name, sev), rate in zip(self.cells, rates, strict=True):
            out.setdefault(name, {})[sev] = float(rate)
        return out


def _error_matrix(preds: Predictions) -> _ErrorMatrix:
    import pandas as pd

    frame = preds.frame
    variants, variant_code = np.unique(frame["variant"].to_numpy(dtype=str), return_inverse=True)
    cells = [split_c_variant(v) for v in variants]
    key_code, keys = pd.factorize(preds.image_keys(), sort=True)
    err = np.full((len(keys), len(cells)), np.nan)
    err[key_code, variant_code] = preds.topk[:, 0] != frame["target"].to_numpy()
    return _ErrorMatrix(np.asarray(keys, dtype=object), cells, err)


def _clean_errors(clean: Predictions | None) -> tuple[np.ndarray, np.ndarray] | None:
    if clean is None:
        return None
    wrong = (clean.topk[:, 0] != clean.frame["target"].to_numpy()).astype(np.float64)
    return clean.image_keys(), wrong


def corruption_metrics_from(
    run: _ErrorMatrix,
    clean: tuple[np.ndarray, np.ndarray] | None,
    base: _ErrorMatrix | None,
    base_clean: tuple[np.ndarray, np.ndarray] | None,
    imagenet1k: bool,
    weights: np.ndarray | None = None,
    positions: dict[int, np.ndarray | None] | None = None,
) -> dict[tuple[str, str], float]:
    """(variant, metric) -> value (percent) of every ImageNet-C aggregate, for given weights.

    `weights` are bootstrap counts over the run's images; they carry over to the clean and
    baseline predictions that cover the same images (`positions` memoises that alignment).
    """
    positions = {} if positions is None else positions
    w = np.ones(len(run.keys)) if weights is None else weights
    errors = run.errors(w)
    out: dict[tuple[str, str], float] = {}

    def carried(keys: np.ndarray) -> np.ndarray:
        if weights is None:
            return np.ones(len(keys))
        if id(keys) not in positions:
            positions[id(keys)] = aligned_positions(keys, run.keys)
        pos = positions[id(keys)]
        return w[pos] if pos is not None else np.ones(len(keys))

    clean_err = None
    if clean is not None:
        cw = carried(clean[0])
        clean_err = float(cw @ clean[1] / cw.sum())
    complete = all(c in errors for c in corruption.TEST_CORRUPTIONS)
    if imagenet1k:
        for name in corruption.TEST_CORRUPTIONS:
            if name in errors:
                out[(name, "ce_alexnet")] = corruption.corruption_error(name, errors)
        if complete:
            out[("", "mce_alexnet")] = corruption.mce(errors)
            if clean_err is not None:
                out[("", "relative_mce_alexnet")] = corruption.relative_mce(errors, clean_err)
    if base is not None:
        bw = carried(base.keys)
        base_errors = base.errors(bw)
        for name in errors:
            if name in base_errors:
                out[(name, "ce_baseline")] = corruption.corruption_error(name, errors, base_errors)
        if complete:
            out[("", "mce_baseline")] = corruption.mce(errors, base_errors)
            if clean_err is not None and base_clean is not None:
                bcw = carried(base_clean[0])
                b_clean = float(bcw @ base_clean[1] / bcw.sum())
                out[("", "relative_mce_baseline")] = corruption.relative_mce(
                    errors, clean_err, base_errors, b_clean
                )
    names = sorted(errors)
    label = "mean_error_19" if set(corruption.ALL_CORRUPTIONS) <= set(names) else "mean_error"
    out[("", label)] = 100.0 * corruption.mean_error(errors, names)
    return out


@register_kind("imagenet_c", "tiny_imagenet_c")
def imagenet_c_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """Error per cell; CE per corruption; mCE / relative mCE (AlexNet and/or baseline); mean error."""
    run = _error_matrix(preds)
    counts = (~np.isnan(run.err)).sum(axis=0)
    rows = []
    for j, (name, sev) in enumerate(run.cells):
        col = run.err[:, j]
        col = col[~np.isnan(col)]
        rows.append(
            proportion_row(
                c_variant(name, sev), "error", int(round(col.sum())), int(counts[j]), opts.alpha
            )
        )
    imagenet1k = label_space_size(preds.meta) == 1000
    base = _error_matrix(opts.baseline) if opts.baseline is not None else None
    clean, base_clean = _clean_errors(opts.clean), _clean_errors(opts.baseline_clean)
    if not all(c in run.errors() for c in corruption.TEST_CORRUPTIONS):
        print(
            "shiftlab metrics: not all 15 test corruptions present; mCE not reported",
            file=sys.stderr,
        )
    point = corruption_metrics_from(run, clean, base, base_clean, imagenet1k)
    keys = list(point)

    positions: dict[int, np.ndarray | None] = {}

    def stat(idx: list[np.ndarray]) -> np.ndarray:
        w = np.bincount(idx[0], minlength=len(run.keys)).astype(np.float64)
        values = corruption_metrics_from(run, clean, base, base_clean, imagenet1k, w, positions)
        return np.array([values.get(k, np.nan) for k in keys])

    low, high = bootstrap_ci(stat, [len(run.keys)], opts.reps, opts.seed, opts.alpha)
    low, high = np.broadcast_to(low, len(keys)), np.broadcast_to(high, len(keys))
    for i, (variant, metric) in enumerate(keys):
        n = (
            len(run.keys)
            if variant == ""
            else int(counts[[c[0] == variant for c in run.cells]].sum())
        )
        rows.append(metric_row(variant, metric, point[(variant, metric)], low[i], high[i], n))
    return rows
