"""Drawing primitives for the MiniNet world: shapes, textures, backgrounds, compositing.

Everything works on float32 RGB canvases in [0, 1] at a supersampled resolution and is
driven by an explicit `numpy.random.Generator`, so an image is a pure function of its seed.
Only numpy and PIL are used: the whole demo world renders in a second or two on one core.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Canvas = np.ndarray  # float32 (H, W, 3) in [0, 1]
Mask = np.ndarray  # float32 (H, W) in [0, 1]

# Shape outlines in unit coordinates (radius ~1, centred, y pointing down). Each shape is a
# list of (polygon, fill) passes so that holes (ring, crescent) are drawn by subtraction.
_Pass = tuple[np.ndarray, int]


def _circle(r: float = 1.0, cx: float = 0.0, cy: float = 0.0, n: int = 48) -> np.ndarray:
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def _regular(n: int, r: float = 1.0, phase: float = -math.pi / 2) -> np.ndarray:
    t = phase + np.arange(n) * 2 * math.pi / n
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    t = -math.pi / 2 + np.arange(2 * points) * math.pi / points
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _heart() -> np.ndarray:
    t = np.linspace(0.0, 2 * math.pi, 64, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 2.5], axis=1) / 16.5


def _poly(*xy: float) -> np.ndarray:
    return np.asarray(xy, dtype=np.float64).reshape(-1, 2)


@cache
def shape_passes(name: str) -> tuple[_Pass, ...]:
    """The fill passes of a named shape (class shapes first, then the novel ImageNet-O ones)."""
    table: dict[str, tuple[_Pass, ...]] = {
        "disc": ((_circle(0.9), 255),),
        "square": ((_poly(-0.75, -0.75, 0.75, -0.75, 0.75, 0.75, -0.75, 0.75), 255),),
        "triangle": ((_regular(3, 1.1, -math.pi / 2) + [0.0, 0.2], 255),),
        "star": ((_star(5, 0.45) * 1.05, 255),),
        "cross": (
            (
                _poly(
                    -0.3,
                    -1,
                    0.3,
                    -1,
                    0.3,
                    -0.3,
                    1,
                    -0.3,
                    1,
                    0.3,
                    0.3,
                    0.3,
                    0.3,
                    1,
                    -0.3,
                    1,
                    -0.3,
                    0.3,
                    -1,
                    0.3,
                    -1,
                    -0.3,
                    -0.3,
                    -0.3,
                ),
                255,
            ),
        ),
        "ring": ((_circle(1.0), 255), (_circle(0.55), 0)),
        "hexagon": ((_regular(6, 0.95, 0.0), 255),),
        "crescent": ((_circle(1.0), 255), (_circle(0.8, 0.45, -0.25), 0)),
        "arrow": (
            (
                _poly(
                    0, -1, 0.75, -0.15, 0.28, -0.15, 0.28, 1, -0.28, 1, -0.28, -0.15, -0.75, -0.15
                ),
                255,
            ),
        ),
        "heart": ((_heart(), 255),),
        # Novel shapes: never used by a class (ImageNet-O anomalies).
        "ell": ((_poly(-0.7, -1, -0.2, -1, -0.2, 0.5, 0.8, 0.5, 0.8, 1, -0.7, 1), 255),),
        "tee": (
            (
                _poly(
                    -1, -0.9, 1, -0.9, 1, -0.4, 0.25, -0.4, 0.25, 1, -0.25, 1, -0.25, -0.4, -1, -0.4
                ),
                255,
            ),
        ),
        "bolt": (
            (
                _poly(
                    0.1, -1, -0.55, 0.15, -0.05, 0.15, -0.25, 1, 0.55, -0.2, 0.05, -0.2, 0.35, -1
                ),
                255,
            ),
        ),
        "hourglass": ((_poly(-0.8, -1, 0.8, -1, 0.15, 0, 0.8, 1, -0.8, 1, -0.15, 0), 255),),
        "trapezoid": ((_poly(-0.45, -0.7, 0.45, -0.7, 1, 0.7, -1, 0.7), 255),),
    }
    return table[name]


CLASS_SHAPES = (
    "disc",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "hexagon",
    "crescent",
    "arrow",
    "heart",
)
NOVEL_SHAPES = ("ell", "tee", "bolt", "hourglass", "trapezoid")
CLASS_TEXTURES = (
    "stripes",
    "dots",
    "checker",
    "waves",
    "grid",
    "blobs",
    "concentric",
    "hatch",
    "zigzag",
    "solid",
)
NOVEL_TEXTURES = ("spokes", "bricks", "speckle")


def shape_mask(name: str, cx: float, cy: float, radius: float, angle: float, size: int) -> Mask:
    """Anti-aliased coverage mask of a shape placed at (cx, cy) with a radius and rotation (radians)."""
    over = 4  # polygon rasterisation is binary: draw 4x larger and box-filter down
    img = Image.new("L", (size * over, size * over), 0)
    draw = ImageDraw.Draw(img)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])
    for pts, fill in shape_passes(name):
        xy = (pts @ rot) * radius + [cx, cy]
        draw.polygon([tuple(p) for p in (xy * over).tolist()], fill=fill)
    img = img.resize((size, size), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.float32) / 255.0


def outline(mask: Mask, width: int = 1) -> Mask:
    """Edge band of a mask (morphological gradient): the outline of any shape, holes included."""
    img = Image.fromarray(np.round(mask * 255).astype(np.uint8))
    k = 2 * width + 1
    grown = np.asarray(img.filter(ImageFilter.MaxFilter(k)), dtype=np.float32)
    shrunk = np.asarray(img.filter(ImageFilter.MinFilter(k)), dtype=np.float32)
    return np.clip((grown - shrunk) / 255.0, 0.0, 1.0)


# --- textures --------------------------------------------------------------------------


def _soft(x: np.ndarray, sharp: float) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(sharp * x)


def _frac_dist(x: np.ndarray) -> np.ndarray:
    return np.abs(x - np.round(x))


def smooth_noise(size: int, cells: int, rng: np.random.Generator, channels: int = 1) -> np.ndarray:
    """Band-limited noise: a few random values per axis, bicubically upsampled."""
    cells = max(2, cells)
    low = rng.random((cells, cells, channels)).astype(np.float32)
    planes = [
        np.asarray(
            Image.fromarray(low[..., i], mode="F").resize((size, size), Image.Resampling.BICUBIC),
            dtype=np.float32,
        )
        for i in range(channels)
    ]
    return np.clip(np.stack(planes, axis=-1), 0.0, 1.0)


def texture(
    name: str,
    size: int,
    cx: float,
    cy: float,
    angle: float,
    period: float,
    rng: np.random.Generator,
) -> Mask:
    """A two-tone pattern value in [0, 1] over the canvas, in the object's rotated frame.

    The frame is centred on the object and rotates with it, with a random phase, so the
    pattern is a property of the object, not of pixel positions.
    """
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = xs - cx, ys - cy
    c, s = math.cos(angle), math.sin(angle)
    u = (dx * c + dy * s) / period
    v = (-dx * s + dy * c) / period
    r = np.hypot(u, v)
    u0, v0 = rng.random(2)
    uu, vv = u + u0, v + v0
    if name == "stripes":  # thick horizontal bands
        return _soft(np.sin(2 * math.pi * vv), 3.0)
    if name == "dots":
        return _soft(0.3 - np.hypot(_frac_dist(uu), _frac_dist(vv)), 14.0)
    if name == "checker":
        return _soft(np.sin(math.pi * uu) * np.sin(math.pi * vv), 6.0)
    if name == "waves":
        return _soft(np.sin(2 * math.pi * (vv + 0.35 * np.sin(math.pi * uu))), 3.0)
    if name == "grid":  # axis-aligned lines, large cells
        d = np.minimum(_frac_dist(uu * 0.7), _frac_dist(vv * 0.7))
        return _soft(0.1 - d, 18.0)
    if name == "blobs":
        field = smooth_noise(size, int(size / (period * 1.2)), rng)[..., 0]
        return _soft(field - np.median(field), 25.0)
    if name == "concentric":
        return _soft(np.sin(2 * math.pi * (r + u0)), 3.0)
    if name == "hatch":  # dense thin diagonal cross-hatching
        a, b = (uu + vv) / (math.sqrt(2) * 0.6), (uu - vv) / (math.sqrt(2) * 0.6)
        return _soft(0.12 - np.minimum(_frac_dist(a), _frac_dist(b)), 18.0)
    if name == "zigzag":  # chevrons
        tri = 2.0 * np.abs(uu * 0.6 - np.floor(uu * 0.6) - 0.5)
        return _soft(np.sin(2 * math.pi * (vv + 0.8 * tri)), 3.0)
    if name == "solid":  # one colour, a faint shading so it is not perfectly flat
        return np.clip(0.9 + 0.1 * (u / (r.max() + 1e-6)), 0.0, 1.0).astype(np.float32)
    # Novel textures: never used by a class (ImageNet-O anomalies).
    if name == "spokes":
        return _soft(np.sin(9 * np.arctan2(v, u) + 6 * u0), 3.0)
    if name == "bricks":
        row = np.floor(vv * 1.4)
        shifted = uu * 0.8 + 0.5 * (row % 2)
        mortar = np.minimum(_frac_dist(vv * 1.4), _frac_dist(shifted) * 1.6)
        return _soft(mortar - 0.1, 18.0)
    if name == "speckle":
        fine = rng.random((size, size)).astype(np.float32)
        return (fine > 0.5).astype(np.float32)
    raise KeyError(f"unknown texture {name!r}")


# --- colours, backgrounds, compositing ----------------------------------------------------


def hsv(h: float, s: float, v: float) -> np.ndarray:
    """An RGB colour from hue/saturation/value in [0, 1]."""
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.asarray(rgb, dtype=np.float32)


def colour_pair(rng: np.random.Generator, contrast: float) -> tuple[np.ndarray, np.ndarray]:
    """Two colours for a texture: random hues, values apart by `contrast` (so the pattern shows)."""
    h1, h2 = rng.random(2)
    v_hi = 0.55 + 0.45 * rng.random()
    v_lo = max(0.0, v_hi - contrast)
    a = hsv(h1, 0.3 + 0.7 * rng.random(), v_hi)
    b = hsv(h2, 0.3 + 0.7 * rng.random(), v_lo)
    return (a, b) if rng.random() < 0.5 else (b, a)


def background(
    kind: str, size: int, rng: np.random.Generator, value: float = 1.0, saturation: float = 1.0
) -> Canvas:
    """A background canvas: 'gradient', 'noise' (smooth colour field) or 'clutter' (gradient + strokes).

    `value` and `saturation` scale the colour statistics; the V2 variants shift them.
    """

    def col() -> np.ndarray:
        return hsv(rng.random(), saturation * rng.random(), value * (0.25 + 0.75 * rng.random()))

    if kind == "noise":
        a, b = col(), col()
        field = smooth_noise(size, int(rng.integers(3, 7)), rng)
        return (b + field * (a - b)).astype(np.float32)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    theta = rng.random() * 2 * math.pi
    ramp = np.clip(0.5 + (xs - 0.5) * math.cos(theta) + (ys - 0.5) * math.sin(theta), 0, 1)
    a, b = col(), col()
    canvas = (b + ramp[..., None] * (a - b)).astype(np.float32)
    if kind == "clutter":
        canvas = strokes(canvas, rng, int(rng.integers(3, 9)), value, saturation)
    return canvas


def strokes(
    canvas: Canvas, rng: np.random.Generator, n: int, value: float = 1.0, saturation: float = 1.0
) -> Canvas:
    """Random lines and ellipses: clutter that carries no class information."""
    size = canvas.shape[0]
    img = Image.fromarray(np.round(canvas * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(n):
        rgb = hsv(rng.random(), saturation * rng.random(), value * (0.2 + 0.8 * rng.random()))
        fill = tuple(int(x) for x in np.round(rgb * 255))
        x0, y0, x1, y1 = (rng.random(4) * size).tolist()
        if rng.random() < 0.6:
            draw.line(
                [(x0, y0), (x1, y1)],
                fill=fill,
                width=max(1, int(size * (0.01 + 0.03 * rng.random()))),
            )
        else:
            w = size * (0.04 + 0.12 * rng.random())
            draw.ellipse([x0, y0, x0 + w, y0 + w * (0.5 + rng.random())], fill=fill)
    return np.asarray(img, dtype=np.float32) / 255.0


def composite(canvas: Canvas, layer: Canvas, alpha: Mask) -> Canvas:
    """Alpha-blend a layer (H, W, 3) over a canvas with a coverage mask (H, W)."""
    a = alpha[..., None]
    return canvas * (1.0 - a) + layer * a


def paint(canvas: Canvas, colour: np.ndarray, alpha: Mask) -> Canvas:
    """Alpha-blend a flat colour over a canvas."""
    a = alpha[..., None]
    return canvas * (1.0 - a) + colour * a


def occluders(canvas: Canvas, rng: np.random.Generator, n: int, thickness: float) -> Canvas:
    """Opaque bars across the canvas: hide parts of an object."""
    size = canvas.shape[0]
    img = Image.fromarray(np.round(canvas * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(n):
        rgb = hsv(rng.random(), rng.random(), 0.15 + 0.8 * rng.random())
        fill = tuple(int(x) for x in np.round(rgb * 255))
        x0, y0 = (rng.random(2) * size).tolist()
        angle = rng.random() * math.pi
        length = size * (0.5 + rng.random())
        x1, y1 = x0 + length * math.cos(angle), y0 + length * math.sin(angle)
        draw.line([(x0, y0), (x1, y1)], fill=fill, width=max(1, int(size * thickness)))
    return np.asarray(img, dtype=np.float32) / 255.0


def finish(canvas: Canvas, out_size: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Global brightness/contrast jitter, sensor noise, box-filter down to the output size, uint8."""
    gain = 0.85 + 0.3 * rng.random()
    bias = (rng.random() - 0.5) * 0.12
    x = (canvas - 0.5) * gain + 0.5 + bias
    if noise > 0:
        x = x + noise * rng.standard_normal(x.shape, dtype=np.float32)
    img = Image.fromarray(np.round(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8))
    if img.size[0] != out_size:
        img = img.resize((out_size, out_size), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.uint8)
