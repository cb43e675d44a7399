"""Batched digital corruptions: brightness, saturate, contrast, pixelate, JPEG, elastic.

HSV edits follow OpenCV's float RGB<->HSV formulas (grey pixels get hue 0), pixelate
replays PIL's fixed-point BOX taps exactly, and the elastic warps are exact float
bilinear gathers (OpenCV 5 samples at float coordinates) with OpenCV's index reflection.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision.io import decode_jpeg, encode_jpeg

from shiftlab.corrupt.ops.digital import draw_elastic, elastic_affine
from shiftlab.corrupt.torch_ops import register_torch_op, unit
from shiftlab.corrupt.torch_ops.filters import gaussian

_EPS = float(np.finfo(np.float32).eps)  # OpenCV's FLT_EPSILON guards
# OpenCV's HSV -> RGB sector table: per sector, which of (v, p, q, t) is (b, g, r)
_SECTORS = ((1, 3, 0), (1, 0, 2), (3, 0, 1), (0, 2, 1), (0, 1, 3), (2, 1, 0))


def _rgb_to_hsv(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """OpenCV's float RGB2HSV of an N x 3 x H x W batch: H in degrees, S and V on [0, 1]."""
    r, g, b = x.unbind(1)
    v = torch.maximum(torch.maximum(r, g), b)
    diff = v - torch.minimum(torch.minimum(r, g), b)
    s = diff / (v.abs() + _EPS)
    scale = 60 / (diff + _EPS)
    h = torch.where(
        v == r, (g - b) * scale, torch.where(v == g, (b - r) * scale + 120, (r - g) * scale + 240)
    )
    h = torch.where(h < 0, h + 360, h)
    return h, s, v


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """OpenCV's float HSV2RGB (hue in degrees), as an N x 3 x H x W batch."""
    h6 = torch.remainder(h * float(np.float32(6 / 360)), 6)
    sector = h6.floor()
    f = h6 - sector
    tab = torch.stack((v, v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))), dim=1)
    table = torch.tensor(_SECTORS, device=h.device)[:, [2, 1, 0]]  # (r, g, b) rows
    index = table[sector.long().clamp(0, 5)].permute(0, 3, 1, 2)
    return tab.gather(1, index)


def _edit_hsv(batch: torch.Tensor, channel: int, gain: float, shift: float) -> torch.Tensor:
    hsv = list(_rgb_to_hsv(unit(batch)))
    plane = hsv[channel]
    if gain != 1:
        plane = plane * float(np.float32(gain))
    hsv[channel] = (plane + float(np.float32(shift))).clamp(0, 1)
    return _hsv_to_rgb(*hsv)


@register_torch_op("brightness")
def brightness(batch, shift, pset, rngs) -> torch.Tensor:
    return _edit_hsv(batch, 2, 1, shift)


@register_torch_op("saturate")
def saturate(batch, params, pset, rngs) -> torch.Tensor:
    gain, shift = params
    return _edit_hsv(batch, 1, gain, shift)


@register_torch_op("contrast")
def contrast(batch, factor, pset, rngs) -> torch.Tensor:
    x = unit(batch)
    # like numpy: the mean accumulated in float64, then rounded to float32
    means = x.to(torch.float64).mean(dim=(2, 3), keepdim=True).to(torch.float32)
    return (x - means) * float(np.float32(factor)) + means


_PIL_BITS = 22  # PIL's PRECISION_BITS for 8-bit resampling


@functools.lru_cache(maxsize=64)
def _box_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """PIL's fixed-point BOX taps for n_in -> n_out: source indices and integer weights,
    each n_out x T. Probed from PIL itself: resizing a mode "I" identity scaled by
    2**22 returns exactly the rounded coefficients its 8-bit resampler uses."""
    eye = np.eye(n_in, dtype=np.int32) * np.int32(1 << _PIL_BITS)
    weights = np.asarray(Image.fromarray(eye).resize((n_out, n_in), Image.BOX)).T
    count = max(int((weights != 0).sum(axis=1).max()), 1)
    index = np.zeros((n_out, count), dtype=np.int64)
    kk = np.zeros((n_out, count), dtype=np.int32)
    for i, row in enumerate(weights):
        (nz,) = np.nonzero(row)
        index[i, : len(nz)], kk[i, : len(nz)] = nz, row[nz]
    return index, kk


def _pil_box_pass(x: torch.Tensor, n_out: int, dim: int) -> torch.Tensor:
    """One of PIL's 8-bit BOX passes along ``dim`` of an int32 batch, bit-exact: integer
    taps, accumulator seeded with half a unit, shifted back to 8 bits and clipped."""
    index, kk = _box_taps(x.shape[dim], n_out)
    index_t = torch.from_numpy(index).to(x.device)
    if kk.shape[1] == 1 and np.all(kk == 1 << _PIL_BITS):  # enlarging: a pure selection
        return x.index_select(dim, index_t[:, 0])
    kk_t = torch.from_numpy(kk).to(x.device)
    shape = (n_out, 1) if dim == -2 else (n_out,)
    acc = torch.full((), 1 << (_PIL_BITS - 1), dtype=torch.int32, device=x.device)
    for t in range(kk.shape[1]):
        acc = acc + x.index_select(dim, index_t[:, t]) * kk_t[:, t].view(shape)
    return (acc >> _PIL_BITS).clamp(0, 255)


@register_torch_op("pixelate")
def pixelate(batch, factor, pset, rngs) -> torch.Tensor:
    # PIL resizes horizontally, then vertically, rounding to 8 bits after each pass. The
    # way up is a one-tap selection, the same pixels as the numpy operator's NEAREST
    # wherever it uses that.
    h, w = batch.shape[-2:]
    sw, sh = int(w * factor), int(h * factor)
    x = batch.to(torch.int32)
    for size, dim in ((sw, -1), (sh, -2), (w, -1), (h, -2)):
        if x.shape[dim] != size:
            x = _pil_box_pass(x, size, dim)
    return x.to(torch.uint8)


@register_torch_op("jpeg_compression")
def jpeg_compression(batch, quality, pset, rngs) -> torch.Tensor:
    # libjpeg-turbo on the CPU, image by image, like the numpy operator: GPU encoders
    # produce different bytes.
    images = list(batch.cpu())
    decoded = decode_jpeg(encode_jpeg(images, quality=int(quality)))
    return torch.stack(decoded).to(batch.device)


def _reflect_index(i: torch.Tensor, n: int, mode: str) -> torch.Tensor:
    """OpenCV's borderInterpolate on index tensors ("reflect": BORDER_REFLECT, edge
    repeated; "mirror": BORDER_REFLECT_101)."""
    if mode == "reflect":
        i = torch.remainder(i, 2 * n)
        return torch.where(i < n, i, 2 * n - 1 - i)
    if n == 1:
        return torch.zeros_like(i)
    i = torch.remainder(i, 2 * n - 2)
    return torch.where(i < n, i, 2 * n - 2 - i)


def _remap(x: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor, mode: str) -> torch.Tensor:
    """cv2.remap (bilinear) of an N x C x H x W batch at N x H x W source coordinates,
    borders by index reflection like OpenCV (not grid_sample's coordinate reflection)."""
    n, c, h, w = x.shape
    x0f, y0f = sx.floor(), sy.floor()
    fx, fy = (sx - x0f).unsqueeze(1), (sy - y0f).unsqueeze(1)
    x0, y0 = x0f.long(), y0f.long()
    cols = (_reflect_index(x0, w, mode), _reflect_index(x0 + 1, w, mode))
    rows = (_reflect_index(y0, h, mode) * w, _reflect_index(y0 + 1, h, mode) * w)
    flat = x.reshape(n, c, h * w)

    def tap(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        index = (row + col).reshape(n, 1, h * w).expand(n, c, h * w)
        return flat.gather(2, index).reshape(n, c, h, w)

    top = tap(rows[0], cols[0]) * (1 - fx) + tap(rows[0], cols[1]) * fx
    bottom = tap(rows[1], cols[0]) * (1 - fx) + tap(rows[1], cols[1]) * fx
    return top * (1 - fy) + bottom * fy


@register_torch_op("elastic_transform")
def elastic_transform(batch, params, pset, rngs) -> torch.Tensor:
    alpha, sigma, jitter = params
    n, _, h, w = batch.shape
    device = batch.device
    inverse = np.empty((n, 2, 3), dtype=np.float32)
    fields = np.empty((n, 2, h, w), dtype=np.float32)  # cast while copying: one pass
    for i, rng in enumerate(rngs):  # host: the draws and each image's 3-point affine solve
        offsets, fields[i] = draw_elastic(rng, jitter, h, w)
        inverse[i] = cv2.invertAffineTransform(elastic_affine(h, w, offsets))
    m = torch.from_numpy(inverse).to(device)
    field_t = torch.from_numpy(fields).to(device)

    gy, gx = torch.meshgrid(
        torch.arange(h, dtype=torch.float32, device=device),
        torch.arange(w, dtype=torch.float32, device=device),
        indexing="ij",
    )
    # cv2.warpAffine samples the source at the inverse affine of each output pixel
    coef = [m[:, i, j].view(n, 1, 1) for i in range(2) for j in range(3)]
    sx = coef[0] * gx + coef[1] * gy + coef[2]
    sy = coef[3] * gx + coef[4] * gy + coef[5]
    x = _remap(unit(batch), sx, sy, "mirror")

    # scipy's sigma-0 Gaussian is the identity, as ``gaussian`` treats it
    shift = gaussian(field_t, sigma, mode="reflect", truncate=3) * float(alpha)
    return _remap(x, gx + shift[:, 1], gy + shift[:, 0], "reflect")
