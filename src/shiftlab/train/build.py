"""The parts of a fine-tuning run, built from its config: model, optimizer, lr schedule.

Kept apart from the loop in `loop` so each part can be built and tested on its own; the
loop decides the order in which they are built (which fixes the RNG draws before step 0).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from shiftlab.errors import UserError
from shiftlab.hashing import sha256_file
from shiftlab.labels import LabelSpace
from shiftlab.models import (
    create_model,
    data_config,
    load_checkpoint,
    num_outputs,
    replace_head,
)
from shiftlab.train import distributed as ddp

if TYPE_CHECKING:
    from shiftlab.train.loop import FitConfig


def seed_everything(seed: int) -> None:
    """Seed every generator a run draws from (Python, NumPy, torch) before anything is built."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_factor(step: int, steps_per_epoch: int, s: dict[str, Any]) -> float:
    """Multiplier of the base lr before optimizer step `step` (0-based)."""
    total = s["epochs"] * steps_per_epoch
    warm = round(s["warmup_epochs"] * steps_per_epoch)
    if step < warm:
        return (step + 1) / warm
    if s["schedule"] == "cosine":
        t = (step - warm) / max(1, total - warm)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
    if s["schedule"] == "step":
        epoch = step // steps_per_epoch
        return s["gamma"] ** sum(epoch >= m for m in s["milestones"])
    return 1.0


def build_model(cfg: FitConfig, space: LabelSpace) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The starting model and its data config: the base run's checkpoint when given
    (`--init`), else the config's weights; the head follows the label space."""
    entry = cfg.model
    name = entry.get("model") or entry.get("name")
    if not name:
        raise UserError("model json needs a 'model' name")
    if cfg.init is not None:
        model, meta = load_checkpoint(cfg.init)
        model.train()
        have = list(meta["wnids"])
        if have != list(space.wnids):
            if set(space.wnids) <= set(have):
                pos = {w: i for i, w in enumerate(have)}
                replace_head(model, len(space), [pos[w] for w in space.wnids])
            else:
                replace_head(model, len(space))
        dcfg = dict(meta["data_config"])
        pretrained = meta.get("pretrained")
    else:
        model = create_model(
            name, len(space), entry.get("weights"), source=entry.get("source"), wnids=space.wnids
        )
        dcfg = data_config(model)
        pretrained = entry.get("weights")
    size = cfg.recipe["image_size"]
    if size:
        dcfg["input_size"] = [dcfg["input_size"][0], int(size), int(size)]
    assert num_outputs(model) == len(space)
    return model, {"data_config": dcfg, "pretrained": pretrained}


def bf16_supported(device: str) -> bool:
    """Whether bf16 autocast runs natively here; a recipe asking for it falls back to fp32."""
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check()) if check is not None else True


def fingerprint(cfg: FitConfig, space: LabelSpace) -> str:
    """Identity of a run's inputs: a state saved under another identity is not resumable."""
    blob = {
        "model": cfg.model,
        "recipe": cfg.recipe.name,
        "settings": cfg.recipe.settings,
        "seed": cfg.seed,
        "wnids": list(space.wnids),
        "train_index": sha256_file(cfg.train_index),
        "init": sha256_file(cfg.init) if cfg.init else None,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


def steps_per_epoch(n_images: int, s: dict[str, Any], world: int) -> int:
    """Optimizer steps in one epoch; the global batch must split evenly over micro-batches."""
    global_batch, accum = s["batch_size"], s["grad_accum"]
    if global_batch % (accum * world):
        raise UserError(
            f"batch_size {global_batch} is not divisible by grad_accum {accum} x {world} processes"
        )
    steps = n_images // global_batch
    if steps == 0:
        raise UserError(f"batch_size {global_batch} exceeds the {n_images} training images")
    return steps


def place_model(model: torch.nn.Module, dist: ddp.Dist, s: dict[str, Any]) -> torch.nn.Module:
    """The model on its device, in the recipe's memory format, with synced BN under DDP."""
    model.to(dist.device)
    if s["channels_last"]:
        model.to(memory_format=torch.channels_last)
    if dist.enabled and s["sync_bn"] and dist.device.startswith("cuda"):
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def build_optimizer(
    model: torch.nn.Module, s: dict[str, Any], steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """The recipe's optimizer over the trainable parameters, and its per-step lr schedule."""
    params = [p for p in model.parameters() if p.requires_grad]
    if s["optimizer"] == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            params,
            lr=s["lr"],
            momentum=s["momentum"],
            nesterov=s["nesterov"],
            weight_decay=s["weight_decay"],
        )
    else:
        optimizer = torch.optim.AdamW(params, lr=s["lr"], weight_decay=s["weight_decay"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, steps, s))
    return optimizer, scheduler


def wrap_distributed(model: torch.nn.Module, dist: ddp.Dist) -> torch.nn.Module:
    """What trains: the model itself, or its DistributedDataParallel wrapper under DDP."""
    if not dist.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        model, device_ids=[dist.local_rank] if dist.device.startswith("cuda") else None
    )
