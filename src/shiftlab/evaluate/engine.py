"""The forward pass: batched, inference mode, channels-last, bf16 where the device has it,
and a batch that halves itself on out-of-memory instead of failing the job."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


@dataclass
class Scorer:
    """Softmax probabilities over the protocol's classes for a batch of model inputs, left
    on the device: callers reduce them there (top-k) and copy back only what they keep."""

    model: torch.nn.Module
    class_ids: np.ndarray
    device: torch.device
    bf16: bool = False
    max_batch: int | None = None  # shrinks after an out-of-memory error

    def __post_init__(self) -> None:
        self.model = self.model.to(self.device).eval()
        if self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self._ids = torch.as_tensor(self.class_ids, device=self.device)
        self._all = len(self.class_ids) == self._num_outputs()

    def _num_outputs(self) -> int:
        from shiftlab.models import num_outputs

        return num_outputs(self.model)

    @torch.inference_mode()
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        else:  # one layout, one set of CPU kernels: the same input gives the same bits
            x = x.contiguous()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.model(x)
        logits = logits.float()
        if not self._all:
            logits = logits.index_select(1, self._ids)  # official masking: output[:, mask]
        return torch.softmax(logits, dim=1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities for `x`, splitting it into smaller pieces after an OOM."""
        size = self.max_batch or x.shape[0]
        out, start = [], 0
        while start < x.shape[0]:
            piece = x[start : start + size]
            try:
                out.append(self._forward(piece))
                start += piece.shape[0]
            except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
                if not _is_oom(exc) or size == 1:
                    raise
                size = max(1, size // 2)
                self.max_batch = size
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                log.warning("out of memory: retrying with batches of %d", size)
        if len(out) == 1:
            return out[0]
        return torch.cat(out) if out else torch.empty(0, len(self.class_ids), device=self.device)


def pick_device(name: str) -> torch.device:
    """`auto` picks CUDA where present; `cuda` without a usable GPU stops with the cause."""
    from shiftlab.devices import resolve

    return torch.device(resolve(name))


def bf16_supported(device: torch.device) -> bool:
    """bf16 autocast only where it is fast and exact enough: CUDA with bf16 support.
    The CPU stays fp32 so predictions are bit-identical from run to run."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()
