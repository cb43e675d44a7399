"""Batched noise corruptions (draws on the host, arithmetic on the batch's device)."""

from __future__ import annotations

import numpy as np
import torch

from shiftlab.corrupt.ops.noise import draw_poisson_counts, draw_standard_normal, draw_uniform
from shiftlab.corrupt.torch_ops import host_draws, register_torch_op, threaded_map, unit


def _nhwc_to_nchw(field: torch.Tensor) -> torch.Tensor:
    # fields are drawn in the numpy operators' H x W x 3 order
    return field.permute(0, 3, 1, 2)


@register_torch_op("gaussian_noise")
def gaussian_noise(batch, sigma, pset, rngs) -> torch.Tensor:
    h, w = batch.shape[-2:]
    noise = host_draws(rngs, lambda rng: draw_standard_normal(rng, (h, w, 3)), batch.device)
    return unit(batch) + _nhwc_to_nchw(noise) * sigma


@register_torch_op("shot_noise")
def shot_noise(batch, photons, pset, rngs) -> torch.Tensor:
    # The Poisson rates depend on the pixels, so the image visits the host; the counts
    # travel back as int32.
    images = batch.permute(0, 2, 3, 1).cpu().numpy()
    counts = threaded_map(
        lambda i: draw_poisson_counts(rngs[i], images[i], photons),
        range(len(rngs)),
    )
    field = torch.from_numpy(np.stack(counts)).to(batch.device, non_blocking=True)
    return _nhwc_to_nchw(field).to(torch.float32) * float(np.float32(1 / photons))


@register_torch_op("impulse_noise")
def impulse_noise(batch, amount, pset, rngs) -> torch.Tensor:
    h, w = batch.shape[-2:]
    u = _nhwc_to_nchw(host_draws(rngs, lambda rng: draw_uniform(rng, (h, w, 3)), batch.device))
    # thresholds as the numpy operator's float32 values (exact as Python floats)
    salt, pepper = float(np.float32(amount)), float(np.float32(amount / 2))
    x = unit(batch)
    x = torch.where(u < salt, torch.ones_like(x), x)
    return torch.where(u < pepper, torch.zeros_like(x), x)


@register_torch_op("speckle_noise")
def speckle_noise(batch, sigma, pset, rngs) -> torch.Tensor:
    h, w = batch.shape[-2:]
    noise = host_draws(rngs, lambda rng: draw_standard_normal(rng, (h, w, 3)), batch.device)
    x = unit(batch)
    return x + x * (_nhwc_to_nchw(noise) * float(np.float32(sigma)))
