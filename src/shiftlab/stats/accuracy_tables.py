"""Top-1/top-5 with bootstrap intervals from per-image correctness, and the metrics files'
rows in the summary (lending those intervals to accuracy rows that lack one)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shiftlab.errors import UserError
from shiftlab.stats import bootstrap
from shiftlab.stats.inputs import SUMMARY_COLUMNS, Predictions, merge_provenance
from shiftlab.stats.summary import NO_PAIRED_KINDS, Study, Summary
from shiftlab.variants import VariantMasks, corruption_of

ACCURACY_METRICS = ("top1", "top5")


def _accuracy_groups(pred: Predictions) -> dict[str, np.ndarray]:
    """Variant label -> mask for accuracy rows: the whole benchmark, each variant, and for
    ImageNet-C each corruption pooled over severities."""
    masks = VariantMasks(pred.labelled["variant"])
    groups = {"": np.ones(len(masks.codes), dtype=bool)}
    distinct = sorted(masks.distinct)
    if len(distinct) > 1 or (distinct and distinct[0]):
        groups.update({v: masks.variant(v) for v in distinct})
    if pred.kind == "imagenet_c":
        for name in sorted({corruption_of(v) for v in distinct}):
            groups.setdefault(name, masks.corruption(name))
    return groups


def bootstrap_table(study: Study, summary: Summary) -> pd.DataFrame:
    """Top-1/top-5 accuracy with percentile bootstrap CIs for every run, benchmark and variant."""
    cfg = study.cfg
    rows = []
    for key, pred in sorted(study.preds.items()):
        labelled = pred.labelled
        if labelled.empty or pred.kind in NO_PAIRED_KINDS:
            continue
        for variant, mask in _accuracy_groups(pred).items():
            for metric, column in zip(ACCURACY_METRICS, ("correct", "correct5"), strict=True):
                if metric == "top5" and pred.topk.shape[1] < 5:
                    continue
                value, low, high = bootstrap.proportion_ci(
                    labelled[column].to_numpy()[mask], cfg.bootstrap, cfg.seed
                )
                rows.append({"run": key[0], "benchmark": key[1], "variant": variant, "metric": metric,
                             "value": value, "ci_low": low, "ci_high": high, "n": int(mask.sum())})  # fmt: skip
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:8])


PERCENT = 100.0  # summary accuracies are in percent, like the metrics files


def metrics_into_summary(study: Study, boot: pd.DataFrame, summary: Summary) -> None:
    """Metric rows with provenance; accuracy-type rows without an interval get the bootstrap
    one when the values agree, and accuracies the metrics lack are added from the bootstrap."""
    by_sha = {pred.sha256: pred for pred in study.preds.values()}
    boot_index = {
        (r.run, r.benchmark, r.variant, r.metric): r for r in boot.itertuples(index=False)
    }
    seen = set()
    for row in study.metrics.itertuples(index=False):
        listed = [s for s in str(row.predictions_sha256).split(";") if s]
        parts = [by_sha[s].provenance for s in listed if s in by_sha]
        if not parts and (row.run, row.benchmark) in study.preds:
            parts = [study.preds[(row.run, row.benchmark)].provenance]
        if not parts:
            raise UserError(
                f"metric {row.metric!r} of run {row.run!r} on {row.benchmark!r} names no predictions "
                "file given to aggregate (pass its predictions with --predictions)"
            )
        provenance = merge_provenance(parts)
        if listed:
            provenance["predictions_sha256"] = ";".join(listed)
        own = study.preds.get((row.run, row.benchmark))
        if own is not None and own.provenance.get("mlflow_run_id"):
            # the number is logged by this (run, benchmark)'s metrics job, whichever file it
            # was computed from (A/R's clean subset rows: the clean val predictions)
            provenance["mlflow_run_id"] = own.provenance["mlflow_run_id"]
        ci = (row.ci_low, row.ci_high)
        key = (row.run, row.benchmark, row.variant, row.metric)
        ref = boot_index.get(key)
        # The bootstrap table holds proportions; metric files report percent.
        if ref is None and row.metric == "error" and pd.isna(row.ci_low):
            top1 = boot_index.get((row.run, row.benchmark, row.variant, "top1"))
            if top1 is not None and np.isclose(row.value, PERCENT * (1 - top1.value)):
                ci = (PERCENT * (1 - top1.ci_high), PERCENT * (1 - top1.ci_low))
        elif ref is not None and pd.isna(row.ci_low) and np.isclose(row.value, PERCENT * ref.value):
            ci = (PERCENT * ref.ci_low, PERCENT * ref.ci_high)
        summary.add(
            row.run, row.benchmark, row.variant, row.metric, row.value, provenance, ci, row.n
        )
        seen.add(key)
    for r in boot.itertuples(index=False):
        if (r.run, r.benchmark, r.variant, r.metric) not in seen:
            provenance = study.preds[(r.run, r.benchmark)].provenance
            summary.add(r.run, r.benchmark, r.variant, r.metric, PERCENT * r.value, provenance,
                        (PERCENT * r.ci_low, PERCENT * r.ci_high), r.n)  # fmt: skip
