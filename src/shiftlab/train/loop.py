"""A whole fine-tuning run: build, resume, train epochs, survive preemption, write outputs.

Resume contract: the state saved after optimizer step g holds the model, optimizer,
scheduler and every RNG; the data order and augmentations are functions of (seed, epoch,
position), so continuing from g replays exactly what an uninterrupted run would do next.

The run is four steps over one `_Run` (as the DeiT/ConvNeXt `engine` split): `_setup`
builds its parts, `_resume` continues from a saved state, `_train_epoch` runs one epoch
(saving state on a signal) and `_finish` writes the checkpoint and the history.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from shiftlab import provenance
from shiftlab.atomic import write_text
from shiftlab.labels import LabelSpace, label_space
from shiftlab.models import eval_transform, model_meta, save_checkpoint, unwrap
from shiftlab.train import distributed as ddp
from shiftlab.train.augment import TrainTransform
from shiftlab.train.build import (
    bf16_supported,
    build_model,
    build_optimizer,
    fingerprint,
    place_model,
    seed_everything,
    steps_per_epoch,
    wrap_distributed,
)
from shiftlab.train.data import EvalDataset, IndexDataset, MicroBatches, make_loader
from shiftlab.train.engine import EpochStats, evaluate, train_one_epoch
from shiftlab.train.feed import EpochBatches, Progress, loader_options, train_loader_options
from shiftlab.train.preemption import Preemption
from shiftlab.train.recipes import Recipe
from shiftlab.train.state import load_state, rng_states, save_state, set_rng_states, state_path

log = logging.getLogger("shiftlab.train")

EXIT_PREEMPTED = 99  # saved state after SIGTERM/SIGUSR1; re-running the job resumes
HISTORY_FIELDS = ["epoch", "loss", "acc", "lr", "images_per_s", "val_loss", "val_acc"]


@dataclass
class FitConfig:
    """One run's inputs and outputs, as `shiftlab train` passes them."""

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
    threads: int = 0  # the job's CPUs: DataLoader workers come out of them
    live: Any = None  # live metrics sink (shiftlab.tracking.live_train.LiveMetrics) or None
    params: dict[str, Any] = field(default_factory=dict)  # recorded in provenance


def write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    """The per-epoch history CSV, replaced atomically so a reader never sees half of it."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in HISTORY_FIELDS})
    write_text(path, buf.getvalue())


@dataclass
class _Run:
    """What one process holds during a run; the steps below read and advance it."""

    cfg: FitConfig
    dist: ddp.Dist
    space: LabelSpace
    info: dict[str, Any]  # data_config and pretrained, as build_model returns them
    model: torch.nn.Module  # saved and resumed
    net: torch.nn.Module  # what trains: the model or its DDP wrapper
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    dataset: IndexDataset
    steps: int  # optimizer steps per epoch
    bf16: bool
    ident: str  # fingerprint of the inputs: a state saved under another one is stale
    started: str
    val_loader: Any = None
    epoch: int = 0
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    stats: EpochStats = field(default_factory=EpochStats)
    resumes: int = 0
    loader: Any = None  # one training DataLoader for every epoch (persistent workers)
    batches: EpochBatches = field(default_factory=EpochBatches)

    @property
    def settings(self) -> dict[str, Any]:
        return self.cfg.recipe.settings


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
    run = _setup(cfg, dist, started)
    _resume(run)
    run.val_loader = _val_loader(run)
    with Preemption() as preempt:
        while run.epoch < run.settings["epochs"]:
            if not _train_epoch(run, preempt):
                return EXIT_PREEMPTED
    _finish(run)
    return 0


def _setup(cfg: FitConfig, dist: ddp.Dist, started: str) -> _Run:
    """Seed, then build the model, data and optimizer. The order is part of the resume
    contract: it fixes the random draws made before the first step."""
    s = cfg.recipe.settings
    space = label_space(cfg.label_space)
    seed_everything(cfg.seed)
    model, info = build_model(cfg, space)
    bf16 = bool(s["bf16"]) and bf16_supported(dist.device)
    if s["bf16"] and not bf16:
        log.warning(
            "bf16 autocast requested but not supported on %s; training in fp32", dist.device
        )
    transform = TrainTransform(cfg.recipe, info["data_config"])
    dataset = IndexDataset(cfg.train_index, space, transform, cfg.seed)
    steps = steps_per_epoch(len(dataset), s, dist.world)
    model = place_model(model, dist, s)
    optimizer, scheduler = build_optimizer(model, s, steps)
    net = wrap_distributed(model, dist)
    return _Run(
        cfg=cfg,
        dist=dist,
        space=space,
        info=info,
        model=model,
        net=net,
        optimizer=optimizer,
        scheduler=scheduler,
        dataset=dataset,
        steps=steps,
        bf16=bf16,
        ident=fingerprint(cfg, space),
        started=started,
    )


def _resume(run: _Run) -> None:
    """Continue from the saved state when it belongs to these inputs; set a stale one aside."""
    cfg, dist = run.cfg, run.dist
    state = load_state(cfg.state_dir)
    if state is not None and state.get("fingerprint") != run.ident:
        if dist.main:
            stale = state_path(cfg.state_dir).with_name(f"state.stale-{run.ident[:8]}.pt")
            os.replace(state_path(cfg.state_dir), stale)
            log.warning(
                "resume state in %s belongs to different inputs/settings; moved it to "
                "%s and starting this run from the beginning",
                cfg.state_dir,
                stale.name,
            )
        ddp.barrier(dist)
        state = None
    if state is None:
        return
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    set_rng_states(state["rng"])
    run.epoch, run.step = int(state["epoch"]), int(state["step"])
    run.history = list(state["history"])
    run.resumes = int(state.get("resumes", 0)) + 1
    if dist.main:  # the saved sums are global; other ranks start from zero
        run.stats = EpochStats(**state["stats"])
    run.started = state.get("started", run.started)
    log.info("resumed %s at epoch %d step %d/%d", cfg.run, run.epoch, run.step, run.steps)


def _snapshot(run: _Run, at_epoch: int, at_step: int, epoch_stats: EpochStats) -> None:
    """Save the resumable state (on rank 0, stats summed over ranks); every rank waits."""
    dist = run.dist
    tot = ddp.sum_floats(dist, [epoch_stats.loss_sum, epoch_stats.correct, epoch_stats.seen])
    if dist.main:
        save_state(
            run.cfg.state_dir,
            {
                "fingerprint": run.ident,
                "epoch": at_epoch,
                "step": at_step,
                "model": unwrap(run.model).state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(),
                "rng": rng_states(),
                "history": run.history,
                "stats": EpochStats(*tot, epoch_stats.seconds, epoch_stats.lr).as_dict(),
                "resumes": run.resumes,
                "started": run.started,
            },
        )
    ddp.barrier(dist)


def _val_loader(run: _Run) -> Any:
    """This rank's share of the validation batches, or None without a validation index."""
    cfg, dist, s = run.cfg, run.dist, run.settings
    if cfg.val_index is None:
        return None
    val = EvalDataset(cfg.val_index, run.space, eval_transform(run.info["data_config"]))
    eval_batch = s["eval_batch_size"] or 2 * (s["batch_size"] // (s["grad_accum"] * dist.world))
    shards = [
        list(range(i, min(i + eval_batch, len(val)))) for i in range(0, len(val), eval_batch)
    ][dist.rank :: dist.world]
    opts = loader_options(s["num_workers"], cfg.threads, dist.device)
    return make_loader(val, shards, {**opts, "persistent_workers": False})


def _train_epoch(run: _Run, preempt: Preemption) -> bool:
    """Train the current epoch from `run.step`; False when a signal stopped it (state saved)."""
    from tqdm import tqdm

    cfg, dist, s = run.cfg, run.dist, run.settings
    sampler = MicroBatches(
        len(run.dataset),
        cfg.seed,
        run.epoch,
        s["batch_size"],
        s["grad_accum"],
        dist.world,
        dist.rank,
        start=run.step,
    )
    bar = tqdm(
        total=run.steps,
        initial=run.step,
        desc=f"{cfg.run} epoch {run.epoch + 1}/{s['epochs']}",
        disable=not (cfg.progress and dist.main),
        mininterval=2.0,
        leave=False,
    )
    run.batches.current = sampler
    if run.loader is None:
        opts = train_loader_options(s["num_workers"], cfg.threads, dist.device, dist.main)
        run.loader = make_loader(run.dataset, run.batches, opts)
    run.stats, stopped = train_one_epoch(
        run.net,
        cfg.recipe,
        run.loader,
        run.optimizer,
        run.scheduler,
        device=dist.device,
        steps=run.steps,
        accum=s["grad_accum"],
        start_step=run.step,
        stats=run.stats,
        bf16=run.bf16,
        channels_last=s["channels_last"],
        after_step=_step_hook(run, preempt, bar),
    )
    bar.close()
    if stopped:
        log.warning(
            "received signal %s: state saved at epoch %d; exiting with %d so "
            "the job can be resubmitted",
            preempt.signal,
            run.epoch,
            EXIT_PREEMPTED,
        )
        return False
    _end_epoch(run)
    return True


def _step_hook(
    run: _Run, preempt: Preemption, bar: Any
) -> Callable[[int, EpochStats, float], bool]:
    """What runs after each optimizer step: progress, logging, and saving state on a signal
    (then True stops the epoch) or every `checkpoint_every` global steps."""
    cfg, dist, s, epoch, steps = run.cfg, run.dist, run.settings, run.epoch, run.steps
    every = cfg.log_every if dist.main else 0
    progress = Progress(every, epoch, steps, run.stats.seen, cfg.live if dist.main else None)

    def after_step(done: int, st: EpochStats, loss: float) -> bool:
        bar.update(1)
        g = epoch * steps + done
        progress.step(done, st.seen, loss, st.lr)
        if ddp.any_true(dist, preempt.signal is not None):
            _snapshot(run, epoch, done, st)
            return True
        if s["checkpoint_every"] and g % s["checkpoint_every"] == 0 and done < steps:
            _snapshot(run, epoch, done, st)
            if dist.main:
                log.info("state saved at global step %d", g)
        return False

    return after_step


def _end_epoch(run: _Run) -> None:
    """Append the epoch's history row (with validation), then save state for the next one."""
    dist, s = run.dist, run.settings
    stats = run.stats
    loss_sum, correct, seen = ddp.sum_floats(dist, [stats.loss_sum, stats.correct, stats.seen])
    row: dict[str, Any] = {
        "epoch": run.epoch + 1,
        "loss": loss_sum / seen,
        "acc": correct / seen,
        "lr": stats.lr,
        "images_per_s": seen / stats.seconds if stats.seconds else 0.0,
    }
    if run.val_loader is not None:
        v = evaluate(
            run.net,
            run.val_loader,
            device=dist.device,
            bf16=run.bf16,
            channels_last=s["channels_last"],
        )
        vl, vc, vn = ddp.sum_floats(dist, [v["loss_sum"], v["correct"], v["seen"]])
        row |= {"val_loss": vl / vn, "val_acc": vc / vn}
    run.history.append(row)
    if dist.main:
        log.info(
            "epoch %d: %s",
            run.epoch + 1,
            ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"),
        )
        write_history(run.cfg.history, run.history)
    run.epoch, run.step, run.stats = run.epoch + 1, 0, EpochStats()
    if run.epoch < s["epochs"]:
        _snapshot(run, run.epoch, 0, run.stats)


def _finish(run: _Run) -> None:
    """Write the final checkpoint (with its provenance record) and history; drop the state."""
    cfg, dist = run.cfg, run.dist
    if dist.main:
        dcfg = run.info["data_config"]
        meta = model_meta(run.model, list(run.space.wnids), run.info["pretrained"], dcfg)
        record = provenance.make_record(
            "train",
            params={
                "run": cfg.run,
                "model": cfg.model,
                "recipe": cfg.recipe.name,
                "settings": run.settings,
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
            started=run.started,
            extra={"history": run.history, "resumes": run.resumes},
        )
        save_checkpoint(cfg.out, run.model, meta, record)
        write_history(cfg.history, run.history)
        state_path(cfg.state_dir).unlink(missing_ok=True)
        log.info("wrote %s (%d epochs, %d resumes)", cfg.out, len(run.history), run.resumes)
    ddp.barrier(dist)
