"""Repeatability of a model over repeated captures: "if I show the same part again, is the
answer the same?" (the repeatability test of an inspection line, asked of a classifier).

Images of one physical object form a group (`group` column of a folder benchmark). Per group
of n >= 2 captures:

- agreement: the share of the n(n-1)/2 capture pairs with the same top-1 class (1 when all
  captures get one answer; the pairwise percent agreement);
- prob_spread: max - min of the top-1 probability over the captures;
- disagrees: whether any two captures get different top-1 classes.

A benchmark's number is the mean over its groups (each object counts once, however many
captures it has); per class, over the groups of that class. The reproducibility counterpart,
`run_agreement`, compares two runs on the same images: the share of images with the same
top-1, and the share of groups where every capture gets the same top-1 from both runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shiftlab.metrics.registry import MetricInfo, add_metric

for _info in (
    MetricInfo(
        "repeat_agreement",
        "%",
        "bootstrap",
        "mean over repeated-capture groups of the share of capture pairs with the same top-1",
    ),  # fmt: skip
    MetricInfo(
        "repeat_agreement/*", "%", "bootstrap", "repeat_agreement over the groups of one class"
    ),  # fmt: skip
    MetricInfo(
        "repeat_prob_spread",
        "%",
        "bootstrap",
        "mean over groups of max - min top-1 probability across captures (points)",
    ),  # fmt: skip
    MetricInfo(
        "repeat_prob_spread/*", "%", "bootstrap", "repeat_prob_spread over the groups of one class"
    ),  # fmt: skip
    MetricInfo(
        "repeat_groups_disagree",
        "%",
        "clopper-pearson",
        "share of groups whose captures get more than one top-1 class",
    ),  # fmt: skip
    MetricInfo(
        "repeat_groups_disagree/*",
        "%",
        "clopper-pearson",
        "repeat_groups_disagree over the groups of one class",
    ),  # fmt: skip
):
    add_metric(_info)


def group_table(groups: Any, classes: Any, top1: Any, prob: Any) -> Any:
    """One row per group of >= 2 captures: group, class, n, agreement, prob_spread,
    disagrees, answers (the top-1 classes with their counts, most frequent first)."""
    import pandas as pd

    frame = pd.DataFrame(
        {"group": np.asarray(groups, dtype=object), "class": np.asarray(classes, dtype=object),
         "top1": np.asarray(top1), "prob": np.asarray(prob, dtype=np.float64)}
    )  # fmt: skip
    frame = frame[frame["group"] != ""]
    rows = []
    for group, part in frame.groupby("group", sort=True):
        n = len(part)
        if n < 2:
            continue
        counts = part["top1"].value_counts()
        pairs = n * (n - 1) / 2
        same = float((counts * (counts - 1) / 2).sum())
        answers = ", ".join(f"{c}x{k}" for c, k in sorted(counts.items(), key=lambda t: (-t[1], str(t[0]))))  # fmt: skip
        rows.append({"group": group, "class": part["class"].iloc[0], "n": n,
                     "agreement": same / pairs,
                     "prob_spread": float(part["prob"].max() - part["prob"].min()),
                     "disagrees": len(counts) > 1, "answers": answers})  # fmt: skip
    columns = ["group", "class", "n", "agreement", "prob_spread", "disagrees", "answers"]
    return pd.DataFrame(rows, columns=columns)


def repeatability_rows(table: Any, opts: Any, class_names: dict[int, str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Metric rows (overall and per class) from a `group_table`."""
    from shiftlab.metrics.core import metric_row, proportion_row
    from shiftlab.metrics.intervals import bootstrap_ci

    rows: list[dict[str, Any]] = []
    selections = [("", table)] + [(f"/{c}", part) for c, part in table.groupby("class", sort=True)]
    for suffix, part in selections:
        if part.empty:
            continue
        values = part[["agreement", "prob_spread"]].to_numpy(np.float64)

        def stat(idx: list[np.ndarray], values: np.ndarray = values) -> np.ndarray:
            return values[idx[0]].mean(axis=0)

        point = stat([np.arange(len(values))])
        low, high = bootstrap_ci(stat, [len(values)], opts.reps, opts.seed, opts.alpha)
        low, high = np.broadcast_to(low, 2), np.broadcast_to(high, 2)
        for i, name in enumerate(("repeat_agreement", "repeat_prob_spread")):
            rows.append(metric_row("", name + suffix, 100 * point[i], 100 * low[i], 100 * high[i], len(values)))  # fmt: skip
        k = int(part["disagrees"].sum())
        rows.append(proportion_row("", "repeat_groups_disagree" + suffix, k, len(part), opts.alpha))
    return rows


def run_agreement(a: Any, b: Any) -> dict[str, float]:
    """Two runs' predictions rows (sample, group, top1) on the same images -> the share of
    images with the same top-1 and of groups answered identically by both, and the counts."""
    joined = a[["sample", "group", "top1"]].merge(b[["sample", "top1"]], on="sample", suffixes=("_a", "_b"))  # fmt: skip
    same = joined["top1_a"].to_numpy() == joined["top1_b"].to_numpy()
    grouped = joined[joined["group"] != ""].assign(same=same[joined["group"].to_numpy() != ""])
    per_group = grouped.groupby("group")["same"].all()
    return {
        "images": len(joined),
        "image_agreement": float(same.mean()) if len(joined) else float("nan"),
        "groups": len(per_group),
        "groups_identical": float(per_group.mean()) if len(per_group) else float("nan"),
    }
