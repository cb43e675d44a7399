"""Torch versions of the shared linear filters in ``ops/filters.py`` and ``ops/geometry.py``.

Borders follow scipy's modes through explicit index maps (torch's padding has no
"reflect with the edge sample repeated"), and the centre zoom is one interpolation
matrix per axis (exact bilinear, no 1/32-pixel grid like OpenCV's).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from shiftlab.corrupt.ops.filters import gaussian_kernel_1d, gaussian_matrix, motion_taps
from shiftlab.corrupt.ops.geometry import zoom_axis_map
from shiftlab.corrupt.torch_ops import host_draws as _host_draws
from shiftlab.corrupt.torch_ops import threaded_map as _threaded_map


@functools.lru_cache(maxsize=128)
def border_index(n: int, pad: int, mode: str) -> np.ndarray:
    """Source index of each of the n + 2 * pad padded samples under scipy ``mode``
    ("nearest": edge repeated, "reflect": mirrored with the edge sample repeated,
    "mirror": mirrored about the edge sample)."""
    i = np.arange(-pad, n + pad)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "reflect":
        period = 2 * n
        i = np.mod(i, period)
        return np.where(i < n, i, period - 1 - i)
    if mode == "mirror":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * n - 2
        i = np.mod(i, period)
        return np.where(i < n, i, period - i)
    raise ValueError(f"unknown border mode {mode!r}")


def pad2d(x: torch.Tensor, pad: int, mode: str) -> torch.Tensor:
    """Pad the last two dimensions of ``x`` by ``pad`` samples under scipy ``mode``."""
    h, w = x.shape[-2:]
    rows = torch.from_numpy(border_index(h, pad, mode)).to(x.device)
    cols = torch.from_numpy(border_index(w, pad, mode)).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def gaussian(
    x: torch.Tensor, sigma: float, mode: str = "nearest", truncate: float = 4.0
) -> torch.Tensor:
    """scipy ``gaussian_filter`` over the last two dims of an N x C x H x W float batch."""
    if sigma <= 0:
        return x.clone()
    k = gaussian_kernel_1d(float(sigma), truncate)
    radius = len(k) // 2
    h, w = x.shape[-2:]
    if radius >= min(h, w):
        gh = torch.from_numpy(gaussian_matrix(h, float(sigma), mode, truncate)).to(x.device)
        gw = torch.from_numpy(gaussian_matrix(w, float(sigma), mode, truncate)).to(x.device)
        return gh @ x.to(torch.float32) @ gw.T
    n, c = x.shape[:2]
    kernel = torch.from_numpy(k.astype(np.float32)).to(x.device)
    padded = pad2d(x.to(torch.float32), radius, mode).reshape(n * c, 1, h + 2 * radius, -1)
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1))
    out = F.conv2d(out, kernel.view(1, 1, -1, 1))
    return out.reshape(n, c, h, w)


@functools.lru_cache(maxsize=64)
def zoom_matrix(n: int, zoom: float) -> np.ndarray:
    """n x n bilinear matrix of ``clipped_zoom`` along one axis (edge samples repeated)."""
    scale, offset = zoom_axis_map(n, zoom)
    src = scale * np.arange(n, dtype=np.float64) + offset
    src = np.clip(src, 0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = src - lo
    m = np.zeros((n, n), dtype=np.float64)
    np.add.at(m, (np.arange(n), lo), 1 - frac)
    np.add.at(m, (np.arange(n), hi), frac)
    return m.astype(np.float32)


def clipped_zoom(x: torch.Tensor, zoom: float) -> torch.Tensor:
    """Zoom the last two dims of a float batch by ``zoom`` about the centre, same size."""
    h, w = x.shape[-2:]
    mh = torch.from_numpy(zoom_matrix(h, float(zoom))).to(x.device)
    mw = torch.from_numpy(zoom_matrix(w, float(zoom))).to(x.device)
    return mh @ x @ mw.T


def motion_blur(x: torch.Tensor, radius: float, sigma: float, angles: list[float]) -> torch.Tensor:
    """ImageMagick-style motion blur of an N x C x H x W float batch, one angle per image
    (taps as in ``ops.filters.motion_taps``; edges replicated)."""
    n, c, h, w = x.shape
    taps = [motion_taps(radius, sigma, float(a)) for a in angles]
    pad = max(max(abs(dy), abs(dx)) for image_taps in taps for dy, dx, _ in image_taps)
    count = max(len(t) for t in taps)
    dy = np.zeros((n, count), dtype=np.int64)
    dx = np.zeros((n, count), dtype=np.int64)
    wt = np.zeros((n, count), dtype=np.float32)
    for i, image_taps in enumerate(taps):
        for j, (ty, tx, tw) in enumerate(image_taps):
            dy[i, j], dx[i, j], wt[i, j] = ty, tx, tw
    padded = pad2d(x.to(torch.float32), pad, "nearest")
    wp = w + 2 * pad
    flat = padded.reshape(n, c, -1)
    base = (torch.arange(h, device=x.device)[:, None] + pad) * wp + (
        torch.arange(w, device=x.device)[None, :] + pad
    )
    shift = torch.from_numpy(dy * wp + dx).to(x.device)  # N x T
    weights = torch.from_numpy(wt).to(x.device)
    out = torch.zeros((n, c, h * w), dtype=torch.float32, device=x.device)
    for j in range(count):
        index = (base.reshape(1, -1) + shift[:, j : j + 1]).unsqueeze(1).expand(n, c, h * w)
        out += weights[:, j].view(n, 1, 1) * flat.gather(2, index)
    return out.reshape(n, c, h, w)


def filter2d(x: torch.Tensor, kernel: np.ndarray, mode: str = "mirror") -> torch.Tensor:
    """``cv2.filter2D`` (a correlation; default border = scipy "mirror") of every channel of
    an N x C x H x W float batch with one odd-sized 2-D kernel."""
    n, c, h, w = x.shape
    kh, kw = kernel.shape
    if kh != kw or kh % 2 == 0:
        raise ValueError(f"filter2d takes an odd square kernel, got {kernel.shape}")
    pad = kh // 2
    k = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32)).to(x.device)
    padded = pad2d(x.to(torch.float32), pad, mode).reshape(n * c, 1, h + 2 * pad, w + 2 * pad)
    return F.conv2d(padded, k.view(1, 1, kh, kw)).reshape(n, c, h, w)


# kept under their old names for the operators that import them from here
threaded_map = _threaded_map
threaded_host_draws = _host_draws
