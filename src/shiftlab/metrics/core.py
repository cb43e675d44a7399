"""The pieces every benchmark kind shares: reading predictions, the metric row shape, the
options a kind gets, and the kind registry (`register_kind`, timm-registry style).

Each kind lives in its own module under `shiftlab.metrics.kinds` and registers itself on
import; `compute_metrics` dispatches on the benchmark entry's `kind`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics.accuracy import as_topk_array
from shiftlab.metrics.intervals import clopper_pearson

Row = dict[str, Any]
# A row computed from another input than the benchmark's own predictions names that input
# here (an `Options` field, e.g. "clean"), so the metrics CSV records the sha256 of the file
# the number was computed from.
SOURCE = "source"


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
    # the kind modules register themselves on import: importing their package here makes the
    # registry complete whichever module was imported first
    import shiftlab.metrics.kinds  # noqa: F401

    kind = opts.bench.get("kind")
    if kind not in _KINDS:
        raise UserError(
            f"no metrics for benchmark kind {kind!r}; known: {', '.join(sorted(_KINDS))}"
        )
    if len(preds.frame) == 0:
        raise UserError(f"{preds.path}: no predictions")
    return _KINDS[kind](preds, opts)


def aligned_positions(keys: np.ndarray, other: np.ndarray) -> np.ndarray | None:
    """Position in `other` of each of `keys`, when both list the same items (the same images
    or videos: a baseline or clean set is then resampled jointly with the run)."""
    if len(keys) != len(other) or set(keys.tolist()) != set(other.tolist()):
        return None
    pos = {k: i for i, k in enumerate(other.tolist())}
    return np.array([pos[k] for k in keys.tolist()], dtype=np.int64)
