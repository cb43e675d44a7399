"""Blur corruptions: Gaussian, glass, defocus, motion and zoom blur."""

from __future__ import annotations

import cv2
import numpy as np

from shiftlab.corrupt.ops.filters import disk_kernel, gaussian
from shiftlab.corrupt.ops.filters import motion_blur as _motion
from shiftlab.corrupt.ops.geometry import clipped_zoom
from shiftlab.corrupt.registry import register_corruption


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) * np.float32(1 / 255)


@register_corruption("gaussian_blur", family="blur", stochastic=False)
def gaussian_blur(image, sigma, pset, rng) -> np.ndarray:
    return gaussian(image, sigma, mode="nearest")  # uint8 in: blurs image / 255


@register_corruption("defocus_blur", family="blur", stochastic=False)
def defocus_blur(image, params, pset, rng) -> np.ndarray:
    radius, alias_blur = params
    # cv2.filter2D's default border (reflect-101), as in the reference
    return cv2.filter2D(_unit(image), -1, disk_kernel(radius, alias_blur))


def draw_motion_angle(rng: np.random.Generator) -> float:
    """Motion blur's direction in degrees (shared with the torch operator, so both paths
    consume each image's stream identically)."""
    return rng.uniform(-45, 45)


@register_corruption("motion_blur", family="blur", stochastic=True)
def motion_blur(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    # The reference ran ImageMagick on the 8-bit image and wrote 8 bits back (rounding).
    radius, sigma = params
    angle = draw_motion_angle(rng)
    blurred = _motion(image.astype(np.float32), radius, sigma, angle)
    return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)


@register_corruption("zoom_blur", family="blur", stochastic=False)
def zoom_blur(image, params, pset, rng) -> np.ndarray:
    x = _unit(image)
    factors = np.arange(*params)
    out = x.copy()
    for factor in factors:
        out += clipped_zoom(x, float(factor))
    return out / np.float32(len(factors) + 1)


def glass_centres(height: int, width: int, max_delta: int) -> np.ndarray:
    """Flat indices of the pixels glass blur visits, in its visiting order."""
    d = int(max_delta)
    rows = np.arange(height - d, d, -1)
    cols = np.arange(width - d, d, -1)
    return (rows[:, None] * width + cols[None, :]).ravel()


def draw_glass_offsets(
    rng: np.random.Generator, count: int, max_delta: int, iterations: int
) -> np.ndarray:
    """Glass blur's draws: iterations x 2 x count (dy, dx) offsets of the visited pixels,
    one ``integers`` call per iteration as before (shared with the torch operator)."""
    d = int(max_delta)
    draws = [rng.integers(-d, d, size=(2, count)) for _ in range(iterations)]
    return np.stack(draws) if draws else np.zeros((0, 2, count), dtype=np.int64)


def shuffle_sources(
    height: int, width: int, max_delta: int, iterations: int, rng: np.random.Generator
) -> np.ndarray:
    """Flat source index per pixel after glass blur's local "swaps", computed exactly.

    The reference visits every interior pixel p (rows, then columns, both descending),
    draws an offset (dy, dx), each uniform in [-d, d-1], and runs
    ``x[p], x[q] = x[q], x[p]`` on numpy rows. Those are views, so that statement is not a
    swap: it copies x[q] into x[p] and leaves x[q] as it is. Each position is written
    only at its own visit, hence
        src(p) = q          if q is not visited before p (x[q] is still the original), else
        src(p) = src(q)     (x[q] already holds its final value).
    Links only point to earlier-visited positions, so the chains are acyclic and pointer
    doubling resolves them all in O(log chain length) vectorized steps instead of a
    ~0.4 s Python loop. Iterations compose: the result is identical to the sequential
    loop for the same offsets.
    """
    total = np.arange(height * width, dtype=np.int64)
    centres = glass_centres(height, width, max_delta)
    if centres.size == 0:
        return total
    is_centre = np.zeros(height * width, dtype=bool)
    is_centre[centres] = True
    for dy, dx in draw_glass_offsets(rng, centres.size, max_delta, iterations):
        partners = centres + dy * width + dx
        # visited earlier = later in the descending sweep's reverse: a larger flat index
        link = np.zeros(height * width, dtype=bool)
        link[centres] = is_centre[partners] & (partners > centres)
        source = np.arange(height * width, dtype=np.int64)
        source[centres] = partners
        while link.any():
            hop = source[link]
            next_link = link.copy()
            next_link[link] = link[hop]
            source[link] = source[hop]
            link = next_link
        total = total[source]
    return total


@register_corruption("glass_blur", family="blur", stochastic=True)
def glass_blur(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    sigma, max_delta, iterations = params
    h, w = image.shape[:2]
    blurred = gaussian(_unit(image), sigma, mode="nearest")
    quantized = (blurred * np.float32(255)).astype(np.uint8)  # the reference's np.uint8 floor
    sources = shuffle_sources(h, w, max_delta, iterations, rng)
    shuffled = quantized.reshape(h * w, -1)[sources].reshape(quantized.shape)
    return gaussian(_unit(shuffled), sigma, mode="nearest")
