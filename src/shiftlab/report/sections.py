"""The report's sections that take more than one table: what each shows and in which order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shiftlab.report.cells import figure, pivot, plain_table
from shiftlab.report.gallery import gallery_html, plan
from shiftlab.report.tables import Results

CE_METRICS = ("ce_alexnet", "ce_baseline")
MCE_METRICS = ("mce_alexnet", "relative_mce_alexnet", "mce_baseline", "relative_mce_baseline",
               "mean_error_19", "mean_error")  # fmt: skip
OOD_METRICS = ("aupr", "auroc", "fpr95")
PROBE_METRICS = ("shift_flip_prob", "shift_flip_prob_consecutive", "shift_prob_change", "shift_msp")


def corruption_parts(results: Results, figs: dict[str, Path]) -> list[str]:
    """CE per corruption (each normalisation present), mCE / relative mCE, error by severity."""
    s = results.summary
    parts = [figure("ce_per_corruption.png", figs.get("ce_per_corruption.png"))]
    for metric in CE_METRICS:
        ce = s[(s["metric"] == metric) & (s["variant"] != "")]
        if not ce.empty:
            ce = ce.assign(col=ce["benchmark"] + ":" + ce["variant"])
            parts.append(f"<p>Corruption error <code>{metric}</code> (%, 100 = the reference):</p>"
                         + pivot(ce, "run", "col", "run \\ corruption"))  # fmt: skip
    mce = s[s["metric"].isin(MCE_METRICS) & (s["variant"] == "")]
    mce = mce.assign(col=mce["benchmark"] + ":" + mce["metric"])
    parts += [pivot(mce, "run", "col", "run"),
              figure("error_vs_severity.png", figs.get("error_vs_severity.png"))]  # fmt: skip
    return parts


def parity_parts(results: Results) -> list[str]:
    """Cells whose error differs between the two ImageNet-C sets beyond sampling noise."""
    s = results.summary
    counts = s[s["metric"] == "c_parity_cells_flagged"]
    if counts.empty:
        return []
    table = results.stats.get("c_parity", pd.DataFrame())
    flagged = table[table["flagged"].astype(str) == "True"] if not table.empty else table
    parts = [
        "<p>Per run, each corruption &times; severity cell's top-1 error on the regenerated set "
        "minus the reference set (the official files; without them, the materialized files vs "
        "on-the-fly corruption), with a paired bootstrap interval over the cell's images. "
        "Cells whose interval excludes 0 (of n compared):</p>",
        pivot(counts, "run", "benchmark"),
    ]
    if not flagged.empty:
        cols = ["run", "reference", "other", "variant", "n", "error_reference", "error_other",
                "diff", "ci_low", "ci_high"]  # fmt: skip
        shown = flagged.reindex(flagged["diff"].abs().sort_values(ascending=False).index)[cols]
        parts += [f"<p>Flagged cells, largest difference first (of {len(flagged)}; all in "
                  "<code>stats/c_parity.csv</code>):</p>",
                  plain_table(shown.head(30), ("run", "reference", "other", "variant"))]  # fmt: skip
    return parts


def probe_parts(results: Results, figs: dict[str, Path]) -> list[str]:
    """Pooled consistency per run and probe, and the flip-probability-vs-shift curves."""
    s = results.summary
    pooled = s[s["metric"].isin(PROBE_METRICS[:3]) & ~s["variant"].str.match(r".*_\d+$")
               & (s["variant"] != "")]  # fmt: skip
    if pooled.empty:
        return []
    pooled = pooled.assign(col=pooled["variant"] + ":" + pooled["metric"])
    return [
        figure("shift_probes.png", figs.get("shift_probes.png")),
        "<p>Pooled over each probe's steps (%, bootstrap interval over images): top-1 changes vs "
        "the unshifted image, between consecutive shifts, and the mean change of the top-1 "
        "probability.</p>",
        pivot(pooled, "run", "col", "run"),
    ]


def class_sensitivity_parts(results: Results, figs: dict[str, Path]) -> list[str]:
    """Affected-class counts per transformation / corruption, the class-wise shifts and the
    gallery of the most and least affected classes of each transformation."""
    s = results.summary
    counts = s[s["metric"].str.startswith("classes_")].assign(
        condition=lambda f: f["benchmark"] + ":" + f["variant"]
    )
    shift = s[s["metric"] == "class_shift_p_wilcoxon_adj"].assign(
        condition=lambda f: f["benchmark"] + ":" + f["variant"])  # fmt: skip
    shift_mean = s[s["metric"] == "class_shift_mean"].assign(
        condition=lambda f: f["benchmark"] + ":" + f["variant"]
    )
    return [
        figure("class_sensitivity.png", figs.get("class_sensitivity.png")),
        pivot(counts, "condition", "metric", "transformation / corruption"),
        "<p>Mean class-wise accuracy change per run:</p>" + pivot(shift_mean, "condition", "run") if not shift_mean.empty else "",
        "<p>Wilcoxon signed-rank p (corrected) of the class-wise shift per run:</p>" + pivot(shift, "condition", "run") if not shift.empty else "",
        gallery_html(plan(results.stats.get("seed_ttests", pd.DataFrame()), results.indexes)),
    ]  # fmt: skip


def pairwise_parts(results: Results) -> list[str]:
    """Differences, McNemar and Wilcoxon tests between runs on the same images."""
    s = results.summary
    diffs = s[s["metric"].str.startswith("top1_diff_vs/") & (s["variant"] == "")]
    mcn = s[s["metric"].str.startswith("mcnemar_p_adj_vs/") & (s["variant"] == "")]
    wil = s[s["metric"].str.startswith("wilcoxon_p_adj_vs/") & (s["variant"] == "")]
    label = lambda f: f.assign(pair=f["run"] + " − " + f["metric"].str.split("/", n=1).str[1])  # noqa: E731
    return [
        "<p>Accuracy difference with paired-bootstrap 95 % CI:</p>" + pivot(label(diffs), "pair", "benchmark") if not diffs.empty else "",
        "<p>Exact McNemar p (corrected):</p>" + pivot(label(mcn), "pair", "benchmark") if not mcn.empty else "",
        "<p>Wilcoxon signed-rank p on class-wise accuracy (corrected):</p>" + pivot(label(wil), "pair", "benchmark") if not wil.empty else "",
    ]  # fmt: skip
