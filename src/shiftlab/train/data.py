"""Training/validation data from a dataset index (docs/contracts.md) and the data order.

The order of an epoch is a pure function of (seed, epoch): a resumed run recomputes it and
skips to its position instead of storing it. Each sample's augmentation is seeded by
(seed, epoch, index), so workers and ranks need no shared RNG.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from shiftlab.errors import UserError
from shiftlab.labels import LabelSpace

log = logging.getLogger(__name__)


def _root(meta: dict[str, Any], index_path: Path) -> Path:
    root = Path(meta["root"])
    if not root.is_absolute() and not root.exists() and (index_path.parent / root).exists():
        root = index_path.parent / root
    return root


class IndexDataset:
    """Map-style dataset over an index. Keys are (sample index, epoch); items are
    (view tensors tuple, target)."""

    def __init__(
        self,
        index_path: str | Path,
        space: LabelSpace,
        transform: Callable[..., tuple[Any, ...]],
        seed: int,
    ) -> None:
        from shiftlab.data import read_index

        frame, meta = read_index(index_path)
        self.root = _root(meta, Path(index_path))
        targets = np.asarray([space.index(w) for w in frame["wnid"]], dtype=np.int64)
        keep = targets >= 0
        if not keep.all():
            log.warning(
                "%s: %d samples are outside label space %s and are skipped",
                index_path,
                int((~keep).sum()),
                space.name,
            )
        self.samples = [str(s) for s, k in zip(frame["sample"], keep, strict=True) if k]
        self.targets = targets[keep]
        if not self.samples:
            raise UserError(
                f"dataset index {index_path} has no samples in label space {space.name}"
            )
        self.transform = transform
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.samples)

    def rng(self, index: int, epoch: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 7, epoch, index])

    def __getitem__(self, key: tuple[int, int] | int) -> tuple[tuple[Any, ...], int]:
        from PIL import Image

        from shiftlab.corrupt.imageio import load_rgb

        index, epoch = key if isinstance(key, tuple) else (key, 0)
        # the decoder of evaluation and corruption, so all three see the same pixels
        img = Image.fromarray(load_rgb(self.root / self.samples[index], min_side=1).pixels)
        return self.transform(img, self.rng(index, epoch)), int(self.targets[index])


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of sample indices for one epoch."""
    return np.random.default_rng([seed, 11, epoch]).permutation(n)


class MicroBatches:
    """Batch sampler: this rank's micro-batches from optimizer step `start` to the end of
    the epoch. Step s covers order[s*B:(s+1)*B] (B = global batch); micro-batch a of rank r
    is its chunk a*world + r. An incomplete last global batch is dropped so every rank
    always sees equal-sized micro-batches."""

    def __init__(
        self,
        n: int,
        seed: int,
        epoch: int,
        global_batch: int,
        accum: int,
        world: int,
        rank: int,
        start: int = 0,
    ) -> None:
        self.order = epoch_order(n, seed, epoch)
        self.epoch, self.global_batch, self.accum = epoch, global_batch, accum
        self.world, self.rank, self.start = world, rank, start
        self.micro = global_batch // (accum * world)
        self.steps = n // global_batch

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.steps):
            batch = self.order[step * self.global_batch : (step + 1) * self.global_batch]
            for a in range(self.accum):
                c = a * self.world + self.rank
                chunk = batch[c * self.micro : (c + 1) * self.micro]
                yield [(int(i), self.epoch) for i in chunk]

    def __len__(self) -> int:
        return max(0, self.steps - self.start) * self.accum


def collate(items: list[tuple[tuple[Any, ...], int]]) -> tuple[Any, Any]:
    """-> (views stacked as [n_views, B, C, H, W], targets [B])."""
    import torch

    views = torch.stack([torch.stack(v) for v, _ in items], dim=1)
    return views, torch.as_tensor([t for _, t in items], dtype=torch.long)


def _ignore_preemption_signals(_: int) -> None:
    """Workers leave SIGTERM/SIGUSR1 to the main process, which saves state and then
    shuts them down; a worker dying first would abort the save."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)


def make_loader(dataset: Any, batch_sampler: Any, options: dict[str, Any] | int) -> Any:
    """A DataLoader that never touches the global torch RNG (it would shift dropout etc.
    between an uninterrupted and a resumed run). `options`: worker count, or the keyword
    arguments of shiftlab.train.feed.loader_options."""
    import torch
    from torch.utils.data import DataLoader

    opts = {"num_workers": options} if isinstance(options, int) else dict(options)
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(0),
        worker_init_fn=_ignore_preemption_signals if opts["num_workers"] else None,
        **opts,
    )


class _NoRng:
    """Adapts a deterministic transform to the (img, rng) signature (picklable for workers)."""

    def __init__(self, transform: Callable) -> None:
        self.transform = transform

    def __call__(self, img: Any, rng: np.random.Generator) -> tuple[Any, ...]:
        return (self.transform(img),)


class EvalDataset:
    """Validation images with the model's eval preprocessing; keys are plain indices."""

    def __init__(self, index_path: str | Path, space: LabelSpace, transform: Callable) -> None:
        self.inner = IndexDataset(index_path, space, _NoRng(transform), seed=0)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> tuple[tuple[Any, ...], int]:
        return self.inner[(index, 0)]
