"""Batched weather corruptions (draws on the host, arithmetic on the batch's device)."""

from __future__ import annotations

import functools

import numpy as np
import torch

from shiftlab.corrupt.ops.plasma import draw_plasma, plasma_levels, plasma_noise
from shiftlab.corrupt.ops.weather import (
    _MUD,
    _WATER,
    FROST_CHOICES,
    covered_frost_texture,
    draw_frost,
    draw_snow,
    draw_spatter,
    fog_map_size,
    water_shading,
)
from shiftlab.corrupt.torch_ops import host_draws, register_torch_op, unit
from shiftlab.corrupt.torch_ops.filters import (
    clipped_zoom,
    gaussian,
    motion_blur,
    threaded_host_draws,
    threaded_map,
)

# cv2.COLOR_RGB2GRAY's weights for float images
_GREY = (0.299, 0.587, 0.114)


@register_torch_op("snow")
def snow(batch, params, pset, rngs) -> torch.Tensor:
    loc, scale, zoom, threshold, radius, sigma, blend = params
    x = unit(batch)
    n, _, h, w = x.shape
    draws = threaded_map(lambda rng: draw_snow(rng, h, w), rngs)
    normal = torch.from_numpy(np.stack([d[0] for d in draws])).to(x.device)
    angles = [float(d[1]) for d in draws]  # float64, as the numpy taps see them
    layer = normal.view(n, 1, h, w) * np.float32(scale) + np.float32(loc)
    layer = clipped_zoom(layer, zoom)
    layer = torch.where(layer < threshold, 0.0, layer)
    # the reference round-trips the layer through an 8-bit PNG and ImageMagick
    layer8 = (layer.clamp(0, 1) * 255).to(torch.uint8).to(torch.float32)
    streaks = motion_blur(layer8, radius, sigma, angles)
    streaks = streaks.clamp(0, 255).round() * np.float32(1 / 255)
    r, g, b = x.unbind(1)
    grey = (r * _GREY[0] + g * _GREY[1] + b * _GREY[2]).unsqueeze(1)
    x = np.float32(blend) * x + np.float32(1 - blend) * torch.maximum(x, grey * 1.5 + 0.5)
    return x + (streaks + streaks.flip(-2, -1))


@functools.lru_cache(maxsize=8)
def _frost_stack(scale: float, height: int, width: int, device: str) -> torch.Tensor:
    """The usable frost photos, zero-padded to one FROST_CHOICES x H x W x 3 uint8 tensor on
    ``device`` (uploaded once, so a batch's crops are one gather)."""
    textures = [covered_frost_texture(i, scale, height, width) for i in range(FROST_CHOICES)]
    th = max(t.shape[0] for t in textures)
    tw = max(t.shape[1] for t in textures)
    stack = np.zeros((len(textures), th, tw, 3), dtype=np.uint8)
    for i, t in enumerate(textures):
        stack[i, : t.shape[0], : t.shape[1]] = t
    return torch.from_numpy(stack).to(device)


@register_torch_op("frost")
def frost(batch, params, pset, rngs) -> torch.Tensor:
    image_weight, frost_weight = params
    n, _, h, w = batch.shape
    scale = pset.frost_texture_scale
    # (texture index, top, left) per image
    picks = host_draws(rngs, lambda rng: np.array(draw_frost(rng, h, w, scale)), batch.device)
    textures = _frost_stack(float(scale), h, w, str(batch.device))
    rows = picks[:, 1:2] + torch.arange(h, device=batch.device)  # N x h
    cols = picks[:, 2:3] + torch.arange(w, device=batch.device)  # N x w
    crops = textures[picks[:, 0].view(n, 1, 1), rows.view(n, h, 1), cols.view(n, 1, w)]
    crops = crops.permute(0, 3, 1, 2).to(torch.float32)
    out = np.float32(image_weight) * batch.to(torch.float32) + np.float32(frost_weight) * crops
    return out.clamp(0, 255).to(torch.uint8)


def _plasma(u: torch.Tensor, map_size: int, decay: float) -> torch.Tensor:
    """``ops.plasma.plasma_fractal``'s recurrence for a batch, from each image's uniform
    draws (N x (map_size^2 - 1) float64), in float64 like the numpy one."""
    n = u.shape[0]
    grid = torch.zeros((n, map_size, map_size), dtype=torch.float64, device=u.device)
    at = 0
    wibble = 100.0

    def noisy_mean(total: torch.Tensor) -> torch.Tensor:
        nonlocal at
        k = total.shape[-1]
        field = plasma_noise(u[:, at : at + k * k].view(n, k, k), wibble)
        at += k * k
        return total / 4 + field

    for step in plasma_levels(map_size):
        half = step // 2
        corners = grid[:, 0::step, 0::step]
        acc = corners + corners.roll(-1, 1)
        acc = acc + acc.roll(-1, 2)
        grid[:, half::step, half::step] = noisy_mean(acc)
        centres = grid[:, half::step, half::step]
        corners = grid[:, 0::step, 0::step]
        top = centres + centres.roll(1, 1) + corners + corners.roll(-1, 2)
        grid[:, 0::step, half::step] = noisy_mean(top)
        left = centres + centres.roll(1, 2) + corners + corners.roll(-1, 1)
        grid[:, half::step, 0::step] = noisy_mean(left)
        wibble /= decay
    grid = grid - grid.amin(dim=(1, 2), keepdim=True)
    return grid / grid.amax(dim=(1, 2), keepdim=True)


@register_torch_op("fog")
def fog(batch, params, pset, rngs) -> torch.Tensor:
    strength, decay = params
    x = unit(batch)
    n, _, h, w = x.shape
    # the fractal's noise never depends on the map: drawn on the host (all of fog's draws),
    # the diamond-square recurrence runs batched on the device
    map_size = fog_map_size(h, w)
    u = threaded_host_draws(rngs, lambda rng: draw_plasma(map_size, rng), x.device)
    layer = _plasma(u, map_size, decay)[:, :h, :w].to(torch.float32)
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    s = np.float32(strength)
    return (x + s * layer.view(n, 1, h, w)) * (peak / (peak + s))


@register_torch_op("spatter")
def spatter(batch, params, pset, rngs) -> torch.Tensor:
    loc, scale, sigma, threshold, intensity, mud = params
    x = unit(batch)
    n, _, h, w = x.shape
    normal = threaded_host_draws(rngs, lambda rng: draw_spatter(rng, h, w), x.device)
    liquid = normal.view(n, 1, h, w) * np.float32(scale) + np.float32(loc)
    liquid = gaussian(liquid, sigma, mode="nearest")
    liquid = torch.where(liquid < threshold, 0.0, liquid)
    if not mud:
        drops = (liquid.clamp(0, 1) * 255).to(torch.uint8)
        # Canny, distanceTransform and equalizeHist have no torch equivalent that
        # matches OpenCV (edge hysteresis, exact L2 distance mask, per-image histogram):
        # this one step runs on the host, per image, on the uint8 drop maps
        host = drops.view(n, h, w).cpu().numpy()
        shading = np.stack(threaded_map(water_shading, list(host)))
        m = drops.to(torch.float32) * torch.from_numpy(shading).to(x.device).view(n, 1, h, w)
        peak = m.amax(dim=(1, 2, 3), keepdim=True)
        m = torch.where(peak > 0, m * (np.float32(intensity) / peak), m)
        water = torch.from_numpy(_WATER).to(x.device).view(1, 3, 1, 1)
        return x + m * water
    m = gaussian((liquid > threshold).to(torch.float32), intensity, mode="nearest")
    m = torch.where(m < 0.8, 0.0, m)
    mud_colour = torch.from_numpy(_MUD).to(x.device).view(1, 3, 1, 1)
    return x * (1 - m) + mud_colour * m
