"""Scored batches gathered as arrays and turned into the predictions table once.

Why not one Python record per image: building a dict per row and then a list per cell
cost ~35 µs a row, about half of what an H100 spends per image on ResNet-50. Here top-k
runs where the probabilities are (on the GPU, without waiting for each batch), results
move to the host a block at a time, and the parquet columns are built from whole arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from shiftlab.evaluate.protocol import Protocol

# Device-side results are moved to the host after this many batches: one synchronisation
# per block instead of one per batch, and bounded device memory on a long job.
BLOCK = 256


class Collector:
    """Top-k labels and probabilities of every scored row, plus what a benchmark needs
    beyond them (cue-conflict: the 16-category probability aggregation)."""

    def __init__(self, proto: Protocol, k: int, wnids: Sequence[str], device: torch.device):
        self.proto = proto
        self.k = min(k, len(proto.class_ids))
        self._ids = torch.as_tensor(proto.class_ids, device=device)
        self._cue = _cue_conflict_columns(proto, wnids) if proto.kind == "cue_conflict" else None
        self._pending: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._ids_host: list[np.ndarray] = []
        self._probs_host: list[np.ndarray] = []
        self._subset16: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._frames: list[np.ndarray] = []
        self._variants: list[str | None] = []

    def add(
        self,
        probs: torch.Tensor,
        rows: Sequence[int] | np.ndarray,
        frames: Sequence[int] | None = None,
        variant: str | None = None,
    ) -> None:
        """One scored batch: ``probs`` (rows x protocol classes, any device) for index
        ``rows``; ``frames`` for video frames (-1 for still images); ``variant`` overrides
        the index's variant (on-the-fly corruption cells)."""
        rows = np.asarray(rows, dtype=np.int64)
        if probs.shape[0] != len(rows):
            raise ValueError(f"{probs.shape[0]} score rows for {len(rows)} index rows")
        top_p, top_i = top_k(probs, self.k)
        self._pending.append((self._ids[top_i], top_p))
        if len(self._pending) >= BLOCK:
            self._to_host()
        if self._cue is not None:
            self._subset16.append(_aggregate16(probs.float().cpu().numpy(), self._cue))
        self._rows.append(rows)
        self._frames.append(
            np.full(len(rows), -1, np.int64) if frames is None else np.asarray(frames, np.int64)
        )
        self._variants.append(variant)

    def _to_host(self) -> None:
        if self._pending:
            # class ids are int64 and softmax probabilities float32 already
            self._ids_host.append(torch.cat([i for i, _ in self._pending]).cpu().numpy())
            self._probs_host.append(torch.cat([p for _, p in self._pending]).cpu().numpy())
            self._pending = []

    def table(self, frame: pd.DataFrame):
        """The predictions table (docs/contracts.md) for rows of index ``frame``, sorted
        by (variant, sample, frame)."""
        import pyarrow as pa

        self._to_host()
        k = self.k
        idx = _cat(self._rows, np.int64)
        ids = np.concatenate(self._ids_host) if self._ids_host else np.empty((0, k), np.int64)
        top_p = (
            np.concatenate(self._probs_host) if self._probs_host else np.empty((0, k), np.float32)
        )
        index_variants = frame["variant"].to_numpy(dtype=object)
        variants = np.concatenate(
            [
                index_variants[r] if v is None else np.full(len(r), v, dtype=object)
                for r, v in zip(self._rows, self._variants, strict=True)
            ]
            or [np.empty(0, dtype=object)]
        )
        out = pd.DataFrame(
            {
                "sample": frame["sample"].to_numpy()[idx],
                "target": frame["target"].to_numpy()[idx].astype(np.int64),
                "wnid": frame["wnid"].to_numpy()[idx],
                "variant": [v if isinstance(v, str) else "" for v in variants],
                "frame": _cat(self._frames, np.int64),
            }
        )
        columns = {
            "topk": _lists(ids, pa.int64()),
            "topk_prob": _lists(top_p, pa.float32()),
            "msp": pa.array(top_p[:, 0] if k else np.empty(0, np.float32), type=pa.float32()),
        }
        if "labels" in frame.columns:
            labels = frame["labels"].to_numpy()
            columns["labels"] = pa.array([list(labels[i]) for i in idx], type=pa.list_(pa.int64()))
        if "group" in frame.columns:  # repeated captures of one object (your own data)
            columns["group"] = pa.array(frame["group"].to_numpy(dtype=object)[idx], pa.string())
        if self._cue is not None:
            agg = np.concatenate(self._subset16) if self._subset16 else np.empty((0, 16))
            columns["probs_subset16"] = _lists(agg.astype(np.float32), pa.float32())
        order = np.lexsort(
            (out["frame"].to_numpy(), out["sample"].to_numpy(), out["variant"].to_numpy())
        )
        table = pa.Table.from_pandas(out, preserve_index=False)
        for name, col in columns.items():
            table = table.append_column(name, col)
        return table.take(pa.array(order))


def top_k(
    probs: torch.Tensor, k: int, full_sort: bool | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k values and columns of each row, equal values in ascending column order.

    torch.topk leaves the order of equal values unspecified (on the CPU it does not keep
    column order), and ties are common under bf16, whose logits carry 8 significant bits.
    On a GPU one stable sort does it without waiting for the device; on the CPU, where a
    full sort costs 40x a top-k, only rows with a tie among the k+1 largest are sorted
    (``full_sort`` picks a way; by default, the device's).
    """
    if full_sort is None:
        full_sort = probs.device.type != "cpu"
    if full_sort:
        values, cols = torch.sort(probs, dim=1, descending=True, stable=True)
        # copies, not views: a kept view would hold the whole sorted batch in memory
        return values[:, :k].clone(), cols[:, :k].clone()
    m = min(k + 1, probs.shape[1])
    values, cols = torch.topk(probs, m, dim=1)
    tied = (values[:, 1:] == values[:, :-1]).any(dim=1).nonzero().flatten()
    if len(tied):
        v, c = torch.sort(probs[tied], dim=1, descending=True, stable=True)
        values[tied], cols[tied] = v[:, :m], c[:, :m]
    return values[:, :k].clone(), cols[:, :k].clone()


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)


def _lists(values: np.ndarray, type_: Any):
    """A rows x width array as a parquet list column (list<item: type>) without a Python
    list per row."""
    import pyarrow as pa

    n, width = values.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), type=type_))


def _cue_conflict_columns(proto: Protocol, wnids: Sequence[str]) -> list[list[int]]:
    """For each of the 16 categories, the probability columns of its classes present in
    the label space (model-vs-human aggregation)."""
    from shiftlab.data.subsets import CUE_CONFLICT_CATEGORIES, cue_conflict_label_space_indices
    from shiftlab.labels import LabelSpace

    members = cue_conflict_label_space_indices(LabelSpace("run", tuple(wnids)))
    position = {int(c): j for j, c in enumerate(proto.class_ids)}
    return [[position[i] for i in members[cat] if i in position] for cat in CUE_CONFLICT_CATEGORIES]


def _aggregate16(probs: np.ndarray, columns: list[list[int]]) -> np.ndarray:
    """Mean probability over each category's classes (rows x 16); NaN for a category
    with no class in the label space."""
    out = np.full((probs.shape[0], len(columns)), np.nan, dtype=np.float32)
    for j, cols in enumerate(columns):
        if cols:
            out[:, j] = probs[:, cols].mean(axis=1)
    return out
