"""A whole fine-tuning run: build, resume, train epochs, survive preemption, write outputs.

Resume contract: the state saved after optimizer step g holds the model, optimizer,
scheduler and every RNG; the data order and augmentations are functions of (seed, epoch,
position), so continuing from g replays exactly what an uninterrupted run would do next.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import os
import random
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shiftlab import provenance
from shiftlab.errors import UserError
from shiftlab.hashing import sha256_file
from shiftlab.labels import LabelSpace, label_space
from shiftlab.models import (
    create_model,
    data_config,
    eval_transform,
    load_checkpoint,
    model_meta,
    num_outputs,
    replace_head,
    save_checkpoint,
    unwrap,
)
from shiftlab.train import distributed as ddp
from shiftlab.train.augment import TrainTransform
from shiftlab.train.data import EvalDataset, IndexDataset, MicroBatches, make_loader
from shiftlab.train.engine import EpochStats, evaluate, train_one_epoch
from shiftlab.train.recipes import Recipe
from shiftlab.train.state import load_state, rng_states, save_state, set_rng_states, state_path

log = logging.getLogger("shiftlab.train")

EXIT_PREEMPTED = 99  # saved state after SIGTERM/SIGUSR1; re-running the job resumes
HISTORY_FIELDS = ["epoch", "loss", "acc", "lr", "images_per_s", "val_loss", "val_acc"]


@dataclass
class FitConfig:
    run: str
    model: dict[str, Any]  # the run's config entry: model, weights, source, ...
    recipe: Recipe
    train_index: Path
    label_space: str
    seed: int
    out: Path
    state_dir: Path
    history: Path
    val_index: Path | None = None
    init: Path | None = None
    device: str = "auto"
    progress: bool = True
    log_every: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # recorded in provenance


# -- building blocks ----------------------------------------------------------------------


def seed_everything(seed: int) -> None:
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


def write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in HISTORY_FIELDS})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


class Preemption:
    """Turns SIGTERM/SIGUSR1 (what SLURM sends before a kill) into a flag the loop polls
    between optimizer steps, so the state is saved at a consistent point."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> Preemption:
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signal = signum

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


# -- the run ------------------------------------------------------------------------------


def fit(cfg: FitConfig) -> int:
    """Train (or resume) a run. Returns 0 when finished, EXIT_PREEMPTED after saving state."""
    started = provenance.now()
    dist = ddp.setup(cfg.device)
    try:
        return _fit(cfg, dist, started)
    finally:
        ddp.teardown(dist)


def _fit(cfg: FitConfig, dist: ddp.Dist, started: str) -> int:
    s = cfg.recipe.settings
    space = label_space(cfg.label_space)
    seed_everything(cfg.seed)
    model, info = build_model(cfg, space)
    dcfg = info["data_config"]
    bf16 = bool(s["bf16"]) and bf16_supported(dist.device)
    if s["bf16"] and not bf16:
        log.warning(
            "bf16 autocast requested but not supported on %s; training in fp32", dist.device
        )

    dataset = IndexDataset(cfg.train_index, space, TrainTransform(cfg.recipe, dcfg), cfg.seed)
    global_batch, accum = s["batch_size"], s["grad_accum"]
    if global_batch % (accum * dist.world):
        raise UserError(
            f"batch_size {global_batch} is not divisible by grad_accum {accum} x {dist.world} "
            "processes"
        )
    steps = len(dataset) // global_batch
    if steps == 0:
        raise UserError(f"batch_size {global_batch} exceeds the {len(dataset)} training images")

    model.to(dist.device)
    if s["channels_last"]:
        model.to(memory_format=torch.channels_last)
    if dist.enabled and s["sync_bn"] and dist.device.startswith("cuda"):
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
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
    net: torch.nn.Module = model
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            model, device_ids=[dist.local_rank] if dist.device.startswith("cuda") else None
        )

    ident = fingerprint(cfg, space)
    epoch, step, history, stats, resumes = 0, 0, [], EpochStats(), 0
    state = load_state(cfg.state_dir)
    if state is not None and state.get("fingerprint") != ident:
        if dist.main:
            stale = state_path(cfg.state_dir).with_name(f"state.stale-{ident[:8]}.pt")
            os.replace(state_path(cfg.state_dir), stale)
            log.warning(
                "resume state in %s belongs to different inputs/settings; moved it to "
                "%s and starting this run from the beginning",
                cfg.state_dir,
                stale.name,
            )
        ddp.barrier(dist)
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_states(state["rng"])
        epoch, step, history = int(state["epoch"]), int(state["step"]), list(state["history"])
        resumes = int(state.get("resumes", 0)) + 1
        if dist.main:  # the saved sums are global; other ranks start from zero
            stats = EpochStats(**state["stats"])
        started = state.get("started", started)
        log.info("resumed %s at epoch %d step %d/%d", cfg.run, epoch, step, steps)

    def snapshot(at_epoch: int, at_step: int, epoch_stats: EpochStats) -> None:
        tot = ddp.sum_floats(dist, [epoch_stats.loss_sum, epoch_stats.correct, epoch_stats.seen])
        if dist.main:
            save_state(
                cfg.state_dir,
                {
                    "fingerprint": ident,
                    "epoch": at_epoch,
                    "step": at_step,
                    "model": unwrap(model).state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": rng_states(),
                    "history": history,
                    "stats": EpochStats(*tot, epoch_stats.seconds, epoch_stats.lr).as_dict(),
                    "resumes": resumes,
                    "started": started,
                },
            )
        ddp.barrier(dist)

    val_loader = None
    if cfg.val_index is not None:
        val = EvalDataset(cfg.val_index, space, eval_transform(dcfg))
        eval_batch = s["eval_batch_size"] or 2 * (global_batch // (accum * dist.world))
        shards = [
            list(range(i, min(i + eval_batch, len(val)))) for i in range(0, len(val), eval_batch)
        ][dist.rank :: dist.world]
        val_loader = make_loader(val, shards, s["num_workers"])

    from tqdm import tqdm

    with Preemption() as preempt:
        while epoch < s["epochs"]:
            sampler = MicroBatches(
                len(dataset),
                cfg.seed,
                epoch,
                global_batch,
                accum,
                dist.world,
                dist.rank,
                start=step,
            )
            bar = tqdm(
                total=steps,
                initial=step,
                desc=f"{cfg.run} epoch {epoch + 1}/{s['epochs']}",
                disable=not (cfg.progress and dist.main),
                mininterval=2.0,
                leave=False,
            )
            current = epoch

            def after_step(
                done: int, st: EpochStats, loss: float, current: int = current, bar: Any = bar
            ) -> bool:
                bar.update(1)
                g = current * steps + done
                if cfg.log_every and done % cfg.log_every == 0 and dist.main:
                    log.info(
                        "epoch %d step %d/%d global step %d loss %.4f lr %.3g",
                        current,
                        done,
                        steps,
                        g,
                        loss,
                        st.lr,
                    )
                if ddp.any_true(dist, preempt.signal is not None):
                    snapshot(current, done, st)
                    return True
                if s["checkpoint_every"] and g % s["checkpoint_every"] == 0 and done < steps:
                    snapshot(current, done, st)
                    if dist.main:
                        log.info("state saved at global step %d", g)
                return False

            stats, stopped = train_one_epoch(
                net,
                cfg.recipe,
                make_loader(dataset, sampler, s["num_workers"]),
                optimizer,
                scheduler,
                device=dist.device,
                steps=steps,
                accum=accum,
                start_step=step,
                stats=stats,
                bf16=bf16,
                channels_last=s["channels_last"],
                after_step=after_step,
            )
            bar.close()
            if stopped:
                log.warning(
                    "received signal %s: state saved at epoch %d; exiting with %d so "
                    "the job can be resubmitted",
                    preempt.signal,
                    epoch,
                    EXIT_PREEMPTED,
                )
                return EXIT_PREEMPTED
            loss_sum, correct, seen = ddp.sum_floats(
                dist, [stats.loss_sum, stats.correct, stats.seen]
            )
            row: dict[str, Any] = {
                "epoch": epoch + 1,
                "loss": loss_sum / seen,
                "acc": correct / seen,
                "lr": stats.lr,
                "images_per_s": seen / stats.seconds if stats.seconds else 0.0,
            }
            if val_loader is not None:
                v = evaluate(
                    net, val_loader, device=dist.device, bf16=bf16, channels_last=s["channels_last"]
                )
                vl, vc, vn = ddp.sum_floats(dist, [v["loss_sum"], v["correct"], v["seen"]])
                row |= {"val_loss": vl / vn, "val_acc": vc / vn}
            history.append(row)
            if dist.main:
                log.info(
                    "epoch %d: %s",
                    epoch + 1,
                    ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"),
                )
                write_history(cfg.history, history)
            epoch, step, stats = epoch + 1, 0, EpochStats()
            if epoch < s["epochs"]:
                snapshot(epoch, 0, stats)

    if dist.main:
        meta = model_meta(model, list(space.wnids), info["pretrained"], dcfg)
        record = provenance.make_record(
            "train",
            params={
                "run": cfg.run,
                "model": cfg.model,
                "recipe": cfg.recipe.name,
                "settings": s,
                "seed": cfg.seed,
                "label_space": cfg.label_space,
                "world_size": dist.world,
                **cfg.params,
            },
            inputs={
                k: v
                for k, v in (
                    ("train_index", cfg.train_index),
                    ("val_index", cfg.val_index),
                    ("init", cfg.init),
                )
                if v
            },
            started=started,
            extra={"history": history, "resumes": resumes},
        )
        save_checkpoint(cfg.out, model, meta, record)
        write_history(cfg.history, history)
        state_path(cfg.state_dir).unlink(missing_ok=True)
        log.info("wrote %s (%d epochs, %d resumes)", cfg.out, len(history), resumes)
    ddp.barrier(dist)
    return 0
