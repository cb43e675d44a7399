"""Predictions file(s) -> tidy metrics rows for one benchmark.

One function per benchmark kind, registered by kind name. Each returns rows
`{variant, metric, value, ci_low, ci_high, n}`; the `metrics` command adds run, benchmark and
the predictions hash. Proportions and ratios are reported in percent (units and interval
methods per metric: `shiftlab.metrics.registry`). Intervals are 95 % unless `alpha` says
otherwise; bootstrap intervals resample images (videos for ImageNet-P) with a fixed seed, and
resample a baseline's or the clean set's predictions jointly when they cover the same images.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics import calibration, corruption, ood, perturbation
from shiftlab.metrics.accuracy import as_topk_array
from shiftlab.metrics.classwise import class_accuracy
from shiftlab.metrics.intervals import bootstrap_ci, clopper_pearson
from shiftlab.metrics.real import real_hits
from shiftlab.metrics.registry import MetricInfo, add_metric
from shiftlab.metrics.shape_bias import (
    CATEGORIES16,
    cue_conflict_categories,
    shape_texture_counts,
)

Row = dict[str, Any]
# A row computed from another input than the benchmark's own predictions names that input
# here (an `Options` field, e.g. "clean"), so the metrics CSV records the sha256 of the file
# the number was computed from.
SOURCE = "source"

for _info in [
    MetricInfo(
        "top1_clean_subset",
        "%",
        "clopper-pearson",
        "clean val top-1 on the benchmark's subset classes, masked to the subset",
    ),
    MetricInfo("real_excluded", "images", "none", "images with an empty ReaL label set (n = all)"),
    MetricInfo(
        "aupr_fullspace_in", "%", "bootstrap", "AUPR; in-distribution MSP over the full space"
    ),
    MetricInfo(
        "auroc_fullspace_in", "%", "bootstrap", "AUROC; in-distribution MSP over the full space"
    ),
    MetricInfo(
        "fpr95_fullspace_in", "%", "bootstrap", "FPR95; in-distribution MSP over the full space"
    ),
]:
    add_metric(_info)
ACCURACY_KINDS = (
    "imagenet_train", "imagenet_val", "imagenet_v2", "imagenet_sketch",
    "imagenet_a", "imagenet_r", "folder", "transforms", "tiny_imagenet",
)  # fmt: skip


@dataclass
class Predictions:
    """A predictions parquet: the rows (pandas) and the `shiftlab` metadata record."""

    frame: Any  # pandas, RangeIndex (labels are row positions), without the `topk` column
    topk: np.ndarray  # (rows, k) top-k classes, best first
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def rows(self, selection: Any) -> np.ndarray:
        """Top-k lists of a selection of the frame (a sub-frame or a boolean mask)."""
        index = selection.index if hasattr(selection, "index") else np.flatnonzero(selection)
        return self.topk[np.asarray(index)]

    def image_keys(self) -> np.ndarray:
        """Sample path without its variant prefix: the same image across corruption cells."""
        out = []
        samples, variants = self.frame["sample"].tolist(), self.frame["variant"].tolist()
        for sample, variant in zip(samples, variants, strict=True):
            prefix = f"{variant}/" if variant else ""
            out.append(sample[len(prefix) :] if prefix and sample.startswith(prefix) else sample)
        return np.asarray(out, dtype=object)


def read_predictions(path: str | Path) -> Predictions:
    """Read a predictions parquet and its `shiftlab` metadata (docs/contracts.md)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise UserError(f"predictions file not found: {path}")
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(b"shiftlab")
    meta = json.loads(raw) if raw else {}
    missing = [c for c in ("sample", "target", "variant", "topk") if c not in table.column_names]
    if missing:
        raise UserError(f"{path}: predictions lack columns {', '.join(missing)}")
    topk = _list_column(table.column("topk"))
    # list columns other than ReaL's label sets are not needed row-wise: keep pandas light
    drop = [c for c in ("topk", "topk_prob") if c in table.column_names]
    frame = table.drop_columns(drop).to_pandas()
    if "wnid" not in frame.columns:
        frame["wnid"] = ""
    frame["variant"] = frame["variant"].fillna("").astype(str)
    return Predictions(frame, topk, meta, str(path))


def _list_column(column: Any) -> np.ndarray:
    """A list<int> arrow column as a (rows, k) array, cut to the shortest row's k."""
    import pyarrow.compute as pc

    column = column.combine_chunks()
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths == lengths[0]).all() and column.null_count == 0:
        return column.flatten().to_numpy().astype(np.int64).reshape(len(lengths), int(lengths[0]))
    return as_topk_array(column.to_pylist(), 1)


def _meta_lookup(meta: dict[str, Any], *keys: str) -> Any:
    """First value for any of `keys` at the top level or in the record's params/model/extra."""
    places = [meta]
    for sub in ("params", "model", "extra", "subset"):
        if isinstance(meta.get(sub), dict):
            places.append(meta[sub])
            if isinstance(meta[sub].get("model"), dict):
                places.append(meta[sub]["model"])
    for place in places:
        for key in keys:
            if key in place and place[key] is not None:
                return place[key]
    return None


def label_space_size(meta: dict[str, Any]) -> int | None:
    """Number of classes of the run's label space, from the predictions metadata."""
    value = _meta_lookup(meta, "label_space_size", "num_classes", "wnids", "label_space")
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, dict):
        return label_space_size(value)
    if value == "imagenet1k":
        return 1000
    return None


def subset_wnids(meta: dict[str, Any]) -> list[str] | None:
    value = _meta_lookup(meta, "subset_wnids")
    return list(value) if value else None


# --------------------------------------------------------------------------- rows


def proportion_row(variant: str, metric: str, k: int, n: int, alpha: float) -> Row:
    """k successes of n trials -> percent with a Clopper-Pearson interval."""
    low, high = clopper_pearson(k, n, alpha)
    value = 100.0 * k / n if n else float("nan")
    return metric_row(variant, metric, value, 100.0 * low, 100.0 * high, n)


def metric_row(variant: str, metric: str, value: float, low: float, high: float, n: int) -> Row:
    return {
        "variant": variant,
        "metric": metric,
        "value": float(value),
        "ci_low": float(low),
        "ci_high": float(high),
        "n": int(n),
    }


@dataclass
class Options:
    """Inputs beyond the benchmark's own predictions."""

    bench: dict[str, Any]
    clean: Predictions | None = None
    baseline: Predictions | None = None
    baseline_clean: Predictions | None = None
    reps: int = 1000
    seed: int = 0
    alpha: float = 0.05


_KINDS: dict[str, Callable[[Predictions, Options], list[Row]]] = {}


def register_kind(*kinds: str) -> Callable:
    """Decorator: the function computes the metrics of these benchmark kinds."""

    def wrap(fn: Callable[[Predictions, Options], list[Row]]) -> Callable:
        for kind in kinds:
            if kind in _KINDS:
                warnings.warn(f"benchmark kind {kind!r} registered twice", stacklevel=2)
            _KINDS[kind] = fn
        return fn

    return wrap


def compute_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """All metric rows of one benchmark (dispatch on `opts.bench['kind']`)."""
    kind = opts.bench.get("kind")
    if kind not in _KINDS:
        raise UserError(
            f"no metrics for benchmark kind {kind!r}; known: {', '.join(sorted(_KINDS))}"
        )
    if len(preds.frame) == 0:
        raise UserError(f"{preds.path}: no predictions")
    return _KINDS[kind](preds, opts)


# --------------------------------------------------------------------------- accuracy kinds


def _calibration_rows(variant: str, conf: np.ndarray, ok: np.ndarray, opts: Options) -> list[Row]:
    def stat(idx: list[np.ndarray]) -> np.ndarray:
        c, o = conf[idx[0]], ok[idx[0]]
        return np.array(
            [calibration.expected_calibration_error(c, o), calibration.rms_calibration_error(c, o)]
        )

    point = stat([np.arange(conf.size)])
    low, high = bootstrap_ci(stat, [conf.size], opts.reps, opts.seed, opts.alpha)
    low, high = np.broadcast_to(low, 2), np.broadcast_to(high, 2)
    names = ("ece", "rms_calibration_error")
    return [
        metric_row(variant, m, 100 * point[i], 100 * low[i], 100 * high[i], conf.size)
        for i, m in enumerate(names)
    ]


def _accuracy_group_rows(variant: str, preds: Predictions, group: Any, opts: Options) -> list[Row]:
    topk = preds.rows(group)
    target = group["target"].to_numpy()
    hit1 = topk[:, 0] == target
    rows = [proportion_row(variant, "top1", int(hit1.sum()), hit1.size, opts.alpha)]
    if topk.shape[1] >= 5:
        hit5 = (topk[:, :5] == target[:, None]).any(axis=1)
        rows.append(proportion_row(variant, "top5", int(hit5.sum()), hit5.size, opts.alpha))
    if "msp" in group.columns:
        conf = np.clip(group["msp"].to_numpy(dtype=np.float64), 0.0, 1.0)
        rows += _calibration_rows(variant, conf, hit1.astype(np.float64), opts)
    classes = group["wnid"].astype(str).to_numpy()
    for wnid, (k, n) in class_accuracy(classes, hit1).items():
        rows.append(proportion_row(variant, f"class_acc/{wnid}", k, n, opts.alpha))
    return rows


def _masked_top1_hits(topk: np.ndarray, target: np.ndarray, allowed: set[int]) -> np.ndarray:
    """Top-1 over a class subset from full-space top-k lists (the official 200-way masking).

    Exact: the masked top-1 is the best-ranked subset class; if no subset class is in the
    stored top-k, the target (a subset class) is not either, so the prediction is wrong.
    """
    hits = np.zeros(len(target), dtype=bool)
    for i, (row, t) in enumerate(zip(topk, target, strict=True)):
        first = next((c for c in row.tolist() if c in allowed), None)
        hits[i] = first == t
    return hits


def _clean_subset_rows(preds: Predictions, opts: Options) -> list[Row]:
    """Clean val restricted to the benchmark's subset classes (A/R comparators, `top1_clean_subset`)."""
    wnids = subset_wnids(preds.meta)
    if opts.clean is None or not wnids:
        return []
    clean = opts.clean.frame
    keep = clean["wnid"].isin(set(wnids)).to_numpy()
    if not keep.any():
        return []
    # subset class indices in the label space: the targets the benchmark's rows use per wnid
    space = dict(zip(preds.frame["wnid"], preds.frame["target"], strict=True))
    space.update(dict(zip(clean["wnid"][keep], clean["target"][keep], strict=True)))
    allowed = {int(space[w]) for w in wnids if w in space and int(space[w]) >= 0}
    topk = opts.clean.rows(keep)
    target = clean["target"][keep].to_numpy()
    hits = _masked_top1_hits(topk, target, allowed)
    row = proportion_row("", "top1_clean_subset", int(hits.sum()), hits.size, opts.alpha)
    return [row | {SOURCE: "clean"}]


@register_kind(*ACCURACY_KINDS, "imagenet_real")
def accuracy_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """top-1/top-5, calibration and class-wise accuracy per variant and overall."""
    frame = preds.frame
    rows = _accuracy_group_rows("", preds, frame, opts)
    variants = sorted(frame["variant"].unique())
    if len(variants) > 1:
        for variant in variants:
            rows += _accuracy_group_rows(variant, preds, frame[frame["variant"] == variant], opts)
    kind = opts.bench.get("kind")
    if kind in ("imagenet_a", "imagenet_r"):
        rows += _clean_subset_rows(preds, opts)
    if kind == "imagenet_real":
        rows += real_metrics(preds, opts)
    if kind == "transforms":
        from shiftlab.metrics.probes import probe_metrics  # imports this module

        rows += probe_metrics(preds, opts)
    return rows


def real_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """ReaL top-1/top-5 (empty label sets excluded; `real_excluded` counts them)."""
    frame = preds.frame
    if "labels" not in frame.columns:
        raise UserError(f"{preds.path}: imagenet_real predictions need a `labels` column")
    topk = preds.topk
    labels = [list(x) if x is not None else [] for x in frame["labels"]]
    rows = []
    for k in (1, 5):
        if topk.shape[1] >= k:
            hits = real_hits(topk, labels, k)
            rows.append(proportion_row("", f"real_top{k}", int(hits.sum()), hits.size, opts.alpha))
    excluded = sum(1 for x in labels if len(x) == 0)
    rows.append(metric_row("", "real_excluded", excluded, np.nan, np.nan, len(labels)))
    return rows


# --------------------------------------------------------------------------- ImageNet-C


def _split_cell(variant: str) -> tuple[str, int]:
    name, _, sev = variant.rpartition("/")
    if not name or not sev.isdigit():
        raise UserError(f"ImageNet-C variant {variant!r} is not 'corruption/severity'")
    return name, int(sev)


@dataclass
class _ErrorMatrix:
    """Top-1 errors as images x (corruption, severity) cells, for paired bootstrap."""

    keys: np.ndarray
    cells: list[tuple[str, int]]
    err: np.ndarray  # (images, cells), nan where an image is missing from a cell

    def errors(self, weights: np.ndarray | None = None) -> dict[str, dict[int, float]]:
        if weights is None:
            weights = np.ones(len(self.keys))
        present = ~np.isnan(self.err)
        num = weights @ np.where(present, self.err, 0.0)
        den = weights @ present
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = num / den
        out: dict[str, dict[int, float]] = {}
        for (name, sev), rate in zip(self.cells, rates, strict=True):
            out.setdefault(name, {})[sev] = float(rate)
        return out


def _error_matrix(preds: Predictions) -> _ErrorMatrix:
    import pandas as pd

    frame = preds.frame
    variants, variant_code = np.unique(frame["variant"].to_numpy(dtype=str), return_inverse=True)
    cells = [_split_cell(v) for v in variants]
    key_code, keys = pd.factorize(preds.image_keys(), sort=True)
    err = np.full((len(keys), len(cells)), np.nan)
    err[key_code, variant_code] = preds.topk[:, 0] != frame["target"].to_numpy()
    return _ErrorMatrix(np.asarray(keys, dtype=object), cells, err)


def _clean_errors(clean: Predictions | None) -> tuple[np.ndarray, np.ndarray] | None:
    if clean is None:
        return None
    wrong = (clean.topk[:, 0] != clean.frame["target"].to_numpy()).astype(np.float64)
    return clean.image_keys(), wrong


def _aligned_positions(keys: np.ndarray, other: np.ndarray) -> np.ndarray | None:
    """Position in `other` of each of `keys`, when both list the same items."""
    if len(keys) != len(other) or set(keys.tolist()) != set(other.tolist()):
        return None
    pos = {k: i for i, k in enumerate(other.tolist())}
    return np.array([pos[k] for k in keys.tolist()], dtype=np.int64)


def corruption_metrics_from(
    run: _ErrorMatrix,
    clean: tuple[np.ndarray, np.ndarray] | None,
    base: _ErrorMatrix | None,
    base_clean: tuple[np.ndarray, np.ndarray] | None,
    imagenet1k: bool,
    weights: np.ndarray | None = None,
    positions: dict[int, np.ndarray | None] | None = None,
) -> dict[tuple[str, str], float]:
    """(variant, metric) -> value (percent) of every ImageNet-C aggregate, for given weights.

    `weights` are bootstrap counts over the run's images; they carry over to the clean and
    baseline predictions that cover the same images (`positions` memoises that alignment).
    """
    positions = {} if positions is None else positions
    w = np.ones(len(run.keys)) if weights is None else weights
    errors = run.errors(w)
    out: dict[tuple[str, str], float] = {}

    def carried(keys: np.ndarray) -> np.ndarray:
        if weights is None:
            return np.ones(len(keys))
        if id(keys) not in positions:
            positions[id(keys)] = _aligned_positions(keys, run.keys)
        pos = positions[id(keys)]
        return w[pos] if pos is not None else np.ones(len(keys))

    clean_err = None
    if clean is not None:
        cw = carried(clean[0])
        clean_err = float(cw @ clean[1] / cw.sum())
    complete = all(c in errors for c in corruption.TEST_CORRUPTIONS)
    if imagenet1k:
        for name in corruption.TEST_CORRUPTIONS:
            if name in errors:
                out[(name, "ce_alexnet")] = corruption.corruption_error(name, errors)
        if complete:
            out[("", "mce_alexnet")] = corruption.mce(errors)
            if clean_err is not None:
                out[("", "relative_mce_alexnet")] = corruption.relative_mce(errors, clean_err)
    if base is not None:
        bw = carried(base.keys)
        base_errors = base.errors(bw)
        for name in errors:
            if name in base_errors:
                out[(name, "ce_baseline")] = corruption.corruption_error(name, errors, base_errors)
        if complete:
            out[("", "mce_baseline")] = corruption.mce(errors, base_errors)
            if clean_err is not None and base_clean is not None:
                bcw = carried(base_clean[0])
                b_clean = float(bcw @ base_clean[1] / bcw.sum())
                out[("", "relative_mce_baseline")] = corruption.relative_mce(
                    errors, clean_err, base_errors, b_clean
                )
    names = sorted(errors)
    label = "mean_error_19" if set(corruption.ALL_CORRUPTIONS) <= set(names) else "mean_error"
    out[("", label)] = 100.0 * corruption.mean_error(errors, names)
    return out


@register_kind("imagenet_c", "tiny_imagenet_c")
def imagenet_c_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """Error per cell; CE per corruption; mCE / relative mCE (AlexNet and/or baseline); mean error."""
    run = _error_matrix(preds)
    counts = (~np.isnan(run.err)).sum(axis=0)
    rows = []
    for j, (name, sev) in enumerate(run.cells):
        col = run.err[:, j]
        col = col[~np.isnan(col)]
        rows.append(
            proportion_row(
                f"{name}/{sev}", "error", int(round(col.sum())), int(counts[j]), opts.alpha
            )
        )
    imagenet1k = label_space_size(preds.meta) == 1000
    base = _error_matrix(opts.baseline) if opts.baseline is not None else None
    clean, base_clean = _clean_errors(opts.clean), _clean_errors(opts.baseline_clean)
    if not all(c in run.errors() for c in corruption.TEST_CORRUPTIONS):
        print(
            "shiftlab metrics: not all 15 test corruptions present; mCE not reported",
            file=sys.stderr,
        )
    point = corruption_metrics_from(run, clean, base, base_clean, imagenet1k)
    keys = list(point)

    positions: dict[int, np.ndarray | None] = {}

    def stat(idx: list[np.ndarray]) -> np.ndarray:
        w = np.bincount(idx[0], minlength=len(run.keys)).astype(np.float64)
        values = corruption_metrics_from(run, clean, base, base_clean, imagenet1k, w, positions)
        return np.array([values.get(k, np.nan) for k in keys])

    low, high = bootstrap_ci(stat, [len(run.keys)], opts.reps, opts.seed, opts.alpha)
    low, high = np.broadcast_to(low, len(keys)), np.broadcast_to(high, len(keys))
    for i, (variant, metric) in enumerate(keys):
        n = (
            len(run.keys)
            if variant == ""
            else int(counts[[c[0] == variant for c in run.cells]].sum())
        )
        rows.append(metric_row(variant, metric, point[(variant, metric)], low[i], high[i], n))
    return rows


# --------------------------------------------------------------------------- ImageNet-P


def _per_video(preds: Predictions, stride_for: Callable[[str], tuple[bool, int]]) -> dict[str, Any]:
    """perturbation -> (video keys, per-video FP, per-video T5D or None)."""
    frame = preds.frame
    if "frame" not in frame.columns:
        raise UserError(f"{preds.path}: ImageNet-P predictions need a `frame` column")
    topk = preds.topk
    out = {}
    for variant, group in frame.groupby("variant", sort=True):
        noise, stride = stride_for(variant)
        keys, fps, t5ds = [], [], []
        for sample, video in group.sort_values("frame").groupby("sample", sort=True):
            ranks = topk[video.index.to_numpy()]
            keys.append(sample)
            fps.append(perturbation.per_video_flips([ranks[:, 0]], noise, stride)[0])
            if ranks.shape[1] >= 5:
                t5ds.append(perturbation.per_video_top5_distance([ranks], noise, stride)[0])
        out[variant] = (
            np.asarray(keys, dtype=object),
            np.asarray(fps),
            np.asarray(t5ds) if t5ds else None,
        )
    return out


@register_kind("imagenet_p")
def imagenet_p_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """FP and T5D per perturbation; unnormalised means; mFR / mT5D vs a baseline run."""
    difficulty = int(opts.bench.get("difficulty", 1))

    def stride_for(variant: str) -> tuple[bool, int]:
        noise = perturbation.is_noise(variant)
        return noise, 1 if noise else difficulty

    run = _per_video(preds, stride_for)
    base = _per_video(opts.baseline, stride_for) if opts.baseline is not None else None
    variants = sorted(run)
    tested = [
        v for v in variants if perturbation.base_perturbation(v) in perturbation.TEST_PERTURBATIONS
    ]
    averaged = tested or variants
    sizes = [len(run[v][0]) for v in variants]
    # run video i -> position of the same video in the baseline (None: different videos)
    pairing = {v: _aligned_positions(run[v][0], base[v][0]) for v in variants if base and v in base}

    def values(idx: list[np.ndarray] | None) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        fp, t5 = {}, {}
        for j, v in enumerate(variants):
            keys, f, t = run[v]
            sel = idx[j] if idx is not None else np.arange(len(keys))
            fp[v] = float(np.nanmean(f[sel]))
            if t is not None:
                t5[v] = float(np.nanmean(t[sel]))
            out[(v, "fp")] = 100 * fp[v]
            if t is not None:
                out[(v, "t5d")] = t5[v]
        out[("", "mean_fp")] = 100 * float(np.mean([fp[v] for v in averaged]))
        if all(v in t5 for v in averaged):
            out[("", "mean_t5d")] = float(np.mean([t5[v] for v in averaged]))
        if base is not None and all(v in base for v in averaged):
            bfp, bt5 = {}, {}
            for j, v in enumerate(variants):
                if v not in base:
                    continue
                bkeys, bf, bt = base[v]
                sel = np.arange(len(bkeys))
                if idx is not None and pairing.get(v) is not None:
                    sel = pairing[v][idx[j]]  # same videos: paired resampling
                bfp[v] = float(np.nanmean(bf[sel]))
                if bt is not None:
                    bt5[v] = float(np.nanmean(bt[sel]))
            out[("", "mfr")] = perturbation.mfr({v: fp[v] for v in averaged}, bfp)
            if all(v in t5 and v in bt5 for v in averaged):
                out[("", "mt5d")] = perturbation.mt5d({v: t5[v] for v in averaged}, bt5)
        return out

    point = values(None)
    keys = list(point)
    low, high = bootstrap_ci(
        lambda idx: np.array([values(idx).get(k, np.nan) for k in keys]),
        sizes,
        opts.reps,
        opts.seed,
        opts.alpha,
    )
    low, high = np.broadcast_to(low, len(keys)), np.broadcast_to(high, len(keys))
    rows = []
    for i, (variant, metric) in enumerate(keys):
        n = len(run[variant][0]) if variant else sum(len(run[v][0]) for v in averaged)
        rows.append(metric_row(variant, metric, point[(variant, metric)], low[i], high[i], n))
    return rows


# --------------------------------------------------------------------------- ImageNet-O


@register_kind("imagenet_o")
def imagenet_o_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """AUPR / AUROC / FPR95 with ImageNet-O positive, score = -MSP over O's classes."""
    frame = preds.frame
    if "msp" not in frame.columns:
        raise UserError(f"{preds.path}: imagenet_o predictions need an `msp` column")
    is_out = frame["target"].to_numpy() < 0
    out_scores = -frame["msp"].to_numpy(float)[is_out]
    suffix = ""
    if (~is_out).any():  # in-distribution half predicted in the same file, over O's subset
        in_scores = -frame["msp"].to_numpy(float)[~is_out]
    elif opts.clean is not None:
        wnids = subset_wnids(preds.meta)
        if not wnids:
            raise UserError(
                f"{preds.path}: metadata lacks `subset_wnids` (ImageNet-O's 200 classes)"
            )
        clean = opts.clean.frame
        keep = clean["wnid"].isin(set(wnids)).to_numpy()
        in_scores = -clean["msp"].to_numpy(float)[keep]
        if sorted(subset_wnids(opts.clean.meta) or []) != sorted(wnids):
            # MSP over the full label space, not softmax over O's 200 classes as the official code
            suffix = "_fullspace_in"
            print(
                "shiftlab metrics: clean predictions are not masked to ImageNet-O's classes; "
                f"reporting OOD metrics with suffix {suffix}",
                file=sys.stderr,
            )
    else:
        raise UserError("imagenet_o needs the in-distribution half: pass --clean-predictions (val)")
    if in_scores.size == 0 or out_scores.size == 0:
        raise UserError("imagenet_o: empty in- or out-of-distribution set")

    def stat(idx: list[np.ndarray]) -> np.ndarray:
        i, o = in_scores[idx[0]], out_scores[idx[1]]
        return np.array([ood.aupr(i, o), ood.auroc(i, o), ood.fpr_at_95_tpr(i, o)])

    point = stat([np.arange(in_scores.size), np.arange(out_scores.size)])
    low, high = bootstrap_ci(
        stat, [in_scores.size, out_scores.size], opts.reps, opts.seed, opts.alpha
    )
    low, high = np.broadcast_to(low, 3), np.broadcast_to(high, 3)
    n = in_scores.size + out_scores.size
    return [
        metric_row("", m + suffix, 100 * point[i], 100 * low[i], 100 * high[i], n)
        for i, m in enumerate(("aupr", "auroc", "fpr95"))
    ]


# --------------------------------------------------------------------------- cue-conflict


@register_kind("cue_conflict")
def cue_conflict_metrics(preds: Predictions, opts: Options) -> list[Row]:
    """Shape bias from the 16-class decisions (`probs_subset16` argmax)."""
    frame = preds.frame
    if "probs_subset16" not in frame.columns:
        raise UserError(f"{preds.path}: cue_conflict predictions need `probs_subset16`")
    probs = np.stack([np.asarray(p, dtype=np.float64) for p in frame["probs_subset16"]])
    if probs.shape[1] != len(CATEGORIES16):
        raise UserError(f"probs_subset16 has {probs.shape[1]} columns, expected 16")
    # NaN marks a category with no class in the label space: it can never be the decision
    # (a plain argmax would pick the NaN).
    decision = np.asarray(CATEGORIES16, dtype=object)[
        np.nan_to_num(probs, nan=-np.inf).argmax(axis=1)
    ]
    shape, texture = zip(*(cue_conflict_categories(s) for s in frame["sample"]), strict=True)
    k, n = shape_texture_counts(shape, texture, decision)
    rows = [proportion_row("", "shape_bias", k, n, opts.alpha)]
    # per shape category (variant = category): where the bias comes from
    shape, texture = np.asarray(shape, dtype=object), np.asarray(texture, dtype=object)
    for category in CATEGORIES16:
        sel = shape == category
        k, n = shape_texture_counts(shape[sel], texture[sel], decision[sel])
        if n:
            rows.append(proportion_row(category, "shape_bias", k, n, opts.alpha))
    return rows
