"""Batched noise corruptions (draws on the host, arithmetic on the batch's device)."""

from __future__ import annotations

import torch

from shiftlab.corrupt.ops.noise import draw_standard_normal
from shiftlab.corrupt.torch_ops import host_draws, register_torch_op, unit


@register_torch_op("gaussian_noise")
def gaussian_noise(batch, sigma, pset, rngs) -> torch.Tensor:
    h, w = batch.shape[-2:]
    noise = host_draws(rngs, lambda rng: draw_standard_normal(rng, (h, w, 3)), batch.device)
    return unit(batch) + noise.permute(0, 3, 1, 2) * sigma
