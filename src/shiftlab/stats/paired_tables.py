"""Run-vs-run comparisons on identical images: McNemar, class-wise Wilcoxon and paired
bootstrap accuracy differences, corrected per benchmark."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from shiftlab.stats import bootstrap
from shiftlab.stats.correction import adjust
from shiftlab.stats.paired import mcnemar_exact, wilcoxon_signed_rank
from shiftlab.stats.summary import NO_PAIRED_KINDS, Study, Summary


def _pairs(study: Study, runs: list[str]) -> list[tuple[str, str]]:
    base = study.cfg.baseline_run
    if base and base in runs:
        return [(base, r) for r in runs if r != base]
    return list(itertools.combinations(runs, 2))


def paired_tables(
    study: Study, summary: Summary
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """McNemar, Wilcoxon (class-wise) and paired-bootstrap differences between runs on
    identical images. `diff` = acc(run_b) - acc(run_a); run_a is the baseline when set."""
    cfg = study.cfg
    mc_rows, wil_rows, pair_rows = [], [], []
    keys = ["sample", "variant", "frame"]
    for bench in study.benchmarks:
        if study.kind(bench) in NO_PAIRED_KINDS:
            continue
        runs = [r for r in study.runs_with(bench) if not study.preds[(r, bench)].labelled.empty]
        for run_a, run_b in _pairs(study, runs):
            a = study.preds[(run_a, bench)].labelled[keys + ["wnid", "correct"]]
            b = study.preds[(run_b, bench)].labelled[keys + ["correct"]]
            joined = a.merge(b, on=keys, suffixes=("_a", "_b"))
            if joined.empty:
                continue
            variants = sorted(joined["variant"].unique())
            groups = {"": np.ones(len(joined), dtype=bool)}
            if len(variants) > 1:
                groups.update({v: (joined["variant"] == v).to_numpy() for v in variants})
            for variant, mask in groups.items():
                part = joined[mask]
                ca, cb = part["correct_a"].to_numpy(), part["correct_b"].to_numpy()
                test = mcnemar_exact(ca, cb)
                mc_rows.append({"benchmark": bench, "variant": variant, "run_a": run_a, "run_b": run_b,
                                "n": test.n, "only_a": test.only_a, "only_b": test.only_b,
                                "pvalue": test.pvalue})  # fmt: skip
                diff, low, high = bootstrap.paired_difference_ci(cb, ca, cfg.bootstrap, cfg.seed)
                pair_rows.append({"benchmark": bench, "variant": variant, "run_a": run_a, "run_b": run_b,
                                  "n": test.n, "acc_a": ca.mean(), "acc_b": cb.mean(), "diff": diff,
                                  "ci_low": low, "ci_high": high})  # fmt: skip
                per_class = part.groupby("wnid")[["correct_a", "correct_b"]].mean()
                w = wilcoxon_signed_rank(per_class["correct_b"], per_class["correct_a"])
                wil_rows.append({"comparison": "runs", "benchmark": bench, "variant": variant,
                                 "run_a": run_a, "run_b": run_b, "n_classes": w.n,
                                 "statistic": w.statistic, "pvalue": w.pvalue})  # fmt: skip
    mcnemar = pd.DataFrame(mc_rows, columns=["benchmark", "variant", "run_a", "run_b", "n", "only_a",
                                             "only_b", "pvalue"])  # fmt: skip
    wilcoxon = pd.DataFrame(wil_rows, columns=["comparison", "benchmark", "variant", "run_a", "run_b",
                                               "n_classes", "statistic", "pvalue"])  # fmt: skip
    pairwise = pd.DataFrame(pair_rows, columns=["benchmark", "variant", "run_a", "run_b", "n", "acc_a",
                                                "acc_b", "diff", "ci_low", "ci_high"])  # fmt: skip
    for table in (mcnemar, wilcoxon):
        table["p_adj"] = np.nan
        for _, idx in table.groupby("benchmark").groups.items():
            table.loc[idx, "p_adj"] = adjust(
                table.loc[idx, "pvalue"].to_numpy(float), cfg.correction
            )
        table["significant"] = table["p_adj"] < cfg.alpha
    for m, w, p in zip(mcnemar.itertuples(index=False), wilcoxon.itertuples(index=False),
                       pairwise.itertuples(index=False), strict=True):  # fmt: skip
        prov = study.provenance([(m.run_a, m.benchmark), (m.run_b, m.benchmark)])
        vs = f"vs/{m.run_a}"
        summary.add(
            m.run_b,
            m.benchmark,
            m.variant,
            f"top1_diff_{vs}",
            p.diff,
            prov,
            (p.ci_low, p.ci_high),
            p.n,
        )
        summary.add(m.run_b, m.benchmark, m.variant, f"mcnemar_p_{vs}", m.pvalue, prov, n=m.n)
        summary.add(m.run_b, m.benchmark, m.variant, f"mcnemar_p_adj_{vs}", m.p_adj, prov, n=m.n)
        summary.add(
            m.run_b, m.benchmark, m.variant, f"wilcoxon_p_adj_{vs}", w.p_adj, prov, n=w.n_classes
        )
    return mcnemar, wilcoxon, pairwise
