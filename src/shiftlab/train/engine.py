"""One epoch of training and one pass of evaluation, each returning a metric dict.

Kept free of checkpointing and process management (that is loop.py) so it reads as the
maths of a step: forward every view, the recipe's loss, accumulate, step.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab.train.recipes import Recipe


@dataclass
class EpochStats:
    """Running sums of an epoch (saved in the resume state so history survives a restart)."""

    loss_sum: float = 0.0
    correct: float = 0.0
    seen: float = 0.0
    seconds: float = 0.0
    lr: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def jensen_shannon(logits: list[torch.Tensor]) -> torch.Tensor:
    """Mean KL of each view's distribution to their mixture (AugMix's consistency term)."""
    probs = [F.softmax(x.float(), dim=1) for x in logits]
    log_mix = torch.clamp(sum(probs) / len(probs), 1e-7, 1.0).log()
    return sum(F.kl_div(log_mix, p, reduction="batchmean") for p in probs) / len(probs)


def recipe_loss(
    recipe: Recipe, model: nn.Module, views: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, clean logits). `views` is [V, B, C, H, W]; all views go through the model in
    one batch (as the AugMix reference does), so BatchNorm sees them together."""
    n_views, batch = views.shape[:2]
    logits = model(views.flatten(0, 1)).float()
    parts = list(logits.split(batch))
    loss = F.cross_entropy(parts[0], target, label_smoothing=recipe["label_smoothing"])
    if recipe.loss == "jsd":
        loss = loss + recipe["jsd_weight"] * jensen_shannon(parts)
    elif recipe.loss == "stability":
        kl = F.kl_div(F.log_softmax(parts[1], 1), F.softmax(parts[0], 1), reduction="batchmean")
        loss = loss + recipe["stability_weight"] * kl
    return loss, parts[0]


def autocast(device: str, bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16)


def train_one_epoch(
    model: nn.Module,
    recipe: Recipe,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    device: str,
    steps: int,
    accum: int = 1,
    start_step: int = 0,
    stats: EpochStats | None = None,
    bf16: bool = False,
    channels_last: bool = False,
    after_step: Callable[[int, EpochStats, float], bool] | None = None,
) -> tuple[EpochStats, bool]:
    """Train optimizer steps `start_step`..`steps`-1 of an epoch.

    `batches` yields `accum` micro-batches per step. `after_step(step_done, stats, loss)`
    runs after every optimizer step; returning True stops the epoch early (preemption).
    Returns (stats, stopped_early).
    """
    stats = stats or EpochStats()
    model.train()
    it = iter(batches)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for step in range(start_step, steps):
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        step_loss = 0.0
        for a in range(accum):
            views, target = next(it)
            views = views.to(device, non_blocking=True)
            target = target.to(device, non_blocking=True)
            if channels_last:
                v, b = views.shape[:2]
                views = views.flatten(0, 1).contiguous(memory_format=fmt).unflatten(0, (v, b))
            # DDP: only the last micro-batch of a step all-reduces gradients
            sync = a == accum - 1 or not hasattr(model, "no_sync")
            with contextlib.nullcontext() if sync else model.no_sync():
                with autocast(device, bf16):
                    loss, clean = recipe_loss(recipe, model, views, target)
                (loss / accum).backward()
            n = target.shape[0]
            step_loss += float(loss.detach()) / accum
            stats.loss_sum += float(loss.detach()) * n
            stats.correct += float((clean.argmax(1) == target).sum())
            stats.seen += n
        stats.lr = float(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
        stats.seconds += time.perf_counter() - t0
        if after_step is not None and after_step(step + 1, stats, step_loss):
            return stats, True
    return stats, False


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    device: str,
    bf16: bool = False,
    channels_last: bool = False,
) -> dict[str, float]:
    """Summed loss/correct/count on this process's share of the data (the caller reduces)."""
    model.eval()
    loss_sum = correct = seen = 0.0
    for views, target in batches:
        x = views[0].to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        target = target.to(device)
        with autocast(device, bf16):
            logits = model(x).float()
        loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += float((logits.argmax(1) == target).sum())
        seen += target.shape[0]
    return {"loss_sum": loss_sum, "correct": correct, "seen": seen}
