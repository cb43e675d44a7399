"""Aggregate a study: every metric and statistic into summary.csv (with provenance) and
the detailed tables into stats/*.csv.

Statistics are computed from the predictions (per-image correctness), never from rounded
metric values, so each one can be re-derived from files named by their sha256.

Conventions (documented in the report's methods section):
- `run` is `*` for numbers computed across runs; their provenance columns list every
  source file's hashes joined by ';'.
- ImageNet-C seed analyses pool the five severities of a corruption (variant
  `<corruption>`); with `c_per_severity: true` each `<corruption>/<severity>` is tested too.
- Pairwise comparisons pair identical images (same sample, variant, frame); with a
  `baseline_run` every run is compared with it, otherwise every pair is compared.
- Correction families: one per benchmark and condition for class tests; one per benchmark
  and condition for per-run shift tests; one per benchmark for McNemar and for Wilcoxon.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shiftlab.errors import UserError
from shiftlab.stats import bootstrap, effective_robustness, seed_analysis
from shiftlab.stats.c_parity import c_parity_table, parity_into_summary
from shiftlab.stats.correction import METHODS, adjust
from shiftlab.stats.inputs import (
    SUMMARY_COLUMNS,
    Predictions,
    benchmark_kind,
    load_mlflow_ids,
    merge_provenance,
    provenance_of,
    read_metrics,
    read_predictions,
)
from shiftlab.stats.ood_histogram import ood_histogram_table
from shiftlab.stats.paired import mcnemar_exact, wilcoxon_signed_rank

ALL_RUNS = "*"
# Benchmarks whose top-1 accuracy is a natural "shifted accuracy" for effective robustness.
SHIFTED_KINDS = {"imagenet_v2", "imagenet_sketch", "imagenet_a", "imagenet_r", "imagenet_c",
                 "transforms", "folder"}  # fmt: skip
# Benchmarks without per-image correctness against one label (sequences; training data).
NO_PAIRED_KINDS = {"imagenet_p", "imagenet_train"}
SEED_KINDS = {"transforms", "imagenet_c"}
ACCURACY_METRICS = ("top1", "top5")


@dataclass
class StatsConfig:
    """The `stats` section of the study config (plus the benchmark kinds)."""

    alpha: float = 0.05
    correction: str = "holm"
    bootstrap: int = 1000
    seed: int = 0
    baseline_run: str | None = None
    clean_benchmark: str = "val"
    benchmarks: dict[str, Any] = field(default_factory=dict)
    fit_runs: list[str] | None = None
    c_per_severity: bool = False
    reliability_bins: int = 15

    @classmethod
    def from_json(cls, text: str) -> StatsConfig:
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise UserError(f"--stats-json is not valid JSON: {exc}") from None
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise UserError(f"--stats-json: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        cfg = cls(**data)
        if cfg.correction not in METHODS:
            raise UserError(
                f"stats.correction must be one of {', '.join(METHODS)}, not {cfg.correction!r}"
            )
        if not 0 < cfg.alpha < 1:
            raise UserError(f"stats.alpha must lie in (0, 1), not {cfg.alpha}")
        if cfg.bootstrap < 1:
            raise UserError("stats.bootstrap must be a positive number of resamples")
        return cfg


class Summary:
    """Collects summary rows; every row must carry its provenance."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, run: str, benchmark: str, variant: str, metric: str, value: float,
            provenance: dict[str, str], ci: tuple[float, float] = (np.nan, np.nan),
            n: float = np.nan) -> None:  # fmt: skip
        self.rows.append({"run": run, "benchmark": benchmark, "variant": variant, "metric": metric,
                          "value": value, "ci_low": ci[0], "ci_high": ci[1], "n": n, **provenance})  # fmt: skip

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=SUMMARY_COLUMNS)


@dataclass
class Study:
    """The loaded inputs of one aggregation."""

    cfg: StatsConfig
    preds: dict[tuple[str, str], Predictions]
    metrics: pd.DataFrame
    config_sha256: str

    @property
    def runs(self) -> list[str]:
        return sorted({run for run, _ in self.preds})

    @property
    def benchmarks(self) -> list[str]:
        return sorted({bench for _, bench in self.preds})

    def runs_with(self, benchmark: str) -> list[str]:
        return [run for run in self.runs if (run, benchmark) in self.preds]

    def kind(self, benchmark: str) -> str:
        for (_, bench), pred in self.preds.items():
            if bench == benchmark:
                return pred.kind
        return ""

    def provenance(self, keys: list[tuple[str, str]]) -> dict[str, str]:
        return merge_provenance([self.preds[key].provenance for key in keys])


def _class_accuracy(rows: pd.DataFrame) -> pd.Series:
    return rows.groupby("wnid", sort=True)["correct"].mean()


def _conditions(pred: Predictions, per_severity: bool) -> dict[str, np.ndarray]:
    """Condition name -> row mask over `pred.labelled` for the seed analyses."""
    variants = pred.labelled["variant"].to_numpy()
    if pred.kind == "imagenet_c":
        names = pd.unique(pd.Series(variants).str.split("/").str[0])
        conditions = {c: np.char.startswith(variants.astype(str), f"{c}/") for c in sorted(names)}
        if per_severity:
            conditions.update({v: variants == v for v in sorted(set(variants))})
        return conditions
    return {v: variants == v for v in sorted(set(variants)) if v}


def _accuracy_groups(pred: Predictions) -> dict[str, np.ndarray]:
    """Variant label -> mask for accuracy rows: the whole benchmark, each variant, and for
    ImageNet-C each corruption pooled over severities."""
    variants = pred.labelled["variant"].to_numpy().astype(str)
    groups = {"": np.ones(len(variants), dtype=bool)}
    distinct = sorted(set(variants))
    if len(distinct) > 1 or (distinct and distinct[0]):
        groups.update({v: variants == v for v in distinct})
    if pred.kind == "imagenet_c":
        for name in sorted({v.split("/")[0] for v in distinct}):
            groups.setdefault(name, np.char.startswith(variants, f"{name}/"))
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


def seed_tables(study: Study, summary: Summary) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seed t-tests per transformation / corruption, and the per-run Wilcoxon shift tests."""
    cfg = study.cfg
    clean = cfg.clean_benchmark
    tables, wilcoxon_rows = [], []
    for bench in study.benchmarks:
        if study.kind(bench) not in SEED_KINDS:
            continue
        runs = [r for r in study.runs_with(bench) if (r, clean) in study.preds]
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


def _subset_correct(pred: Predictions, subset_targets: np.ndarray) -> np.ndarray:
    """Top-1 correctness on the rows of `subset_targets` classes with predictions masked to
    those classes, from the stored top-k: the first top-k class inside the subset. Exact
    unless none of the top-k lies in the subset (then counted wrong)."""
    labelled = pred.labelled
    rows = labelled.index.to_numpy()
    positions = pred.rows.index.get_indexer(rows)
    topk = pred.topk[positions]
    keep = np.isin(labelled["target"].to_numpy(), subset_targets)
    topk, target = topk[keep], labelled["target"].to_numpy()[keep]
    inside = np.isin(topk, subset_targets)
    first = np.where(inside.any(axis=1), topk[np.arange(len(topk)), inside.argmax(axis=1)], -2)
    return first == target


def effective_robustness_tables(
    study: Study, summary: Summary
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per shifted benchmark: the logit fit over the fit runs, each run's residual and the
    bootstrap band (also on a grid, for the figure)."""
    cfg = study.cfg
    clean = cfg.clean_benchmark
    rows, band_rows = [], []
    for bench in study.benchmarks:
        if bench == clean or study.kind(bench) not in SHIFTED_KINDS:
            continue
        runs = [r for r in study.runs_with(bench) if (r, clean) in study.preds]
        runs = [r for r in runs if not study.preds[(r, bench)].labelled.empty]
        if not runs:
            continue
        shifted_targets = np.unique(
            np.concatenate([study.preds[(r, bench)].labelled["target"].to_numpy() for r in runs])
        )
        clean_targets = np.unique(
            np.concatenate([study.preds[(r, clean)].labelled["target"].to_numpy() for r in runs])
        )
        subset = bool(set(shifted_targets) < set(clean_targets))
        xs, ys, ns = [], [], []
        for r in runs:
            if subset:
                correct = _subset_correct(study.preds[(r, clean)], shifted_targets)
            else:
                correct = study.preds[(r, clean)].labelled["correct"].to_numpy()
            shifted = study.preds[(r, bench)].labelled["correct"].to_numpy()
            xs.append(correct.mean() if correct.size else np.nan)
            ys.append(shifted.mean())
            ns.append(min(correct.size, shifted.size))
        x, y = np.array(xs), np.array(ys)
        eps = 0.5 / max(1, min(ns))  # half an image inside (0, 1): finite logits
        in_fit = np.array([cfg.fit_runs is None or r in cfg.fit_runs for r in runs])
        fit = effective_robustness.fit_logit_line(x[in_fit], y[in_fit], eps)
        axis = f"{clean}-on-{bench}-classes" if subset else clean
        if fit is not None:
            predicted = fit.predict(x, eps)
            low, high = effective_robustness.bootstrap_band(
                x[in_fit], y[in_fit], x, cfg.bootstrap, cfg.seed, eps=eps
            )
            pad = 0.05
            grid = np.linspace(max(eps, x.min() - pad), min(1 - eps, x.max() + pad), 50)
            glow, ghigh = effective_robustness.bootstrap_band(
                x[in_fit], y[in_fit], grid, cfg.bootstrap, cfg.seed, eps=eps
            )
            for gx, gy, gl, gh in zip(grid, fit.predict(grid, eps), glow, ghigh, strict=True):
                band_rows.append(
                    {"benchmark": bench, "clean_acc": gx, "fit": gy, "low": gl, "high": gh}
                )
        else:
            predicted = low = high = np.full(len(runs), np.nan)
        all_keys = [(r, clean) for r in runs] + [(r, bench) for r in runs]
        for i, r in enumerate(runs):
            resid = y[i] - predicted[i]
            rows.append({"benchmark": bench, "run": r, "clean_axis": axis, "clean_acc": x[i], "shifted_acc": y[i],
                         "predicted_acc": predicted[i], "eff_robustness": resid,
                         "ci_low": y[i] - high[i], "ci_high": y[i] - low[i], "in_fit": bool(in_fit[i]),
                         "slope": fit.slope if fit else np.nan, "intercept": fit.intercept if fit else np.nan,
                         "rvalue": fit.rvalue if fit else np.nan, "n_fit": int(in_fit.sum()), "n": ns[i],
                         "eps": eps})  # fmt: skip
            prov = study.provenance(all_keys)  # the line depends on every fit run
            # percentage points, like every accuracy in the summary (the fit is on fractions)
            ci = (100 * (y[i] - high[i]), 100 * (y[i] - low[i]))
            summary.add(r, bench, "", "eff_robustness", 100 * resid, prov, ci, ns[i])
            if subset:
                summary.add(
                    r,
                    bench,
                    "",
                    f"clean_top1/{axis}",
                    100 * x[i],
                    study.provenance([(r, clean)]),
                    n=ns[i],
                )
        if fit is not None:
            prov = study.provenance(all_keys)
            summary.add(ALL_RUNS, bench, "", "eff_robustness_slope", fit.slope, prov, n=fit.n)
            summary.add(
                ALL_RUNS, bench, "", "eff_robustness_intercept", fit.intercept, prov, n=fit.n
            )
    er = pd.DataFrame(rows)
    band = pd.DataFrame(band_rows, columns=["benchmark", "clean_acc", "fit", "low", "high"])
    return er, band


def reliability_table(study: Study) -> pd.DataFrame:
    """Equal-width confidence bins (max softmax probability) with accuracy per bin, the
    data behind reliability diagrams."""
    bins = study.cfg.reliability_bins
    rows = []
    for (run, bench), pred in sorted(study.preds.items()):
        labelled = pred.labelled
        if labelled.empty or pred.kind in NO_PAIRED_KINDS or labelled["msp"].isna().all():
            continue
        conf = labelled["msp"].to_numpy()
        correct = labelled["correct"].to_numpy()
        index = np.clip((conf * bins).astype(int), 0, bins - 1)
        for b in range(bins):
            mask = index == b
            if mask.any():
                rows.append({"run": run, "benchmark": bench, "bin": b, "bin_low": b / bins,
                             "bin_high": (b + 1) / bins, "count": int(mask.sum()),
                             "confidence": conf[mask].mean(), "accuracy": correct[mask].mean()})  # fmt: skip
    return pd.DataFrame(rows, columns=["run", "benchmark", "bin", "bin_low", "bin_high", "count",
                                       "confidence", "accuracy"])  # fmt: skip


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write via a temporary file in the same folder, so readers never see half a table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def load_study(metrics_paths: list[str], prediction_paths: list[str], cfg: StatsConfig,
               config_sha256: str = "", mlflow_ids: str | None = None) -> Study:  # fmt: skip
    ids = load_mlflow_ids(mlflow_ids)
    preds: dict[tuple[str, str], Predictions] = {}
    for path in prediction_paths:
        pred = read_predictions(path)
        key = (pred.run, pred.benchmark)
        if key in preds:
            raise UserError(
                f"two predictions files for run {key[0]!r} on {key[1]!r}: {preds[key].path}, {path}"
            )
        pred.kind = benchmark_kind(pred, cfg.benchmarks)
        pred.provenance = provenance_of(pred, config_sha256, ids)
        preds[key] = pred
    if cfg.baseline_run and preds and cfg.baseline_run not in {r for r, _ in preds}:
        raise UserError(f"stats.baseline_run {cfg.baseline_run!r} is not one of the study's runs")
    return Study(cfg, preds, read_metrics(metrics_paths), config_sha256)


def aggregate(study: Study, out_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Run every analysis and write summary.csv and stats/*.csv under `out_dir`."""
    out_dir = Path(out_dir)
    summary = Summary()
    boot = bootstrap_table(study, summary)
    metrics_into_summary(study, boot, summary)
    seed, shift_wilcoxon = seed_tables(study, summary)
    mcnemar, run_wilcoxon, pairwise = paired_tables(study, summary)
    er, band = effective_robustness_tables(study, summary)
    parity = c_parity_table(study.preds, study.cfg.bootstrap, study.cfg.seed)
    parity_into_summary(parity, study, summary)
    wilcoxon = pd.concat([t for t in (run_wilcoxon, shift_wilcoxon) if not t.empty] or [run_wilcoxon],
                         ignore_index=True)  # fmt: skip
    tables = {
        "stats/seed_ttests.csv": seed,
        "stats/mcnemar.csv": mcnemar,
        "stats/wilcoxon.csv": wilcoxon,
        "stats/pairwise.csv": pairwise,
        "stats/effective_robustness.csv": er,
        "stats/effective_robustness_band.csv": band,
        "stats/bootstrap_ci.csv": boot,
        "stats/reliability.csv": reliability_table(study),
        "stats/ood_histogram.csv": ood_histogram_table(study.preds),
        "stats/c_parity.csv": parity,
    }
    frame = summary.frame()
    missing = frame["predictions_sha256"].fillna("").eq("")
    if missing.any():
        first = frame[missing].iloc[0]
        raise UserError(
            f"summary row without provenance: {first.run} {first.benchmark} {first.metric}"
        )
    tables["summary.csv"] = frame
    for name, table in tables.items():
        write_csv_atomic(table, out_dir / name)
    return tables
