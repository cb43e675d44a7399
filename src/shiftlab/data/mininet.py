"""MiniNet: a seeded, tiny stand-in for ImageNet and its distribution-shift benchmarks.

Ten real ImageNet-1k classes (`shiftlab.labels.MININET_WNIDS`), each with its own *shape*
and its own *texture*, rendered on varied backgrounds with random placement, scale,
rotation and colour. Every benchmark is written in its official on-disk layout
(BENCHMARKS.md §2), so the demo study exercises the same readers, rules and metrics as a
real ImageNet study. Each image is a pure function of (seed, benchmark, class, k): the
bytes do not depend on generation order, and a different seed changes every image.

The world is written into a temporary sibling folder and renamed into place;
`MANIFEST.json` (params, counts, class subsets, sha256 of every file) is written last, so
an interrupted run never leaves something that looks complete.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from shiftlab.data import mininet_draw as draw
from shiftlab.errors import UserError
from shiftlab.labels import MININET_WNIDS

FORMAT = "shiftlab-mininet/1"
MANIFEST = "MANIFEST.json"
JPEG_QUALITY = 90
SUPERSAMPLE = 2  # render at 2x and box-filter down: clean edges and textures at 32-64 px


@dataclass(frozen=True)
class MiniClass:
    wnid: str
    imagenet_index: int
    name: str
    shape: str
    texture: str
    category: str | None  # model-vs-human 16-class category (cue-conflict), None if none


# One row per class, in MININET_WNIDS order. Shapes and textures are each used exactly once.
CLASSES: tuple[MiniClass, ...] = (
    MiniClass("n01514859", 8, "hen", "triangle", "stripes", "bird"),
    MiniClass("n01664065", 33, "loggerhead", "hexagon", "dots", None),
    MiniClass("n02099601", 207, "golden retriever", "disc", "waves", "dog"),
    MiniClass("n02123045", 281, "tabby", "star", "zigzag", "cat"),
    MiniClass("n02132136", 294, "brown bear", "square", "checker", "bear"),
    MiniClass("n02504013", 385, "Indian elephant", "cross", "grid", "elephant"),
    MiniClass("n02690373", 404, "airliner", "arrow", "hatch", "airplane"),
    MiniClass("n02708093", 409, "analog clock", "ring", "concentric", "clock"),
    MiniClass("n02814533", 436, "beach wagon", "crescent", "blobs", "car"),
    MiniClass("n02835271", 444, "tandem bicycle", "heart", "solid", "bicycle"),
)
assert tuple(c.wnid for c in CLASSES) == MININET_WNIDS

# Class subsets of the 200-class benchmarks, scaled down (A and R differ, as in the real ones).
SUBSETS: dict[str, tuple[str, ...]] = {
    "imagenet-r": tuple(c.wnid for c in CLASSES if c.imagenet_index not in (33, 409)),
    "imagenet-a": tuple(c.wnid for c in CLASSES if c.imagenet_index not in (8, 294, 436)),
    "imagenet-o": tuple(c.wnid for c in CLASSES if c.imagenet_index not in (207, 294, 385, 444)),
}
V2_VARIANTS = ("matched-frequency", "threshold0.7", "top-images")
REAL_EMPTY_FRACTION = 0.05
REAL_MULTI_FRACTION = 0.10


@dataclass(frozen=True)
class MiniNetParams:
    """Generator settings (defaults: the demo world, small enough for a 2-core laptop)."""

    seed: int = 0
    image_size: int = 64
    train_per_class: int = 40
    val_per_class: int = 10
    shifted_per_class: int = 6

    def validate(self) -> None:
        if self.seed < 0:
            raise UserError(f"mininet seed must be >= 0, got {self.seed}")
        if not 16 <= self.image_size <= 512:
            raise UserError(f"mininet image size must be in 16..512 pixels, got {self.image_size}")
        for key in ("train_per_class", "val_per_class", "shifted_per_class"):
            if getattr(self, key) < 1:
                raise UserError(f"mininet {key} must be >= 1, got {getattr(self, key)}")


# --- photo-like rendering (train, val, V2, A, O) --------------------------------------------


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


def _canvas_size(image_size: int) -> int:
    return image_size * SUPERSAMPLE


def _place(
    rng: np.random.Generator, size: int, radius: tuple[float, float]
) -> tuple[float, float, float]:
    r = size * (radius[0] + (radius[1] - radius[0]) * rng.random())
    margin = 0.7 * r
    cx, cy = margin + (size - 2 * margin) * rng.random(2)
    return float(cx), float(cy), float(r)


def _textured_object(
    canvas: draw.Canvas,
    rng: np.random.Generator,
    shape: str,
    texture: str,
    cx: float,
    cy: float,
    r: float,
    style: PhotoStyle,
) -> draw.Canvas:
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
    size = _canvas_size(image_size)
    kind = str(
        rng.choice(style.backgrounds, p=np.asarray(style.bg_weights) / sum(style.bg_weights))
    )
    canvas = draw.background(kind, size, rng, style.bg_value, style.bg_saturation)
    lo, hi = style.distractors
    for _ in range(int(rng.integers(lo, hi + 1)) if hi else 0):
        cls = CLASSES[int(rng.integers(len(CLASSES)))]
        novel = draw.NOVEL_SHAPES[int(rng.integers(len(draw.NOVEL_SHAPES)))]
        cx, cy, r = _place(rng, size, (0.1, 0.2))
        canvas = _textured_object(canvas, rng, novel, cls.texture, cx, cy, r, style)
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
            canvas = _textured_object(canvas, rng, shp, tex, cx, cy, r, style)
    elif ambiguous:
        # A tiny object buried under clutter and bars: raters would not agree on a label.
        cx, cy, r = _place(rng, size, (0.07, 0.1))
        canvas = _textured_object(canvas, rng, shape, texture, cx, cy, r, style)
        canvas = draw.strokes(canvas, rng, int(rng.integers(6, 10)))
        canvas = draw.occluders(canvas, rng, 3, 0.07)
    else:
        cx, cy, r = _place(rng, size, style.radius)
        canvas = _textured_object(canvas, rng, shape, texture, cx, cy, r, style)
    if rng.random() < style.occlude_p:
        canvas = draw.occluders(canvas, rng, int(rng.integers(1, 3)), 0.05 + 0.04 * rng.random())
    return draw.finish(canvas, image_size, rng, style.noise)


# --- renditions: sketch, R, cue-conflict -------------------------------------------------------


def render_sketch(rng: np.random.Generator, image_size: int, shape: str) -> np.ndarray:
    """A pencil line drawing: jittered double outlines on paper, no texture, greyscale."""
    size = _canvas_size(image_size)
    paper = 0.82 + 0.16 * rng.random()
    grain = draw.smooth_noise(size, int(rng.integers(4, 9)), rng)[..., 0]
    canvas = np.repeat((paper - 0.06 * grain)[..., None], 3, axis=2).astype(np.float32)
    canvas = _scribbles(canvas, rng, int(rng.integers(0, 4)))
    cx, cy, r = _place(rng, size, (0.22, 0.38))
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
    size = _canvas_size(image_size)
    bg = draw.hsv(rng.random(), 0.15 + 0.4 * rng.random(), 0.75 + 0.25 * rng.random())
    canvas = np.broadcast_to(bg, (size, size, 3)).astype(np.float32)
    if rng.random() < 0.5:  # two-tone split background
        other = draw.hsv(rng.random(), 0.2 + 0.5 * rng.random(), 0.6 + 0.4 * rng.random())
        half = np.zeros((size, size), np.float32)
        half[:, size // 2 :] = 1.0 if rng.random() < 0.5 else 0.0
        half[size // 2 :, :] = 1.0 - half[size // 2 :, :]
        canvas = draw.paint(canvas, other, half)
    cx, cy, r = _place(rng, size, (0.24, 0.4))
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
    size = _canvas_size(image_size)
    style = PhotoStyle(contrast=(0.55, 0.85), rotation=math.radians(10))
    canvas = draw.background("gradient", size, rng, value=1.0, saturation=0.15)
    canvas = 0.75 + 0.25 * canvas
    cx, cy = size * (0.5 + 0.08 * (rng.random(2) - 0.5))
    r = size * (0.32 + 0.06 * rng.random())
    canvas = _textured_object(canvas, rng, shape, texture, float(cx), float(cy), float(r), style)
    return draw.finish(canvas, image_size, rng, 0.0)


# --- the plan: every file of the world, each with its own seed ------------------------------------


@dataclass(frozen=True)
class Item:
    """One file to write: its path (relative to the world root) and how to draw it."""

    path: str
    stream: str  # benchmark name in the RNG key
    cls: int  # position in CLASSES
    k: int
    render: Callable[[np.random.Generator], np.ndarray] = field(compare=False, repr=False)


def item_rng(seed: int, stream: str, cls: int, k: int) -> np.random.Generator:
    """The generator of one image: keyed by (seed, benchmark, class, k), independent of order."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), cls, k])


def _hexname(*parts: object, n: int = 40) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:n]


@dataclass(frozen=True)
class ValPlan:
    """Val file numbers (shuffled across classes) and which images are multi-object or ambiguous."""

    number: dict[tuple[int, int], int]  # (cls, k) -> ILSVRC2012_val number (1-based)
    second: dict[tuple[int, int], int]  # (cls, k) -> class of the second object
    ambiguous: frozenset[tuple[int, int]]

    @classmethod
    def make(cls, p: MiniNetParams) -> ValPlan:
        n = len(CLASSES) * p.val_per_class
        keys = [(c, k) for c in range(len(CLASSES)) for k in range(p.val_per_class)]
        rng = np.random.default_rng([p.seed, zlib.crc32(b"val-plan")])
        numbers = rng.permutation(n) + 1
        n_empty = max(1, round(REAL_EMPTY_FRACTION * n)) if n >= 10 else 0
        n_multi = max(1, round(REAL_MULTI_FRACTION * n)) if n >= 10 else 0
        picks = rng.permutation(n)
        ambiguous = frozenset(keys[i] for i in picks[:n_empty])
        second = {}
        for i in sorted(picks[n_empty : n_empty + n_multi].tolist()):
            c, k = keys[i]
            second[(c, k)] = (c + 1 + int(rng.integers(len(CLASSES) - 1))) % len(CLASSES)
        return cls(dict(zip(keys, numbers.tolist(), strict=True)), second, ambiguous)

    def real_labels(self) -> list[list[int]]:
        """ReaL-style label lists (ImageNet-1k indices), ordered by val file name."""
        out: list[list[int]] = [[] for _ in self.number]
        for (c, k), number in self.number.items():
            if (c, k) in self.ambiguous:
                labels: list[int] = []
            elif (c, k) in self.second:
                labels = sorted(
                    {CLASSES[c].imagenet_index, CLASSES[self.second[(c, k)]].imagenet_index}
                )
            else:
                labels = [CLASSES[c].imagenet_index]
            out[number - 1] = labels
        return out


def plan(p: MiniNetParams) -> Iterator[Item]:
    """Every image file of the world, in a fixed order (the order does not affect the bytes)."""
    S = p.image_size
    cls_index = {c.wnid: i for i, c in enumerate(CLASSES)}

    def photo(stream: str, c: int, **kw: object) -> Callable[[np.random.Generator], np.ndarray]:
        return lambda rng: render_photo(
            rng, S, CLASSES[c].shape, CLASSES[c].texture, STYLES[stream], **kw
        )

    for c, mc in enumerate(CLASSES):
        for k in range(p.train_per_class):
            yield Item(
                f"imagenet/train/{mc.wnid}/{mc.wnid}_{k}.JPEG", "train", c, k, photo("train", c)
            )

    val = ValPlan.make(p)
    for c, mc in enumerate(CLASSES):
        for k in range(p.val_per_class):
            key = (c, k)
            second = (
                (CLASSES[val.second[key]].shape, CLASSES[val.second[key]].texture)
                if key in val.second
                else None
            )
            path = f"imagenet/val/{mc.wnid}/ILSVRC2012_val_{val.number[key]:08d}.JPEG"
            yield Item(
                path, "val", c, k, photo("val", c, second=second, ambiguous=key in val.ambiguous)
            )

    for variant in V2_VARIANTS:
        stream = f"v2-{variant}"
        for c, mc in enumerate(CLASSES):
            for k in range(p.shifted_per_class):
                name = _hexname("mininet", p.seed, variant, mc.wnid, k)
                path = f"imagenetv2-{variant}-format-val/{mc.imagenet_index}/{name}.jpeg"
                yield Item(path, stream, c, k, photo(stream, c))

    for c, mc in enumerate(CLASSES):
        for k in range(p.shifted_per_class):
            yield Item(
                f"sketch/{mc.wnid}/sketch_{k}.JPEG",
                "sketch",
                c,
                k,
                lambda rng, c=c: render_sketch(rng, S, CLASSES[c].shape),
            )

    for wnid in SUBSETS["imagenet-r"]:
        c = cls_index[wnid]
        for k in range(p.shifted_per_class):
            style = RENDITION_STYLES[k % len(RENDITION_STYLES)]
            yield Item(
                f"imagenet-r/{wnid}/{style}_{k}.jpg",
                "imagenet-r",
                c,
                k,
                lambda rng, c=c, style=style: render_rendition(rng, S, CLASSES[c].shape, style),
            )

    for wnid in SUBSETS["imagenet-a"]:
        c = cls_index[wnid]
        for k in range(p.shifted_per_class):
            ext = "JPEG" if (c + k) % 3 == 0 else "jpg"  # the real archive mixes both
            name = f"0.{int(_hexname('a', p.seed, wnid, k, n=6), 16) % 10**6:06d}_{wnid}_{k}.{ext}"
            yield Item(f"imagenet-a/{wnid}/{name}", "imagenet-a", c, k, photo("imagenet-a", c))

    for wnid in SUBSETS["imagenet-o"]:
        c = cls_index[wnid]
        for k in range(p.shifted_per_class):
            novel_shape = draw.NOVEL_SHAPES[(c + k) % len(draw.NOVEL_SHAPES)]
            # Two in three anomalies carry a novel texture; the rest borrow the texture of the
            # class whose folder they sit in (the confusable anomalies of the real ImageNet-O).
            if k % 3 == 2:
                texture = CLASSES[c].texture
            else:
                texture = draw.NOVEL_TEXTURES[(c + k) % len(draw.NOVEL_TEXTURES)]
            yield Item(
                f"imagenet-o/{wnid}/{wnid}_ood_{k}.JPEG",
                "imagenet-o",
                c,
                k,
                lambda rng, shp=novel_shape, tex=texture: render_photo(
                    rng, S, shp, tex, STYLES["imagenet-o"]
                ),
            )

    yield from _cue_conflict_plan(p)


def _cue_conflict_plan(p: MiniNetParams) -> Iterator[Item]:
    S = p.image_size
    categorised = [i for i, c in enumerate(CLASSES) if c.category]
    uses: dict[str, int] = {}
    for pos, s in enumerate(categorised):
        others = [t for t in categorised if t != s]
        # shifted_per_class conflicts cycling through the other classes, then one same-category
        # stimulus (the metric must drop those, as model-vs-human does).
        textures = [others[(pos + j) % len(others)] for j in range(p.shifted_per_class)] + [s]
        for n, t in enumerate(textures, start=1):
            shape_cat, tex_cat = CLASSES[s].category, CLASSES[t].category
            assert shape_cat and tex_cat
            uses[tex_cat] = m = uses.get(tex_cat, 0) + 1
            yield Item(
                f"cue-conflict/{shape_cat}/{shape_cat}{n}-{tex_cat}{m}.png",
                "cue-conflict",
                s,
                n,
                lambda rng, s=s, t=t: render_cue_conflict(
                    rng, S, CLASSES[s].shape, CLASSES[t].texture
                ),
            )


# --- writing -------------------------------------------------------------------------------------


def encode(pixels: np.ndarray, suffix: str) -> bytes:
    """JPEG at a fixed quality or PNG, with no metadata: identical pixels give identical bytes."""
    img = Image.fromarray(pixels, mode="RGB")
    buf = io.BytesIO()
    if suffix.lower() == ".png":
        img.save(buf, format="PNG", compress_level=6)
    else:
        img.save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=2, optimize=False)
    return buf.getvalue()


def _a_readme() -> str:
    lines = [
        "MiniNet stand-in for ImageNet-A (natural adversarial examples).",
        "Small, cluttered and occluded objects among textures of other classes.",
        "Generated by shiftlab; the layout follows the official imagenet-a archive:",
        "one folder per class (wnid), images with mixed .jpg/.JPEG extensions.",
        "",
        "The class list starts on line 12, one 'wnid name' per line.",
        "",
        "",
        "",
        "",
        "",
    ]
    names = {c.wnid: c.name for c in CLASSES}
    return "\n".join(lines + [f"{w} {names[w]}" for w in SUBSETS["imagenet-a"]]) + "\n"


_LAYOUT_NAMES = frozenset(
    {
        "imagenet",
        "sketch",
        "imagenet-a",
        "imagenet-r",
        "imagenet-o",
        "cue-conflict",
        "real.json",
        MANIFEST,
    }
    | {f"imagenetv2-{v}-format-val" for v in V2_VARIANTS}
)


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a folder that holds anything but a (possibly partial) MiniNet world."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"{out} exists and is not a folder")
    foreign = sorted(
        e.name for e in out.iterdir() if e.name not in _LAYOUT_NAMES and not e.name.startswith(".")
    )
    if foreign:
        raise UserError(
            f"{out} holds files that are not part of a MiniNet world ({', '.join(foreign[:3])}); "
            "refusing to replace it: choose an empty or new --out folder"
        )


def manifest_digest(files: dict[str, str]) -> str:
    """One digest over every file's path and sha256 (the world's fingerprint)."""
    lines = "".join(f"{path}\t{sha}\n" for path, sha in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def generate(out: str | Path, params: MiniNetParams = MiniNetParams()) -> dict:
    """Write the whole world to `out` atomically and return its manifest."""
    params.validate()
    out = Path(out)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        manifest = _write_world(tmp, params)
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return manifest


def _write_world(root: Path, p: MiniNetParams) -> dict:
    files: dict[str, str] = {}
    counts: dict[str, int] = {}
    total_bytes = 0

    def put(rel: str, data: bytes) -> None:
        nonlocal total_bytes
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[rel] = hashlib.sha256(data).hexdigest()
        total_bytes += len(data)

    for item in plan(p):
        pixels = item.render(item_rng(p.seed, item.stream, item.cls, item.k))
        put(item.path, encode(pixels, Path(item.path).suffix))
        top = (
            item.path.split("/")[0]
            if not item.path.startswith("imagenet/")
            else "/".join(item.path.split("/")[:2])
        )
        counts[top] = counts.get(top, 0) + 1

    real = ValPlan.make(p).real_labels()
    put("real.json", json.dumps(real, separators=(", ", ": ")).encode())
    put("imagenet-a/README.txt", _a_readme().encode())

    manifest = {
        "format": FORMAT,
        "params": asdict(p),
        "jpeg_quality": JPEG_QUALITY,
        # Bytes are reproducible for the same numpy and Pillow (libjpeg) builds; recorded so a
        # digest mismatch after an upgrade can be told apart from a real change.
        "libraries": {"numpy": np.__version__, "pillow": PIL.__version__},
        "classes": [asdict(c) for c in CLASSES],
        "subsets": {k: list(v) for k, v in SUBSETS.items()},
        "counts": dict(sorted(counts.items())),
        "real": {
            "n": len(real),
            "empty": sum(1 for r in real if not r),
            "multi": sum(1 for r in real if len(r) > 1),
        },
        "n_files": len(files),
        "bytes": total_bytes,
        "digest": manifest_digest(files),
        "files": dict(sorted(files.items())),
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
