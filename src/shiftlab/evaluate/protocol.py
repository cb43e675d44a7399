"""Per-benchmark evaluation protocol: which classes a model is scored over, and how images
are prepared. Declared here once so every run is evaluated the same, official way."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ImageNet-C/P images are already at the model's resolution: never resize them
# (hendrycks test.py; up-sampling them is a known anchor mistake).
NO_RESIZE_KINDS = {"imagenet_c", "tiny_imagenet_c", "imagenet_p"}
# Class-subset benchmarks: softmax/argmax over the subset only, like the official code.
SUBSET_KINDS = {"imagenet_a", "imagenet_r", "imagenet_o"}


@dataclass(frozen=True)
class Protocol:
    """How one benchmark is evaluated in a given label space."""

    kind: str
    resize: bool
    class_ids: np.ndarray  # label-space indices scored over, ascending
    subset_wnids: tuple[str, ...]  # non-empty for class-subset benchmarks

    @property
    def masked(self) -> bool:
        return bool(self.subset_wnids)


def protocol_for(
    kind: str, label_wnids: list[str], index_wnids: list[str], full: bool = False
) -> Protocol:
    """Protocol of a benchmark: the mask is the benchmark's own class folders that exist in
    the label space (A/R/O: their 200 wnids), in ascending label-space order."""
    n = len(label_wnids)
    if kind in SUBSET_KINDS and not full:
        lookup = {w: i for i, w in enumerate(label_wnids)}
        present = sorted({lookup[w] for w in index_wnids if w in lookup})
        if not present:
            raise ValueError(f"no class of this {kind} benchmark is in the run's label space")
        ids = np.asarray(present, dtype=np.int64)
        return Protocol(kind, True, ids, tuple(label_wnids[i] for i in ids))
    return Protocol(kind, kind not in NO_RESIZE_KINDS, np.arange(n, dtype=np.int64), ())
