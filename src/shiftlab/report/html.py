"""One self-contained report.html: inline CSS, base64 PNGs, one inline script (sortable,
filterable tables) and no external requests, so it opens from a mail attachment or an archive
exactly as it was written.

Every number is a link to its provenance entry `#s<N>`, where N is the number's row in
summary.csv (the same N `shiftlab audit summary.csv --row N` takes). The page carries the
entries of the numbers it shows; summary.csv and per_class.parquet hold every number.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shiftlab.report import interactive
from shiftlab.report.cells import escape, figure, format_value, pivot, plain_table
from shiftlab.report.repeatability import REPEAT_METRICS, repeatability_parts
from shiftlab.report.sections import (
    CE_METRICS,
    MCE_METRICS,
    OOD_METRICS,
    PROBE_METRICS,
    class_sensitivity_parts,
    corruption_parts,
    pairwise_parts,
    parity_parts,
    probe_parts,
)
from shiftlab.report.tables import Results
from shiftlab.report.training import training_table
from shiftlab.report.zoo import zoo_parts

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
.galleries{display:flex;flex-wrap:wrap;gap:0 2em} .gallery h3{font-size:1em;margin:1.2em 0 .2em} .gallery td{vertical-align:middle}
.gallery td.pair{padding:.2em} .gallery img{display:inline-block;margin:0 1px;vertical-align:middle}
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
<code>;</code>. The provenance table below lists the numbers this page shows; every reported
number is in <a href="summary.csv">summary.csv</a>, per-class detail (class-wise accuracies) in
<a href="per_class.parquet">per_class.parquet</a>. <code>shiftlab audit summary.csv</code>
re-derives every number of both files and of <code>stats/*.csv</code>; <code>--row N</code>
audits row N.</p>
"""

CORRECTIONS = {"holm": "Holm's step-down method (family-wise error)",
               "bh": "the Benjamini-Hochberg procedure (false discovery rate)",
               "none": "no correction"}  # fmt: skip


def _section(anchor: str, title: str, parts: list[str]) -> tuple[str, str] | None:
    body = "".join(p for p in parts if p)
    if not body:
        return None
    return anchor, f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


# The names the metrics code writes (shiftlab.metrics.compute / probes); AlexNet first.
def _sections(results: Results, figs: dict[str, Path]) -> list[tuple[str, str]]:
    s = results.summary
    out = []
    top1 = results.metric("top1", variant="")
    out.append(_section("accuracy", "Accuracy (top-1, %, 95 % Clopper–Pearson interval)", [
        pivot(top1, "run", "benchmark"),
    ]))  # fmt: skip
    out.append(_section("zoo-check", "Zoo check (pretrained runs vs published figures)",
                        zoo_parts(results)))  # fmt: skip
    er = s[s["metric"] == "eff_robustness"]
    slope = s[s["metric"] == "eff_robustness_slope"]
    out.append(_section("effective-robustness", "Effective robustness", [
        figure("accuracy_scatter.png", figs.get("accuracy_scatter.png")),
        pivot(er, "run", "benchmark"),
        "<p>Slope of the logit fit per benchmark:</p>" + pivot(slope, "run", "benchmark") if not slope.empty else "",
    ]))  # fmt: skip
    out.append(_section("corruptions", "Common corruptions", corruption_parts(results, figs)))
    out.append(_section("c-parity", "ImageNet-C: reference vs regenerated", parity_parts(results)))
    fp = s[s["metric"].isin(["fp", "t5d"]) & (s["variant"] != "")]
    # mFR / mT5D, per difficulty when the study has several (variants `difficulty_<d>`)
    flips = s[s["metric"].isin(["mfr", "mt5d", "mean_fp"])
              & ((s["variant"] == "") | s["variant"].str.startswith("difficulty_"))]  # fmt: skip
    flips = flips.assign(col=flips["metric"] + flips["variant"].map(lambda v: f" {v}" if v else ""))
    out.append(_section("perturbations", "Perturbation stability", [
        figure("flip_probability.png", figs.get("flip_probability.png")),
        pivot(fp[fp["metric"] == "fp"], "run", "variant", "run \\ perturbation (FP)"),
        pivot(fp[fp["metric"] == "t5d"], "run", "variant", "run \\ perturbation (T5D)"),
        pivot(flips, "run", "col", "run"),
    ]))  # fmt: skip
    out.append(
        _section("shift-probes", "Shift probes (1-pixel shifts)", probe_parts(results, figs))
    )
    out.append(
        _section(
            "class-sensitivity",
            "Class sensitivity (seed analyses)",
            class_sensitivity_parts(results, figs),
        )
    )
    out.append(_section("pairwise", "Pairwise comparisons (same images)", pairwise_parts(results)))
    out.append(_section("repeatability", "Repeatability (repeated captures)", repeatability_parts(results, figs)))  # fmt: skip
    if results.recipes:
        table = training_table(results.training, results.recipes)
        out.append(_section("fine-tuning", "Fine-tuning", [
            figure("training_curves.png", figs.get("training_curves.png")),
            "<p>Last epoch of each fine-tuned run (checkpoints/&lt;run&gt;/history.csv), and the "
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
             "t5d", "mfr", "mt5d", "mean_fp", *PROBE_METRICS, *OOD_METRICS, "c_parity_cells_flagged", "ece", "rms_calibration_error", "shape_bias",
             "class_shift_mean", "class_shift_p_wilcoxon_adj", *REPEAT_METRICS}  # fmt: skip
    other = s[(s["variant"] == "") & ~s["metric"].isin(shown) & (s["run"] != "*")
              & ~s["metric"].str.contains("/")]  # fmt: skip
    other = other.assign(col=other["benchmark"] + ":" + other["metric"])
    out.append(_section("other-metrics", "Other metrics", [pivot(other, "run", "col", "run")]))
    return [x for x in out if x]


# Leading hex digits of a hash shown in the provenance table (summary.csv has them whole).
HASH_SHOWN = 16


def provenance_table(summary: pd.DataFrame) -> str:
    """One row per summary row, id `s<N>`: what the number is and the hashes behind it
    (their first HASH_SHOWN digits: enough to tell files apart and to search summary.csv)."""
    cols = ["run", "benchmark", "variant", "metric", "value", "checkpoint_sha256", "dataset_fingerprint",
            "predictions_sha256", "config_sha256", "code_version", "mlflow_run_id"]  # fmt: skip
    head = "<th>N</th>" + "".join(f"<th>{escape(c)}</th>" for c in cols)
    rows = []
    for r in summary.itertuples(index=False):
        d = r._asdict()
        cells = "".join(
            f'<td class="h">{"<br>".join(escape(x[:HASH_SHOWN]) for x in str(d[c]).split(";"))}</td>' if c.endswith(("sha256", "fingerprint"))
            else f"<td>{format_value(d['metric'], d[c]) if c == 'value' else escape(d[c])}</td>"
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
    pairs = (f"Runs are compared with the baseline run <code>{escape(cfg['baseline_run'])}</code>."
             if cfg.get("baseline_run") else "Every pair of runs is compared.")  # fmt: skip
    methods = METHODS.format(bootstrap=escape(cfg["bootstrap"]), seed=escape(cfg["seed"]), clean=escape(cfg["clean_benchmark"]),
                             alpha=escape(cfg["alpha"]), correction_name=CORRECTIONS.get(cfg["correction"], escape(cfg["correction"])),
                             pairs=pairs)  # fmt: skip
    sections = _sections(results, figs)
    sections.append(
        ("methods", f'<section id="methods" class="methods"><h2>Methods</h2>{methods}</section>')
    )
    shown = interactive.linked_rows("".join(body for _, body in sections))
    provenance = provenance_table(results.summary[results.summary["row"].isin(shown)])
    sections.append(("provenance", '<section id="provenance"><h2>Provenance (summary.csv rows '
                     f'shown here; all {len(results.summary)} in <a href="summary.csv">summary.csv'
                     "</a>)</h2>" + provenance + "</section>"))  # fmt: skip
    s = results.summary
    runs = sorted(set(s["run"]) - {"*"})
    benches = sorted(set(s["benchmark"]))
    configs = sorted({c for v in s.get("config_sha256", []) for c in str(v).split(";") if c})
    codes = sorted({c for v in s.get("code_version", []) for c in str(v).split(";") if c})
    nav = "".join(f'<a href="#{a}">{escape(a.replace("-", " "))}</a>' for a, _ in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>shiftlab report: {escape(study)}</title><style>{CSS}{interactive.CSS}</style></head>
<body><main>
<h1>Robustness study <code>{escape(study)}</code></h1>
<p class="meta">{len(runs)} runs ({escape(", ".join(runs))}); benchmarks {escape(", ".join(benches))};
{len(s)} reported numbers. Config sha256 {escape(", ".join(configs) or "–")}; code {escape(", ".join(codes) or "–")}.</p>
<nav>{nav}</nav>
{"".join(body for _, body in sections)}
</main><script>{interactive.SCRIPT}</script></body></html>
"""
