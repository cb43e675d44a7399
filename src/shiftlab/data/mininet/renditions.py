"""Drawn MiniNet images: Sketch line drawings, ImageNet-R renditions, cue-conflict stimuli.

These keep a class's shape but drop (or swap) its texture, which is what the shape-bias
and rendition benchmarks measure; the photo-like images live in `photos`.
"""

from __future__ import annotations

import math

import numpy as np

from shiftlab.data.mininet import draw
from shiftlab.data.mininet.photos import PhotoStyle, place, textured_object
from shiftlab.data.mininet.spec import canvas_size


def render_sketch(rng: np.random.Generator, image_size: int, shape: str) -> np.ndarray:
    """A pencil line drawing: jittered double outlines on paper, no texture, greyscale."""
    size = canvas_size(image_size)
    paper = 0.82 + 0.16 * rng.random()
    grain = draw.smooth_noise(size, int(rng.integers(4, 9)), rng)[..., 0]
    canvas = np.repeat((paper - 0.06 * grain)[..., None], 3, axis=2).astype(np.float32)
    canvas = _scribbles(canvas, rng, int(rng.integers(0, 4)))
    cx, cy, r = place(rng, size, (0.22, 0.38))
    angle = (2 * rng.random() - 1) * math.radians(20)
    width = max(1, size // 64)
    ink = np.full(3, 0.05 + 0.3 * rng.random(), dtype=np.float32)
    for _ in range(int(rng.integers(2, 4))):
        jx, jy = rng.normal(0.0, size * 0.008, 2)
        mask = draw.shape_mask(
            shape,
            cx + jx,
            cy + jy,
            r * (1 + rng.normal(0, 0.03)),
            angle + rng.normal(0, 0.04),
            size,
        )
        canvas = draw.paint(canvas, ink, draw.outline(mask, width) * (0.55 + 0.4 * rng.random()))
    grey = canvas.mean(axis=2, keepdims=True)
    return draw.finish(np.repeat(grey, 3, axis=2), image_size, rng, 0.01)


def _scribbles(canvas: draw.Canvas, rng: np.random.Generator, n: int) -> draw.Canvas:
    """Faint stray pencil lines, so the paper is not a give-away blank background."""
    size = canvas.shape[0]
    for _ in range(n):
        x0, y0, x1, y1 = rng.random(4) * size
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / (dx * dx + dy * dy + 1e-6), 0, 1)
        d = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy))
        canvas = draw.paint(canvas, np.full(3, 0.5, np.float32), np.clip(1.0 - d, 0, 1) * 0.4)
    return canvas


RENDITION_STYLES = ("cartoon", "graphic")


def render_rendition(
    rng: np.random.Generator, image_size: int, shape: str, style: str
) -> np.ndarray:
    """A flat-colour rendition: 'cartoon' (thick dark outline) or 'graphic' (drop shadow)."""
    size = canvas_size(image_size)
    bg = draw.hsv(rng.random(), 0.15 + 0.4 * rng.random(), 0.75 + 0.25 * rng.random())
    canvas = np.broadcast_to(bg, (size, size, 3)).astype(np.float32)
    if rng.random() < 0.5:  # two-tone split background
        other = draw.hsv(rng.random(), 0.2 + 0.5 * rng.random(), 0.6 + 0.4 * rng.random())
        half = np.zeros((size, size), np.float32)
        half[:, size // 2 :] = 1.0 if rng.random() < 0.5 else 0.0
        half[size // 2 :, :] = 1.0 - half[size // 2 :, :]
        canvas = draw.paint(canvas, other, half)
    cx, cy, r = place(rng, size, (0.24, 0.4))
    angle = (2 * rng.random() - 1) * math.radians(20)
    mask = draw.shape_mask(shape, cx, cy, r, angle, size)
    fill = draw.hsv(rng.random(), 0.6 + 0.4 * rng.random(), 0.5 + 0.5 * rng.random())
    if style == "graphic":
        shift = size * 0.04
        shadow = draw.shape_mask(shape, cx + shift, cy + shift, r, angle, size)
        canvas = draw.paint(canvas, np.zeros(3, np.float32), shadow * 0.35)
        canvas = draw.paint(canvas, fill, mask)
    else:
        canvas = draw.paint(canvas, fill, mask)
        canvas = draw.paint(
            canvas, np.full(3, 0.08, np.float32), draw.outline(mask, max(1, size // 40))
        )
    return draw.finish(canvas, image_size, rng, 0.005)


def render_cue_conflict(
    rng: np.random.Generator, image_size: int, shape: str, texture: str
) -> np.ndarray:
    """The silhouette of one class filled with the texture of another, on a plain light ground."""
    size = canvas_size(image_size)
    style = PhotoStyle(contrast=(0.55, 0.85), rotation=math.radians(10))
    canvas = draw.background("gradient", size, rng, value=1.0, saturation=0.15)
    canvas = 0.75 + 0.25 * canvas
    cx, cy = size * (0.5 + 0.08 * (rng.random(2) - 0.5))
    r = size * (0.32 + 0.06 * rng.random())
    canvas = textured_object(canvas, rng, shape, texture, float(cx), float(cy), float(r), style)
    return draw.finish(canvas, image_size, rng, 0.0)
