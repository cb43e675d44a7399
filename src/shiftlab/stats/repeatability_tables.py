"""Repeated-capture tables: every group's repeatability per run (for the figure of the least
repeatable groups) and the agreement between two runs on the same groups (reproducibility).

The definitions and the per-run numbers (which reach the summary through the metrics CSVs)
are `shiftlab.metrics.repeatability`'s; this module only tabulates them across runs.
"""

from __future__ import annotations

import pandas as pd

from shiftlab.metrics.repeatability import group_table, run_agreement
from shiftlab.stats.paired_tables import _pairs
from shiftlab.stats.summary import Study, Summary

GROUP_COLUMNS = ["run", "benchmark", "group", "class", "n", "agreement", "prob_spread",
                 "disagrees", "answers"]  # fmt: skip
AGREEMENT_COLUMNS = ["benchmark", "run_a", "run_b", "images", "image_agreement", "groups",
                     "groups_identical"]  # fmt: skip


def _grouped(study: Study) -> list[str]:
    return [b for b in study.benchmarks
            if any((study.preds[(r, b)].rows["group"] != "").any() for r in study.runs_with(b))]  # fmt: skip


def repeatability_tables(study: Study, summary: Summary) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-group table of every run, run-vs-run agreement table); the agreement goes into
    the summary as `run_agreement_vs/<run_a>` and `run_groups_identical_vs/<run_a>`."""
    groups, pairs = [], []
    for bench in _grouped(study):
        runs = study.runs_with(bench)
        for run in runs:
            rows = study.preds[(run, bench)].rows
            rows = rows[(rows["variant"] == "") & (rows["frame"] < 0)]
            table = group_table(rows["group"], rows["wnid"], rows["top1"], rows["msp"])
            groups.append(table.assign(run=run, benchmark=bench))
        for run_a, run_b in _pairs(study, runs):
            a, b = study.preds[(run_a, bench)].rows, study.preds[(run_b, bench)].rows
            agree = run_agreement(a[a["variant"] == ""], b[b["variant"] == ""])
            pairs.append({"benchmark": bench, "run_a": run_a, "run_b": run_b, **agree})
            prov = study.provenance([(run_a, bench), (run_b, bench)])
            vs = f"vs/{run_a}"
            summary.add(run_b, bench, "", f"run_agreement_{vs}", 100 * agree["image_agreement"], prov, n=agree["images"])  # fmt: skip
            summary.add(run_b, bench, "", f"run_groups_identical_{vs}", 100 * agree["groups_identical"], prov, n=agree["groups"])  # fmt: skip
    group_frame = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()
    return (group_frame.reindex(columns=GROUP_COLUMNS), pd.DataFrame(pairs, columns=AGREEMENT_COLUMNS))  # fmt: skip
