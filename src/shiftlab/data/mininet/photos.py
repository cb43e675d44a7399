"""Photo-like MiniNet images (train, val, V2, A, O): one textured object in a scene.

The benchmarks' distribution shifts are expressed as changes of one `PhotoStyle`, so each
shift reads as a short list of knobs rather than as a renderer of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shiftlab.data.mininet import draw
from shiftlab.data.mininet.spec import CLASSES, canvas_size


@dataclass(frozen=True)
class PhotoStyle:
    """Distribution knobs of a photo-like benchmark; the shifts are changes of these."""

    radius: tuple[float, float] = (0.2, 0.38)  # object radius / image size
    backgrounds: tuple[str, ...] = ("gradient", "noise", "clutter")
    bg_weights: tuple[float, ...] = (0.35, 0.35, 0.3)
    bg_value: float = 1.0
    bg_saturation: float = 1.0
    contrast: tuple[float, float] = (0.25, 0.75)  # value gap of the two texture colours
    period: tuple[float, float] = (0.085, 0.12)  # texture period / image size
    rotation: float = math.radians(20)
    occlude_p: float = 0.15
    distractors: tuple[int, int] = (0, 0)  # class textures on novel shapes, in the background
    noise: float = 0.02


STYLES: dict[str, PhotoStyle] = {
    "train": PhotoStyle(),
    "val": PhotoStyle(),
    # V2: re-collected test sets, same classes, shifted statistics (backgrounds, object size,
    # texture contrast, pose). Matched-frequency is the hardest shift and top-images the
    # mildest, as in the real ImageNetV2 (one small CNN, 15 epochs on the demo train split:
    # val 0.68, top-images 0.69, threshold0.7 0.64, matched-frequency 0.56).
    "v2-matched-frequency": PhotoStyle(
        radius=(0.17, 0.32),
        bg_weights=(0.2, 0.35, 0.45),
        bg_value=0.6,
        contrast=(0.18, 0.6),
        occlude_p=0.25,
    ),
    "v2-threshold0.7": PhotoStyle(
        radius=(0.18, 0.34),
        bg_weights=(0.25, 0.4, 0.35),
        bg_value=0.75,
        contrast=(0.2, 0.65),
        occlude_p=0.2,
    ),
    "v2-top-images": PhotoStyle(
        radius=(0.18, 0.36),
        bg_weights=(0.45, 0.35, 0.2),
        bg_saturation=0.8,
        contrast=(0.2, 0.7),
        rotation=math.radians(26),
        noise=0.03,
    ),
    # A: small, cluttered, occluded objects among other classes' textures.
    "imagenet-a": PhotoStyle(
        radius=(0.13, 0.22),
        backgrounds=("clutter", "noise"),
        bg_weights=(0.7, 0.3),
        contrast=(0.2, 0.6),
        occlude_p=0.7,
        distractors=(2, 4),
        noise=0.03,
    ),
    "imagenet-o": PhotoStyle(),
}


def place(
    rng: np.random.Generator, size: int, radius: tuple[float, float]
) -> tuple[float, float, float]:
    """A random centre and radius (fractions of `size`) that keep the object in frame."""
    r = size * (radius[0] + (radius[1] - radius[0]) * rng.random())
    margin = 0.7 * r
    cx, cy = margin + (size - 2 * margin) * rng.random(2)
    return float(cx), float(cy), float(r)


def textured_object(
    canvas: draw.Canvas,
    rng: np.random.Generator,
    shape: str,
    texture: str,
    cx: float,
    cy: float,
    r: float,
    style: PhotoStyle,
) -> draw.Canvas:
    """One object of `shape` filled with `texture` in two random colours, composited on top."""
    size = canvas.shape[0]
    angle = (2 * rng.random() - 1) * style.rotation
    mask = draw.shape_mask(shape, cx, cy, r, angle, size)
    contrast = style.contrast[0] + (style.contrast[1] - style.contrast[0]) * rng.random()
    a, b = draw.colour_pair(rng, contrast)
    period = size * (style.period[0] + (style.period[1] - style.period[0]) * rng.random())
    t = draw.texture(texture, size, cx, cy, angle, period, rng)
    layer = b + t[..., None] * (a - b)
    return draw.composite(canvas, layer, mask)


def render_photo(
    rng: np.random.Generator,
    image_size: int,
    shape: str,
    texture: str,
    style: PhotoStyle,
    second: tuple[str, str] | None = None,
    ambiguous: bool = False,
) -> np.ndarray:
    """A photo-like image of one object (two with `second`; a hidden one when `ambiguous`)."""
    size = canvas_size(image_size)
    kind = str(
        rng.choice(style.backgrounds, p=np.asarray(style.bg_weights) / sum(style.bg_weights))
    )
    canvas = draw.background(kind, size, rng, style.bg_value, style.bg_saturation)
    lo, hi = style.distractors
    for _ in range(int(rng.integers(lo, hi + 1)) if hi else 0):
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        novel = draw.NOVEL_SHAPES[int(rng.integers(len(draw.NOVEL_SHAPES)))]
        cx, cy, r = place(rng, size, (0.1, 0.2))
        canvas = textured_object(canvas, rng, novel, cls.texture, cx, cy, r, style)
    if second is not None:
        # Two objects side by side (ReaL multi-label images): split the frame along an axis.
        r1, r2 = size * (0.17 + 0.07 * rng.random(2))
        along = rng.random() < 0.5
        flip = rng.random() < 0.5
        offsets = (0.28, 0.72) if not flip else (0.72, 0.28)
        jitter = size * (0.3 + 0.4 * rng.random(2))
        objects = ((second[0], second[1], r2), (shape, texture, r1))
        for (shp, tex, r), off, j in zip(objects, offsets, jitter, strict=True):
            cx, cy = (size * off, j) if along else (j, size * off)
            canvas = textured_object(canvas, rng, shp, tex, cx, cy, r, style)
    elif ambiguous:
        # A tiny object buried under clutter and bars: raters would not agree on a label.
        cx, cy, r = place(rng, size, (0.07, 0.1))
        canvas = textured_object(canvas, rng, shape, texture, cx, cy, r, style)
        canvas = draw.strokes(canvas, rng, int(rng.integers(6, 10)))
        canvas = draw.occluders(canvas, rng, 3, 0.07)
    else:
        cx, cy, r = place(rng, size, style.radius)
        canvas = textured_object(canvas, rng, shape, texture, cx, cy, r, style)
    if rng.random() < style.occlude_p:
        canvas = draw.occluders(canvas, rng, int(rng.integers(1, 3)), 0.05 + 0.04 * rng.random())
    return draw.finish(canvas, image_size, rng, style.noise)
