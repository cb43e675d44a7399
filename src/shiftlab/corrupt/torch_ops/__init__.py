"""Batched torch versions of the ImageNet-C operators, for GPU batches.

Each operator takes a uint8 N x 3 x H x W batch on any device and returns a float batch
(unclipped, on [0, 1]) or a final uint8 batch, like the numpy operators. Random draws stay
on the host: every image's numpy generator draws exactly what the numpy operator draws,
in the same order (the shared ``draw_*`` helpers), and only the drawn fields travel to the
device. So an image's random stream never depends on the device or the batch, and the
torch path differs from the numpy path only by floating-point rounding (>= 40 dB, tested).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import torch

# (uint8 N x 3 x H x W batch, severity parameters, param set, one generator per image)
TorchOperator = Callable[[torch.Tensor, Any, Any, list[np.random.Generator]], torch.Tensor]

T = TypeVar("T")
R = TypeVar("R")

_TORCH_OPS: dict[str, TorchOperator] = {}


def register_torch_op(name: str) -> Callable[[TorchOperator], TorchOperator]:
    """Decorator: the batched torch version of the corruption ``name``."""

    def wrap(fn: TorchOperator) -> TorchOperator:
        _TORCH_OPS[name] = fn
        return fn

    return wrap


def _ensure_loaded() -> None:
    import importlib

    for module in ("noise", "digital", "blur", "weather"):
        try:
            importlib.import_module(f"shiftlab.corrupt.torch_ops.{module}")
        except ModuleNotFoundError as exc:  # a family not ported yet
            if exc.name != f"shiftlab.corrupt.torch_ops.{module}":
                raise


def get_torch_op(name: str) -> TorchOperator | None:
    """The torch operator for ``name``, or None where only the numpy one exists."""
    _ensure_loaded()
    return _TORCH_OPS.get(name)


def torch_op_names() -> list[str]:
    _ensure_loaded()
    return sorted(_TORCH_OPS)


def unit(batch: torch.Tensor) -> torch.Tensor:
    """uint8 -> float32 on [0, 1], like the numpy operators' ``x * (1 / 255)``."""
    return batch.to(torch.float32) * (1 / 255)


def threaded_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(item) for item in items]`` on a thread pool, for per-image host work: numpy's
    bulk draws and OpenCV release the GIL. Each item (a generator) is used by one thread
    only, so every image's stream is exactly that of the numpy path."""
    if len(items) < 4:
        return [fn(item) for item in items]
    workers = min(len(items), os.cpu_count() or 1, 16)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def host_draws(
    rngs: list[np.random.Generator],
    draw: Callable[[np.random.Generator], np.ndarray],
    device: torch.device,
) -> torch.Tensor:
    """Run ``draw`` on every image's generator (host, numpy, spread over the cores) and
    stack the results on ``device``: the per-image streams stay exactly those of the
    numpy path."""
    stacked = np.stack([np.asarray(a) for a in threaded_map(draw, rngs)])
    return torch.from_numpy(stacked).to(device, non_blocking=True)
