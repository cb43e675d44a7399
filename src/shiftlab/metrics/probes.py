"""Shift-probe consistency rows: how often and how much a prediction moves under 1-px shifts.

A probe is a family of transform variants `<probe>_<k>` for steps k = 0..K (crop_shift_k,
embed_black_k, embed_inpaint_k, scale_embed_k; `shiftlab.corrupt.transforms`), where step 0
is the unshifted reference. Following Azulay & Weiss (2019, JMLR) and Zhang (2019, ICML,
"consistency"), each probe gets, over the images present at every step:
- per step k >= 1 (variant `<probe>_<k>`): `shift_flip_prob` (top-1 differs from step 0) and
  `shift_prob_change` (mean |change of the top-1 probability| vs step 0);
- per step k >= 0: `shift_msp`, the mean top-1 probability (the probability-vs-shift curve);
- pooled (variant `<probe>`): `shift_flip_prob` over all k >= 1, `shift_flip_prob_consecutive`
  between steps k-1 and k, and `shift_prob_change`, with bootstrap intervals over images
  (the steps of one image are not independent trials).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from shiftlab.metrics.core import Options, Predictions, Row, metric_row
from shiftlab.metrics.intervals import bootstrap_ci, clopper_pearson

_STEP = re.compile(r"^(?P<probe>.+)_(?P<step>\d+)$")


def probe_steps(variants: list[str]) -> dict[str, list[int]]:
    """Probe name -> its sorted steps, for variant families that include step 0 and one more."""
    found: dict[str, set[int]] = {}
    for variant in variants:
        match = _STEP.match(variant)
        if match:
            found.setdefault(match["probe"], set()).add(int(match["step"]))
    return {p: sorted(s) for p, s in sorted(found.items()) if 0 in s and len(s) > 1}


def _step_matrix(preds: Predictions, probe: str, steps: list[int]) -> tuple[Any, Any]:
    """(top-1, msp) as images x steps arrays, for the images present at every step."""
    import pandas as pd

    frame = preds.frame
    names = [f"{probe}_{k}" for k in steps]
    keep = frame["variant"].isin(names).to_numpy()
    part = pd.DataFrame(
        {
            "key": preds.image_keys()[keep],
            "variant": frame["variant"].to_numpy()[keep],
            "top1": preds.topk[keep, 0],
            "msp": frame["msp"].to_numpy(float)[keep] if "msp" in frame else np.nan,
        }
    ).drop_duplicates(["key", "variant"])
    top1 = part.pivot(index="key", columns="variant", values="top1").reindex(columns=names)
    msp = part.pivot(index="key", columns="variant", values="msp").reindex(columns=names)
    complete = top1.notna().all(axis=1).to_numpy()
    return top1.to_numpy()[complete].astype(np.int64), msp.to_numpy(float)[complete]


def _mean_ci(values: np.ndarray, opts: Options) -> tuple[float, float, float]:
    """Mean of per-image values (in percent) with a bootstrap interval over images."""
    low, high = bootstrap_ci(
        lambda idx: values[idx[0]].mean(), [values.size], opts.reps, opts.seed, opts.alpha
    )
    return 100 * float(values.mean()), 100 * low, 100 * high


def _per_step_rows(probe: str, steps: list[int], top1, msp, opts: Options) -> list[Row]:
    rows: list[Row] = []
    n = top1.shape[0]
    for j, k in enumerate(steps):
        variant = f"{probe}_{k}"
        if not np.isnan(msp).all():
            rows.append(metric_row(variant, "shift_msp", *_mean_ci(msp[:, j], opts), n))
        if j == 0:
            continue
        flips = int((top1[:, j] != top1[:, 0]).sum())
        low, high = clopper_pearson(flips, n, opts.alpha)
        rows.append(
            metric_row(variant, "shift_flip_prob", 100 * flips / n, 100 * low, 100 * high, n)
        )
        if not np.isnan(msp).all():
            change = np.abs(msp[:, j] - msp[:, 0])
            rows.append(metric_row(variant, "shift_prob_change", *_mean_ci(change, opts), n))
    return rows


def _pooled_rows(probe: str, top1, msp, opts: Options) -> list[Row]:
    per_image = {
        "shift_flip_prob": (top1[:, 1:] != top1[:, :1]).mean(axis=1),
        "shift_flip_prob_consecutive": (top1[:, 1:] != top1[:, :-1]).mean(axis=1),
    }
    if not np.isnan(msp).all():
        per_image["shift_prob_change"] = np.abs(msp[:, 1:] - msp[:, :1]).mean(axis=1)
    names = list(per_image)
    table = np.stack([per_image[m] for m in names], axis=1)
    low, high = bootstrap_ci(
        lambda idx: table[idx[0]].mean(axis=0), [table.shape[0]], opts.reps, opts.seed, opts.alpha
    )
    low, high = np.broadcast_to(low, len(names)), np.broadcast_to(high, len(names))
    means = table.mean(axis=0)
    n = table.shape[0]
    return [
        metric_row(probe, m, 100 * means[i], 100 * low[i], 100 * high[i], n)
        for i, m in enumerate(names)
    ]


def probe_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """Consistency rows of every shift probe in a transforms benchmark's predictions."""
    rows: list[Row] = []
    for probe, steps in probe_steps(sorted(preds.frame["variant"].unique())).items():
        top1, msp = _step_matrix(preds, probe, steps)
        if top1.shape[0] == 0:
            continue
        rows += _per_step_rows(probe, steps, top1, msp, opts)
        rows += _pooled_rows(probe, top1, msp, opts)
    return rows
