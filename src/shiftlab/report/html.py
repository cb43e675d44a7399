"""One self-contained report.html: inline CSS, base64 PNGs, no scripts and no external
requests, so it opens from a mail attachment or an archive exactly as it was written.

Every number is a link to its provenance entry `#s<N>`, where N is the number's row in
summary.csv (the same N `shiftlab audit summary.csv --row N` takes).
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from shiftlab.report.figures import FIGURES
from shiftlab.report.tables import Results
from shiftlab.report.training import training_table

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:1100px;margin:0 auto;padding:1.5em 2em 4em}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #d8dde6;padding-bottom:.2em}
nav a{margin-right:1em} .meta{color:#5a6475}
table{border-collapse:collapse;margin:.8em 0;font-size:13px;background:#fff}
th,td{border:1px solid #d8dde6;padding:.25em .55em;text-align:right;white-space:nowrap}
th{background:#eef1f6} td.l,th.l{text-align:left}
td a{color:#1a4fa0;text-decoration:none} td a:hover{text-decoration:underline}
.ci{color:#6b7482;font-size:11px} .sig{font-weight:600}
figure{margin:1em 0;background:#fff;border:1px solid #d8dde6;padding:.6em}
figure img{max-width:100%;height:auto;display:block} figcaption{color:#5a6475;font-size:12px}
.wide{overflow-x:auto} .prov{font:11px/1.3 ui-monospace,monospace} .prov td{text-align:left;vertical-align:top}
.prov td.h{white-space:normal;word-break:break-all;max-width:28em}
tr:target{background:#fff4c2}
.methods p{max-width:52em}
"""

METHODS = """
<p><b>Intervals.</b> Proportions of images (top-1/top-5 accuracy, error per ImageNet-C cell,
flip rate of one shift step, shape bias) carry exact 95&nbsp;% Clopper&ndash;Pearson intervals.
Numbers derived from many images at once (CE, mCE, mFR, mT5D, AUPR, calibration errors,
pooled shift-probe rates) carry 95&nbsp;% percentile bootstrap intervals over images (videos
for ImageNet-P; {bootstrap} resamples, seed {seed}). Percentages are shown with one decimal,
p-values with three significant digits.</p>
<p><b>Seed analyses, reproduced.</b> For each transformation (and each ImageNet-C corruption,
severities pooled) and each class, a two-sided Student t-test compares the class's accuracy across
the study's runs on clean images (control, benchmark <code>{clean}</code>) with its accuracy under
the transformation (experimental). A class counts as affected when p&nbsp;&lt;&nbsp;{alpha},
uncorrected, as in the seed studies. Per run, a t-test compares class-wise accuracies without and
with the transformation.</p>
<p><b>Done right.</b> The same runs see both conditions, so the per-class test is paired (paired
t-test over runs) and the family of class tests of one transformation is corrected with
{correction_name}; per run, the class-wise shift is tested with the Wilcoxon signed-rank test
(corrected across runs). Runs compared on identical images use the exact McNemar test on
per-image correctness, the Wilcoxon signed-rank test on class-wise accuracies (both corrected per
benchmark) and a paired bootstrap interval of the accuracy difference (images resampled jointly).
{pairs}</p>
<p><b>Effective robustness</b> (Taori et al. 2020). Per shifted benchmark, a line is fitted by least
squares to logit(shifted accuracy) against logit(clean accuracy) over the study's runs; a run's
effective robustness is its shifted accuracy minus the line's prediction at its clean accuracy
(in accuracy units). For class-subset benchmarks (ImageNet-A/R) the clean axis is accuracy on
the clean images of those classes with predictions restricted to them. The band is the 95&nbsp;%
percentile band of lines refitted to runs resampled with replacement; accuracies of 0 or 1 are
moved half an image inside the interval before the logit.</p>
<p><b>Provenance.</b> Every number links to its row in <code>summary.csv</code>, which names the
checkpoint, dataset fingerprint, predictions file (sha256), config (sha256), code version and
tracking run; numbers derived from several files list all their hashes, separated by
<code>;</code>. <code>shiftlab audit summary.csv --row N</code> re-derives row N.</p>
"""

CORRECTIONS = {"holm": "Holm's step-down method (family-wise error)",
               "bh": "the Benjamini-Hochberg procedure (false discovery rate)",
               "none": "no correction"}  # fmt: skip


def _e(value) -> str:
    return html.escape(str(value), quote=True)


# Columns of stats tables that hold counts.
COUNTS = ("n", "count", "cells", "epochs", "n_classes")
# Summary metrics in percent or percentage points that are not in the metrics registry.
PERCENT_METRICS = ("eff_robustness", "top1_diff_vs/", "clean_top1/")


def _unit(metric: str) -> str:
    from shiftlab.metrics.registry import get_metric

    try:
        return get_metric(metric).unit
    except KeyError:
        return "%" if metric.startswith(PERCENT_METRICS) else ""


def _fmt(metric: str, value) -> str:
    """One format per kind of number: p-values 3 significant digits, counts whole, percent
    with one decimal, anything else (slopes, positions) with three."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if math.isnan(x):
        return "–"
    if "_p" in metric or metric.startswith("p_"):
        return f"{x:.3g}"
    unit = _unit(metric)
    if (
        metric.startswith("classes_")
        or metric.endswith("_flagged")
        or metric in COUNTS
        or unit == "images"
    ):
        return f"{x:.0f}"
    if unit == "%":
        return f"{x:.1f}"
    return f"{x:.3f}"


def number(row: pd.Series) -> str:
    """A value linked to its provenance row, with its interval when it has one."""
    text = _fmt(row["metric"], row["value"])
    ci = ""
    if pd.notna(row.get("ci_low")) and pd.notna(row.get("ci_high")):
        ci = f' <span class="ci">[{_fmt(row["metric"], row["ci_low"])}, {_fmt(row["metric"], row["ci_high"])}]</span>'
    p_metric = "_p" in str(row["metric"])
    cls = (
        ' class="sig"' if p_metric and pd.notna(row["value"]) and float(row["value"]) < 0.05 else ""
    )
    return f'<a href="#s{int(row["row"])}"{cls} title="summary.csv row {int(row["row"])}">{text}</a>{ci}'


def pivot(rows: pd.DataFrame, index: str, columns: str, index_label: str | None = None) -> str:
    """A table of linked numbers: one row per `index` value, one column per `columns` value."""
    if rows.empty:
        return ""
    index_values = list(dict.fromkeys(rows[index]))
    column_values = list(dict.fromkeys(rows[columns]))
    cells = {(r[index], r[columns]): number(r) for _, r in rows.iterrows()}
    head = f'<th class="l">{_e(index_label or index)}</th>' + "".join(
        f"<th>{_e(c)}</th>" for c in column_values
    )
    body = "".join(
        f'<tr><td class="l">{_e(i)}</td>'
        + "".join(f"<td>{cells.get((i, c), '')}</td>" for c in column_values)
        + "</tr>"
        for i in index_values
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def plain_table(frame: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> str:
    """A table of values from a stats CSV (figure data and details, not summary numbers)."""
    if frame.empty:
        return ""
    head = "".join(
        f'<th class="{"l" if c in text_columns else ""}">{_e(c)}</th>' for c in frame.columns
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td class="l">{_e(v)}</td>' if c in text_columns else f"<td>{_fmt(c, v)}</td>"
            for c, v in zip(frame.columns, row, strict=True)
        ) + "</tr>"
        for row in frame.itertuples(index=False)
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(name: str, path: Path | None) -> str:
    if path is None or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    title = FIGURES[name][1]
    return (f'<figure id="fig-{_e(Path(name).stem)}"><img alt="{_e(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(title)} (<code>figures/{_e(name)}</code>)</figcaption></figure>")  # fmt: skip


def _section(anchor: str, title: str, parts: list[str]) -> tuple[str, str] | None:
    body = "".join(p for p in parts if p)
    if not body:
        return None
    return anchor, f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


# The names the metrics code writes (shiftlab.metrics.compute / probes); AlexNet first.
CE_METRICS = ("ce_alexnet", "ce_baseline")
MCE_METRICS = ("mce_alexnet", "relative_mce_alexnet", "mce_baseline", "relative_mce_baseline",
               "mean_error_19", "mean_error")  # fmt: skip
OOD_METRICS = ("aupr", "auroc", "fpr95")
PROBE_METRICS = ("shift_flip_prob", "shift_flip_prob_consecutive", "shift_prob_change", "shift_msp")


def _corruption_parts(results: Results, figs: dict[str, Path]) -> list[str]:
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


def _parity_parts(results: Results) -> list[str]:
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


def _probe_parts(results: Results, figs: dict[str, Path]) -> list[str]:
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


def _sections(results: Results, figs: dict[str, Path]) -> list[tuple[str, str]]:
    s = results.summary
    out = []
    top1 = results.metric("top1", variant="")
    out.append(_section("accuracy", "Accuracy (top-1, %, 95 % Clopper–Pearson interval)", [
        pivot(top1, "run", "benchmark"),
    ]))  # fmt: skip
    er = s[s["metric"] == "eff_robustness"]
    slope = s[s["metric"] == "eff_robustness_slope"]
    out.append(_section("effective-robustness", "Effective robustness", [
        figure("accuracy_scatter.png", figs.get("accuracy_scatter.png")),
        pivot(er, "run", "benchmark"),
        "<p>Slope of the logit fit per benchmark:</p>" + pivot(slope, "run", "benchmark") if not slope.empty else "",
    ]))  # fmt: skip
    out.append(_section("corruptions", "Common corruptions", _corruption_parts(results, figs)))
    out.append(_section("c-parity", "ImageNet-C: reference vs regenerated", _parity_parts(results)))
    fp = s[s["metric"].isin(["fp", "t5d"]) & (s["variant"] != "")]
    flips = s[s["metric"].isin(["mfr", "mt5d"]) & (s["variant"] == "")]
    out.append(_section("perturbations", "Perturbation stability", [
        figure("flip_probability.png", figs.get("flip_probability.png")),
        pivot(fp[fp["metric"] == "fp"], "run", "variant", "run \\ perturbation (FP)"),
        pivot(fp[fp["metric"] == "t5d"], "run", "variant", "run \\ perturbation (T5D)"),
        pivot(flips, "run", "metric"),
    ]))  # fmt: skip
    out.append(
        _section("shift-probes", "Shift probes (1-pixel shifts)", _probe_parts(results, figs))
    )
    counts = s[s["metric"].str.startswith("classes_")].assign(
        condition=lambda f: f["benchmark"] + ":" + f["variant"]
    )
    shift = s[s["metric"] == "class_shift_p_wilcoxon_adj"].assign(
        condition=lambda f: f["benchmark"] + ":" + f["variant"])  # fmt: skip
    shift_mean = s[s["metric"] == "class_shift_mean"].assign(
        condition=lambda f: f["benchmark"] + ":" + f["variant"]
    )
    out.append(_section("class-sensitivity", "Class sensitivity (seed analyses)", [
        figure("class_sensitivity.png", figs.get("class_sensitivity.png")),
        pivot(counts, "condition", "metric", "transformation / corruption"),
        "<p>Mean class-wise accuracy change per run:</p>" + pivot(shift_mean, "condition", "run") if not shift_mean.empty else "",
        "<p>Wilcoxon signed-rank p (corrected) of the class-wise shift per run:</p>" + pivot(shift, "condition", "run") if not shift.empty else "",
    ]))  # fmt: skip
    diffs = s[s["metric"].str.startswith("top1_diff_vs/") & (s["variant"] == "")]
    mcn = s[s["metric"].str.startswith("mcnemar_p_adj_vs/") & (s["variant"] == "")]
    wil = s[s["metric"].str.startswith("wilcoxon_p_adj_vs/") & (s["variant"] == "")]
    label = lambda f: f.assign(pair=f["run"] + " − " + f["metric"].str.split("/", n=1).str[1])  # noqa: E731
    out.append(_section("pairwise", "Pairwise comparisons (same images)", [
        "<p>Accuracy difference with paired-bootstrap 95 % CI:</p>" + pivot(label(diffs), "pair", "benchmark") if not diffs.empty else "",
        "<p>Exact McNemar p (corrected):</p>" + pivot(label(mcn), "pair", "benchmark") if not mcn.empty else "",
        "<p>Wilcoxon signed-rank p on class-wise accuracy (corrected):</p>" + pivot(label(wil), "pair", "benchmark") if not wil.empty else "",
    ]))  # fmt: skip
    if results.recipes:
        table = training_table(results.training, results.recipes)
        out.append(_section("fine-tuning", "Fine-tuning", [
            figure("training_curves.png", figs.get("training_curves.png")),
            "<p>Last epoch of each fine-tuned run (train/&lt;run&gt;/history.csv), and the "
            "ImageNet-C corruptions its recipe trained on: a run that saw a test corruption has "
            "no held-out mCE.</p>",
            plain_table(table, ("run", "recipe", "corruptions trained on", "test corruptions")),
        ]))  # fmt: skip
    calib = s[s["metric"].isin(["ece", "rms_calibration_error"]) & (s["variant"] == "")]
    calib = calib.assign(col=calib["benchmark"] + ":" + calib["metric"])
    out.append(_section("calibration", "Calibration", [
        figure("reliability.png", figs.get("reliability.png")), pivot(calib, "run", "col", "run"),
    ]))  # fmt: skip
    ood = s[s["metric"].isin(OOD_METRICS) & (s["variant"] == "")]
    ood = ood.assign(col=ood["benchmark"] + ":" + ood["metric"])
    out.append(_section("ood", "Out-of-distribution detection (ImageNet-O positive)", [
        figure("ood_confidence.png", figs.get("ood_confidence.png")), pivot(ood, "run", "col", "run"),
    ]))  # fmt: skip
    sb = results.metric("shape_bias", variant="")
    out.append(_section("shape-bias", "Shape bias", [
        figure("shape_bias.png", figs.get("shape_bias.png")), pivot(sb, "run", "benchmark"),
        figure("shape_bias_categories.png", figs.get("shape_bias_categories.png")),
    ]))  # fmt: skip
    shown = {"top1", "eff_robustness", "eff_robustness_slope", *CE_METRICS, *MCE_METRICS, "fp",
             "t5d", "mfr", "mt5d", *PROBE_METRICS, *OOD_METRICS, "c_parity_cells_flagged", "ece", "rms_calibration_error", "shape_bias",
             "class_shift_mean", "class_shift_p_wilcoxon_adj"}  # fmt: skip
    other = s[(s["variant"] == "") & ~s["metric"].isin(shown) & (s["run"] != "*")
              & ~s["metric"].str.contains("/")]  # fmt: skip
    other = other.assign(col=other["benchmark"] + ":" + other["metric"])
    out.append(_section("other-metrics", "Other metrics", [pivot(other, "run", "col", "run")]))
    return [x for x in out if x]


def provenance_table(summary: pd.DataFrame) -> str:
    """One row per summary row, id `s<N>`: what the number is and the hashes behind it."""
    cols = ["run", "benchmark", "variant", "metric", "value", "checkpoint_sha256", "dataset_fingerprint",
            "predictions_sha256", "config_sha256", "code_version", "mlflow_run_id"]  # fmt: skip
    head = "<th>N</th>" + "".join(f"<th>{_e(c)}</th>" for c in cols)
    rows = []
    for r in summary.itertuples(index=False):
        d = r._asdict()
        cells = "".join(
            f'<td class="h">{"<br>".join(_e(x) for x in str(d[c]).split(";"))}</td>' if c.endswith(("sha256", "fingerprint"))
            else f"<td>{_fmt(d['metric'], d[c]) if c == 'value' else _e(d[c])}</td>"
            for c in cols
        )  # fmt: skip
        rows.append(f'<tr id="s{d["row"]}"><td>{d["row"]}</td>{cells}</tr>')
    return (
        f'<div class="wide"><table class="prov"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def render(
    results: Results, figs: dict[str, Path], study: str, stats_cfg: dict | None = None
) -> str:
    """The whole report as one HTML string."""
    cfg = {"bootstrap": "?", "seed": "?", "clean_benchmark": "val", "alpha": 0.05, "correction": "holm",
           "baseline_run": None, **(stats_cfg or {})}  # fmt: skip
    pairs = (f"Runs are compared with the baseline run <code>{_e(cfg['baseline_run'])}</code>."
             if cfg.get("baseline_run") else "Every pair of runs is compared.")  # fmt: skip
    methods = METHODS.format(bootstrap=_e(cfg["bootstrap"]), seed=_e(cfg["seed"]), clean=_e(cfg["clean_benchmark"]),
                             alpha=_e(cfg["alpha"]), correction_name=CORRECTIONS.get(cfg["correction"], _e(cfg["correction"])),
                             pairs=pairs)  # fmt: skip
    sections = _sections(results, figs)
    sections.append(
        ("methods", f'<section id="methods" class="methods"><h2>Methods</h2>{methods}</section>')
    )
    sections.append(("provenance", '<section id="provenance"><h2>Provenance (summary.csv rows)</h2>'
                     + provenance_table(results.summary) + "</section>"))  # fmt: skip
    s = results.summary
    runs = sorted(set(s["run"]) - {"*"})
    benches = sorted(set(s["benchmark"]))
    configs = sorted({c for v in s.get("config_sha256", []) for c in str(v).split(";") if c})
    codes = sorted({c for v in s.get("code_version", []) for c in str(v).split(";") if c})
    nav = "".join(f'<a href="#{a}">{_e(a.replace("-", " "))}</a>' for a, _ in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>shiftlab report: {_e(study)}</title><style>{CSS}</style></head>
<body><main>
<h1>Robustness study <code>{_e(study)}</code></h1>
<p class="meta">{len(runs)} runs ({_e(", ".join(runs))}); benchmarks {_e(", ".join(benches))};
{len(s)} reported numbers. Config sha256 {_e(", ".join(configs) or "–")}; code {_e(", ".join(codes) or "–")}.</p>
<nav>{nav}</nav>
{"".join(body for _, body in sections)}
</main></body></html>
"""
