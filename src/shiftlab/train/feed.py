"""Keeping the model fed: a training input pipeline sized by the job, and progress lines.

A recipe's `num_workers: null` (the default) takes the DataLoader workers from the job's
CPUs (`--threads`, the rule's `threads`): on a GPU the model step needs one CPU thread, so
the others decode and augment; on the CPU the model's own threads compete with them, so
half of the threads go to workers once there are four or more. On CUDA, batches come from
pinned memory (asynchronous copies), workers persist from epoch to epoch and each one
prefetches several batches. Worker count never changes the numbers: each sample's
augmentation is drawn from (seed, epoch, index) (shiftlab.train.data).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("shiftlab.train")

# Batches each worker keeps ready on a GPU (the DataLoader's default is 2).
GPU_PREFETCH = 4


def job_cpus(threads: int) -> int:
    """CPUs of this job: `--threads`, else what the scheduler lets the process use."""
    if threads > 0:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def loader_options(num_workers: int | None, threads: int, device: str) -> dict[str, Any]:
    """DataLoader keyword arguments for this job (workers, pinning, persistence, prefetch)."""
    gpu = str(device).startswith("cuda")
    if num_workers is None:
        cpus = job_cpus(threads)
        num_workers = cpus - 1 if gpu else (cpus // 2 if cpus >= 4 else 0)
    opts: dict[str, Any] = {"num_workers": max(0, int(num_workers)), "pin_memory": gpu}
    if opts["num_workers"] and gpu:
        opts.update(persistent_workers=True, prefetch_factor=GPU_PREFETCH)
    return opts


def train_loader_options(
    num_workers: int | None, threads: int, device: str, main: bool = True
) -> dict[str, Any]:
    """`loader_options`, logged once; on the CPU the model keeps the threads the workers
    do not take (each worker runs one torch thread), so the two never oversubscribe."""
    import torch

    opts = loader_options(num_workers, threads, device)
    if not str(device).startswith("cuda") and opts["num_workers"] and threads > 0:
        torch.set_num_threads(max(1, threads - opts["num_workers"]))
    if main:
        log.info(
            "training loader: %d workers, pin_memory=%s, persistent=%s, prefetch=%s "
            "(job threads %d, model threads %d)",
            opts["num_workers"],
            opts["pin_memory"],
            opts.get("persistent_workers", False),
            opts.get("prefetch_factor", 2 if opts["num_workers"] else 0),
            job_cpus(threads),
            torch.get_num_threads(),
        )
    return opts


class EpochBatches:
    """A batch sampler whose batches are swapped each epoch, so that one DataLoader (and its
    persistent workers) serves every epoch; the sampler is iterated in the main process."""

    def __init__(self) -> None:
        self.current: Any = []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.current)

    def __len__(self) -> int:
        return len(self.current)


class Progress:
    """A log line every `every` optimizer steps with loss, lr and images/s since the last
    line, so a batch job's log shows progress long before an epoch ends; `sink` gets the
    same values (global step, {name: value}) when it is given."""

    def __init__(self, every: int, epoch: int, steps: int, seen: int = 0, sink: Any = None) -> None:
        self.every, self.epoch, self.steps, self.sink = every, epoch, steps, sink
        self.t0, self.seen0 = time.perf_counter(), seen

    def step(self, done: int, seen: int, loss: float, lr: float) -> float | None:
        """Log when `done` is a multiple of `every`; returns the images/s it logged."""
        if not self.every or done % self.every:
            return None
        now = time.perf_counter()
        rate = (seen - self.seen0) / max(now - self.t0, 1e-9)
        self.t0, self.seen0 = now, seen
        log.info(
            "epoch %d step %d/%d global step %d loss %.4f lr %.3g %.1f images/s",
            self.epoch,
            done,
            self.steps,
            self.epoch * self.steps + done,
            loss,
            lr,
            rate,
        )
        if self.sink is not None:  # live metrics (shiftlab.tracking.live_train), now
            step = self.epoch * self.steps + done
            self.sink(step, {"loss": loss, "lr": lr, "images_per_s": rate})
        return rate
