"""Report figures, one function per figure; each returns None when the study lacks the data
(a study without ImageNet-P gets no flip-probability figure, not an error)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from shiftlab.atomic import atomic_path
from shiftlab.report.tables import Results

DPI = 110


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        # no Software/date metadata: identical inputs give identical bytes
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return path


def _grid(n: int, width: float = 4.0, height: float = 3.4):
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = _plt().subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def accuracy_scatter(results: Results, path: Path) -> Path | None:
    """Shifted vs clean accuracy per shifted benchmark, with the logit fit and its band."""
    er = results.stats["effective_robustness"]
    if er.empty:
        return None
    band = results.stats["effective_robustness_band"]
    benches = list(dict.fromkeys(er["benchmark"]))
    fig, axes = _grid(len(benches))
    for ax, bench in zip(axes, benches, strict=True):
        points = er[er["benchmark"] == bench]
        line = band[band["benchmark"] == bench] if not band.empty else band
        if not line.empty:
            ax.fill_between(line["clean_acc"], line["low"], line["high"], color="C0", alpha=0.2, lw=0,
                            label="95% bootstrap band")  # fmt: skip
            ax.plot(line["clean_acc"], line["fit"], color="C0", label="logit fit")
        lo = float(np.nanmin([points["clean_acc"].min(), points["shifted_acc"].min()]))
        ax.plot([lo, 1], [lo, 1], ls=":", color="grey", lw=1, label="y = x")
        ax.scatter(points["clean_acc"], points["shifted_acc"], color="C3", zorder=3, s=18)
        for p in points.itertuples():
            ax.annotate(
                p.run,
                (p.clean_acc, p.shifted_acc),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_xlabel(f"accuracy on {points['clean_axis'].iloc[0]}")
        ax.set_ylabel(f"accuracy on {bench}")
        ax.set_title(bench)
        ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def ce_per_corruption(results: Results, path: Path) -> Path | None:
    """Corruption error per corruption (AlexNet-normalised, else vs the baseline run), one bar
    per run; 100 % is the reference model."""
    references = {"ce_alexnet": "AlexNet", "ce_baseline": "baseline run"}
    metric = next((m for m in references if (results.metric(m)["variant"] != "").any()), None)
    if metric is None:
        return None
    reference = references[metric]
    ce = results.metric(metric)
    ce = ce[ce["variant"] != ""]
    table = ce.pivot_table(index="variant", columns="run", values="value", aggfunc="first")
    plt = _plt()
    width = min(14.0, max(5.0, 0.55 * len(table) * max(1, len(table.columns)) / 2))
    fig, ax = plt.subplots(figsize=(width, 3.6))
    table.plot.bar(ax=ax, width=0.8)
    ax.axhline(100.0, color="grey", ls=":", lw=1)
    ax.set_ylabel(f"CE, % ({reference} = 100)")
    ax.set_xlabel("corruption")
    ax.legend(fontsize=7, title="run")
    return _save(fig, path)


def error_vs_severity(results: Results, path: Path) -> Path | None:
    """Top-1 error against severity, averaged over corruptions, one line per run."""
    rows = results.severity_rows()
    if rows.empty:
        return None
    rows = rows.assign(
        error=100.0 - rows["value"].astype(float)
    )  # summary accuracies are in percent
    table = rows.groupby(["benchmark", "run", "severity"])["error"].mean().reset_index()
    benches = list(dict.fromkeys(table["benchmark"]))
    fig, axes = _grid(len(benches))
    for ax, bench in zip(axes, benches, strict=True):
        for run, part in table[table["benchmark"] == bench].groupby("run"):
            ax.plot(part["severity"], part["error"], marker="o", label=run)
        ax.set_xlabel("severity")
        ax.set_ylabel("top-1 error, % (mean over corruptions)")
        ax.set_title(bench)
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7)
    return _save(fig, path)


def flip_probability(results: Results, path: Path) -> Path | None:
    """Flip probability per perturbation sequence, one bar per run."""
    fp = results.metric("fp")
    fp = fp[fp["variant"] != ""]
    if fp.empty:
        return None
    table = fp.pivot_table(index="variant", columns="run", values="value", aggfunc="first")
    fig, ax = _plt().subplots(
        figsize=(max(5.0, 0.5 * len(table) * max(1, len(table.columns)) / 2), 3.6)
    )
    table.plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("flip probability")
    ax.set_xlabel("perturbation")
    ax.legend(fontsize=7, title="run")
    return _save(fig, path)


def class_sensitivity(results: Results, path: Path) -> Path | None:
    """Classes unaffected vs affected per transformation / corruption: the seed count
    (uncorrected t-test) next to the corrected paired count."""
    tested = results.metric("classes_tested")
    if tested.empty:
        return None
    keys = ["benchmark", "variant"]
    table = tested[keys + ["value"]].rename(columns={"value": "tested"})
    for metric in ("classes_affected_seed", "classes_affected_corrected"):
        table = table.merge(
            results.metric(metric)[keys + ["value"]].rename(columns={"value": metric}), on=keys
        )
    labels = [f"{b}:{v}" for b, v in zip(table["benchmark"], table["variant"], strict=True)]
    y = np.arange(len(table))
    fig, ax = _plt().subplots(figsize=(6.5, 0.45 * len(table) + 1.2))
    h = 0.38
    for offset, metric, name, color in ((-h / 2, "classes_affected_seed", "seed (p<α, uncorrected)", "C3"),
                                        (h / 2, "classes_affected_corrected", "paired, corrected", "C1")):  # fmt: skip
        affected = table[metric].astype(float).to_numpy()
        unaffected = table["tested"].astype(float).to_numpy() - affected
        ax.barh(y + offset, affected, h, color=color, label=f"affected: {name}")
        ax.barh(y + offset, unaffected, h, left=affected, color=color, alpha=0.25)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("classes (dark: affected, light: unaffected)")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def reliability(results: Results, path: Path, benchmark: str | None = None) -> Path | None:
    """Reliability diagrams (accuracy vs confidence per bin) on one benchmark, per run."""
    rel = results.stats["reliability"]
    if rel.empty:
        return None
    benches = list(dict.fromkeys(rel["benchmark"]))
    bench = benchmark if benchmark in benches else benches[0]
    rel = rel[rel["benchmark"] == bench]
    runs = list(dict.fromkeys(rel["run"]))
    fig, axes = _grid(len(runs), 3.2, 3.2)
    for ax, run in zip(axes, runs, strict=True):
        part = rel[rel["run"] == run]
        width = (part["bin_high"] - part["bin_low"]).to_numpy()
        ax.bar(part["bin_low"], part["accuracy"], width=width, align="edge", color="C0", edgecolor="white",
               label="accuracy")  # fmt: skip
        ax.bar(part["bin_low"], part["confidence"] - part["accuracy"], bottom=part["accuracy"], width=width,
               align="edge", color="C3", alpha=0.3, label="gap")  # fmt: skip
        ax.plot([0, 1], [0, 1], ls=":", color="grey")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (max softmax)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{run} on {bench}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def ood_confidence(results: Results, path: Path) -> Path | None:
    """ImageNet-O: histograms of the top-1 probability of in-distribution and ImageNet-O
    images, one panel per run (the more they overlap, the lower the AUPR)."""
    hist = results.stats.get("ood_histogram", pd.DataFrame())
    if hist.empty:
        return None
    panels = list(dict.fromkeys(zip(hist["run"], hist["benchmark"], strict=True)))
    fig, axes = _grid(len(panels), 3.4, 2.8)
    for ax, (run, bench) in zip(axes, panels, strict=True):
        part = hist[(hist["run"] == run) & (hist["benchmark"] == bench)]
        for population, color in (("in", "C0"), ("out", "C3")):
            rows = part[part["population"] == population]
            if rows.empty:
                continue
            ax.stairs(100 * rows["fraction"].to_numpy(float),
                      np.append(rows["bin_low"].to_numpy(float), rows["bin_high"].iloc[-1]),
                      color=color, fill=True, alpha=0.35,
                      label="in-distribution" if population == "in" else bench)  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_xlabel("max softmax probability")
        ax.set_ylabel("% of images")
        ax.set_title(run, fontsize=9)
        ax.legend(fontsize=7)
    return _save(fig, path)


def shape_bias(results: Results, path: Path) -> Path | None:
    """Shape bias on cue-conflict stimuli per run, in percent with its interval
    (0 % = all texture decisions, 100 % = all shape decisions)."""
    sb = results.metric("shape_bias", variant="")
    if sb.empty:
        return None
    sb = sb.sort_values("value")
    value = sb["value"].astype(float).to_numpy()
    err = np.abs(
        np.vstack([value - sb["ci_low"].astype(float), sb["ci_high"].astype(float) - value])
    )
    fig, ax = _plt().subplots(figsize=(5.5, 0.4 * len(sb) + 1.2))
    ax.barh(sb["run"] + " (" + sb["benchmark"] + ")", value, color="C2", xerr=np.nan_to_num(err),
            capsize=2)  # fmt: skip
    ax.axvline(50.0, color="grey", ls=":", lw=1)
    ax.set_xlim(0, 100)
    ax.set_xlabel("shape bias, %  (texture 0 ... 100 shape)")
    return _save(fig, path)


def shape_bias_categories(results: Results, path: Path) -> Path | None:
    """Shape bias per shape category of the cue-conflict stimuli, one marker per run
    (model-vs-human's per-category view: which objects are judged by their shape)."""
    sb = results.metric("shape_bias")
    sb = sb[sb["variant"] != ""]
    if sb.empty:
        return None
    categories = sorted(set(sb["variant"]))
    x = {c: i for i, c in enumerate(categories)}
    fig, ax = _plt().subplots(figsize=(7.5, 3.6))
    for i, (run, part) in enumerate(sb.groupby("run", sort=True)):
        ax.plot([x[c] for c in part["variant"]], part["value"].astype(float), "o", ms=4,
                color=f"C{i % 10}", alpha=0.8, label=run)  # fmt: skip
    ax.axhline(50.0, color="grey", ls=":", lw=1)
    ax.set_xticks(range(len(categories)), categories, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(-2, 102)
    ax.set_ylabel("shape decisions, % of shape + texture")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def shift_probes(results: Results, path: Path) -> Path | None:
    """Probability that top-1 differs from the unshifted image, against the shift in pixels:
    one panel per probe, one line per run."""
    rows = results.metric("shift_flip_prob")
    parts = rows["variant"].str.extract(r"^(?P<probe>.+)_(?P<step>\d+)$")
    rows = rows.assign(probe=parts["probe"], step=pd.to_numeric(parts["step"])).dropna(
        subset=["probe"]
    )
    if rows.empty:
        return None
    probes = list(dict.fromkeys(rows["probe"]))
    fig, axes = _grid(len(probes))
    for ax, probe in zip(axes, probes, strict=True):
        for run, part in rows[rows["probe"] == probe].groupby("run"):
            part = part.sort_values("step")
            ax.plot(part["step"], part["value"].astype(float), marker="o", ms=3, label=run)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("shift (pixels from the unshifted image)")
        ax.set_ylabel("P(top-1 changes), %")
        ax.set_title(probe)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    return _save(fig, path)


def training_curves(results: Results, path: Path) -> Path | None:
    """Training loss and accuracy (train and, where recorded, held-out val) per epoch."""
    hist = results.training
    if hist.empty:
        return None
    fig, (loss_ax, acc_ax) = _grid(2)
    for i, (run, part) in enumerate(hist.groupby("run", sort=True)):
        part = part.sort_values("epoch")
        color = f"C{i % 10}"
        loss_ax.plot(part["epoch"], part["loss"], marker="o", ms=3, color=color, label=run)
        acc_ax.plot(part["epoch"], 100 * part["acc"], marker="o", ms=3, color=color, label=run)
        if "val_acc" in part and part["val_acc"].notna().any():
            acc_ax.plot(part["epoch"], 100 * part["val_acc"], ls="--", color=color)
    loss_ax.set_ylabel("training loss")
    acc_ax.set_ylabel("accuracy, % (solid train, dashed val)")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=7)
    return _save(fig, path)


# file name -> (function, title); order = order in the report
FIGURES: dict[str, tuple[Callable[[Results, Path], Path | None], str]] = {
    "accuracy_scatter.png": (accuracy_scatter, "Shifted vs clean accuracy with the logit fit"),
    "ce_per_corruption.png": (ce_per_corruption, "Corruption error per corruption"),
    "error_vs_severity.png": (error_vs_severity, "Error vs severity"),
    "flip_probability.png": (flip_probability, "Flip probability per perturbation"),
    "class_sensitivity.png": (
        class_sensitivity,
        "Class sensitivity per transformation / corruption",
    ),
    "reliability.png": (reliability, "Reliability diagrams"),
    "ood_confidence.png": (
        ood_confidence,
        "ImageNet-O: confidence of in- and out-of-distribution images",
    ),
    "shape_bias.png": (shape_bias, "Shape bias"),
    "shape_bias_categories.png": (shape_bias_categories, "Shape bias per shape category"),
    "shift_probes.png": (shift_probes, "Top-1 changes against the shift, per probe"),
    "training_curves.png": (training_curves, "Training curves of the fine-tuned runs"),
}


def _register_own() -> None:
    from shiftlab.report.repeatability import least_repeatable_figure

    FIGURES["least_repeatable.png"] = (least_repeatable_figure, "Least repeatable capture groups")


def make_figures(
    results: Results, out_dir: Path, clean_benchmark: str | None = None
) -> dict[str, Path]:
    """Draw every figure the data allows; returns name -> path."""
    made = {}
    _register_own()
    for name, (draw, _) in FIGURES.items():
        if draw is reliability:
            path = reliability(results, out_dir / name, clean_benchmark)
        else:
            path = draw(results, out_dir / name)
        if path is not None:
            made[name] = path
    return made
