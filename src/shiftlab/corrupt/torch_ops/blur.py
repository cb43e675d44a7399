"""Batched blur corruptions (draws on the host, arithmetic on the batch's device)."""

from __future__ import annotations

import numpy as np
import torch

from shiftlab.corrupt.ops.blur import draw_glass_offsets, draw_motion_angle, glass_centres
from shiftlab.corrupt.ops.filters import disk_kernel
from shiftlab.corrupt.torch_ops import register_torch_op, unit
from shiftlab.corrupt.torch_ops.filters import (
    clipped_zoom,
    filter2d,
    gaussian,
    threaded_host_draws,
)
from shiftlab.corrupt.torch_ops.filters import motion_blur as _motion


@register_torch_op("gaussian_blur")
def gaussian_blur(batch, sigma, pset, rngs) -> torch.Tensor:
    return gaussian(unit(batch), sigma, mode="nearest")


@register_torch_op("defocus_blur")
def defocus_blur(batch, params, pset, rngs) -> torch.Tensor:
    radius, alias_blur = params
    return filter2d(unit(batch), disk_kernel(radius, alias_blur), mode="mirror")


@register_torch_op("motion_blur")
def motion_blur(batch, params, pset, rngs) -> torch.Tensor:
    # the numpy operator blurs 8-bit values and rounds back to 8 bits (np.rint = half-even,
    # like torch.round)
    radius, sigma = params
    angles = [float(draw_motion_angle(rng)) for rng in rngs]
    blurred = _motion(batch.to(torch.float32), radius, sigma, angles)
    return blurred.round().clamp(0, 255).to(torch.uint8)


@register_torch_op("zoom_blur")
def zoom_blur(batch, params, pset, rngs) -> torch.Tensor:
    x = unit(batch)
    factors = np.arange(*params)  # the numpy operator's float accumulation, hence its count
    out = x.clone()
    for factor in factors:
        out += clipped_zoom(x, float(factor))
    return out / np.float32(len(factors) + 1)


def _resolve_shuffle(offsets: torch.Tensor, centres: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``ops.blur.shuffle_sources``'s pointer doubling for a batch: N x HW source indices
    from the N x iterations x 2 x C drawn offsets (integer arithmetic, hence exact)."""
    n = offsets.shape[0]
    size = h * w
    identity = torch.arange(size, device=offsets.device).expand(n, size)
    is_centre = torch.zeros(size, dtype=torch.bool, device=offsets.device)
    is_centre[centres] = True
    total = identity
    for k in range(offsets.shape[1]):
        partners = centres + offsets[:, k, 0].long() * w + offsets[:, k, 1].long()  # N x C
        # visited earlier = a larger flat index (the sweep runs backwards)
        link = torch.zeros((n, size), dtype=torch.bool, device=offsets.device)
        link[:, centres] = is_centre[partners] & (partners > centres)
        source = identity.clone()
        source[:, centres] = partners
        while bool(link.any()):
            hop_link = link.gather(1, source)
            source = torch.where(link, source.gather(1, source), source)
            link = link & hop_link
        total = total.gather(1, source)
    return total


@register_torch_op("glass_blur")
def glass_blur(batch, params, pset, rngs) -> torch.Tensor:
    sigma, max_delta, iterations = params
    n, c, h, w = batch.shape
    blurred = gaussian(unit(batch), sigma, mode="nearest")
    quantized = (blurred * 255).to(torch.uint8)  # the reference's np.uint8 floor
    centres = glass_centres(h, w, max_delta)
    if centres.size:
        # only the drawn offsets travel (|offset| <= 4: int8); the chains resolve on device
        offsets = threaded_host_draws(
            rngs,
            lambda rng: draw_glass_offsets(rng, centres.size, max_delta, iterations).astype(
                np.int8
            ),
            batch.device,
        )
        sources = _resolve_shuffle(offsets, torch.from_numpy(centres).to(batch.device), h, w)
        index = sources.view(n, 1, h * w).expand(n, c, h * w)
        quantized = quantized.reshape(n, c, h * w).gather(2, index).reshape(n, c, h, w)
    return gaussian(unit(quantized), sigma, mode="nearest")
