"""Seed studies: class- and run-level t-tests of accuracy shifts per transformation or
corruption, and the per-run Wilcoxon shift tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shiftlab.stats import seed_analysis
from shiftlab.stats.inputs import Predictions
from shiftlab.stats.summary import ALL_RUNS, Study, Summary
from shiftlab.variants import VariantMasks, corruption_of

SEED_KINDS = {"transforms", "imagenet_c"}


def _class_accuracy(rows: pd.DataFrame) -> pd.Series:
    return rows.groupby("wnid", sort=True)["correct"].mean()


def _conditions(pred: Predictions, per_severity: bool) -> dict[str, np.ndarray]:
    """Condition name -> row mask over `pred.labelled` for the seed analyses."""
    masks = VariantMasks(pred.labelled["variant"])
    distinct = sorted(masks.distinct)
    if pred.kind == "imagenet_c":
        names = {corruption_of(v) for v in distinct}
        conditions = {c: masks.corruption(c) for c in sorted(names)}
        if per_severity:
            conditions.update({v: masks.variant(v) for v in distinct})
        return conditions
    return {v: masks.variant(v) for v in distinct if v}


def seed_tables(study: Study, summary: Summary) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seed t-tests per transformation / corruption, and the per-run Wilcoxon shift tests."""
    cfg = study.cfg
    clean = cfg.clean_benchmark
    tables, wilcoxon_rows = [], []
    for bench in study.benchmarks:
        if study.kind(bench) not in SEED_KINDS:
            continue
        runs = [r for r in study.runs_with(bench) if (r, clean) in study.preds
                and (cfg.class_test_runs is None or r in cfg.class_test_runs)]  # fmt: skip
        if not runs:
            continue
        control = pd.DataFrame(
            {r: _class_accuracy(study.preds[(r, clean)].labelled) for r in runs}
        ).T
        keys = [(r, clean) for r in runs] + [(r, bench) for r in runs]
        provenance = study.provenance(keys)
        masks = {r: _conditions(study.preds[(r, bench)], cfg.c_per_severity) for r in runs}
        conditions = sorted(set().union(*[m.keys() for m in masks.values()]))
        for condition in conditions:
            exp = {}
            for r in runs:
                if condition in masks[r]:
                    exp[r] = _class_accuracy(study.preds[(r, bench)].labelled[masks[r][condition]])
            experimental = pd.DataFrame(exp).T
            classes = seed_analysis.class_tests(control, experimental, cfg.alpha, cfg.correction)
            models = seed_analysis.model_tests(control, experimental, cfg.alpha, cfg.correction)
            for level, table in (("class", classes), ("run", models)):
                table = table.copy()
                table.insert(0, "level", level)
                table.insert(1, "benchmark", bench)
                table.insert(2, "condition", condition)
                tables.append(table)
            counts = seed_analysis.affected_counts(classes)
            for metric, value in counts.items():
                summary.add(
                    ALL_RUNS,
                    bench,
                    condition,
                    metric,
                    value,
                    provenance,
                    n=counts["classes_tested"],
                )
            for m in models.itertuples(index=False):
                run_prov = study.provenance([(m.unit, clean), (m.unit, bench)])
                summary.add(
                    m.unit, bench, condition, "class_shift_mean", m.diff, run_prov, n=m.n_classes
                )
                summary.add(
                    m.unit, bench, condition, "class_shift_p_seed", m.p_ind, run_prov, n=m.n_classes
                )
                summary.add(m.unit, bench, condition, "class_shift_p_wilcoxon_adj", m.w_p_adj, run_prov,
                            n=m.n_classes)  # fmt: skip
                wilcoxon_rows.append({"comparison": "shift", "benchmark": bench, "variant": condition,
                                      "run_a": m.unit, "run_b": m.unit, "n_classes": m.n_classes,
                                      "statistic": m.w_stat, "pvalue": m.w_p, "p_adj": m.w_p_adj})  # fmt: skip
    seed = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=["level", "benchmark", "condition"])
    )
    return seed, pd.DataFrame(wilcoxon_rows)
