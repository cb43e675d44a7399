"""The plan of the MiniNet world: every file it holds, each with its own seed.

Each file is an `Item` whose image is a pure function of (seed, benchmark, class, k), so
the plan can be walked in any order, in part or in full, and give the same bytes.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from shiftlab.data.mininet import draw
from shiftlab.data.mininet.photos import STYLES, render_photo
from shiftlab.data.mininet.renditions import (
    RENDITION_STYLES,
    render_cue_conflict,
    render_rendition,
    render_sketch,
)
from shiftlab.data.mininet.spec import (
    CLASSES,
    REAL_EMPTY_FRACTION,
    REAL_MULTI_FRACTION,
    SUBSETS,
    V2_VARIANTS,
    MiniNetParams,
)

Render = Callable[[np.random.Generator], np.ndarray]
CLASS_INDEX = {c.wnid: i for i, c in enumerate(CLASSES)}


@dataclass(frozen=True)
class Item:
    """One file to write: its path (relative to the world root) and how to draw it."""

    path: str
    stream: str  # benchmark name in the RNG key
    cls: int  # position in CLASSES
    k: int
    render: Render = field(compare=False, repr=False)


def item_rng(seed: int, stream: str, cls: int, k: int) -> np.random.Generator:
    """The generator of one image: keyed by (seed, benchmark, class, k), independent of order."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), cls, k])


def _hexname(*parts: object, n: int = 40) -> str:
    """A stable pseudo-random file name, as the real archives use hashes for names."""
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:n]


@dataclass(frozen=True)
class ValPlan:
    """Val file numbers (shuffled across classes) and which images are multi-object or ambiguous."""

    number: dict[tuple[int, int], int]  # (cls, k) -> ILSVRC2012_val number (1-based)
    second: dict[tuple[int, int], int]  # (cls, k) -> class of the second object
    ambiguous: frozenset[tuple[int, int]]

    @classmethod
    def make(cls, p: MiniNetParams) -> ValPlan:
        """The val plan of `p`, drawn from its own stream so it does not shift any image."""
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
    yield from _train_items(p)
    yield from _val_items(p)
    yield from _v2_items(p)
    yield from _sketch_items(p)
    yield from _rendition_items(p)
    yield from _adversarial_items(p)
    yield from _ood_items(p)
    yield from _cue_conflict_items(p)


def _photo(p: MiniNetParams, stream: str, c: int, **kw: object) -> Render:
    """A renderer for a photo of class `c` in the style of benchmark `stream`."""
    return lambda rng: render_photo(
        rng, p.image_size, CLASSES[c].shape, CLASSES[c].texture, STYLES[stream], **kw
    )


def _train_items(p: MiniNetParams) -> Iterator[Item]:
    for c, mc in enumerate(CLASSES):
        for k in range(p.train_per_class):
            yield Item(
                f"imagenet/train/{mc.wnid}/{mc.wnid}_{k}.JPEG", "train", c, k, _photo(p, "train", c)
            )


def _val_items(p: MiniNetParams) -> Iterator[Item]:
    """Val images under their shuffled file numbers, some with two objects or a hidden one."""
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
            render = _photo(p, "val", c, second=second, ambiguous=key in val.ambiguous)
            yield Item(path, "val", c, k, render)


def _v2_items(p: MiniNetParams) -> Iterator[Item]:
    for variant in V2_VARIANTS:
        stream = f"v2-{variant}"
        for c, mc in enumerate(CLASSES):
            for k in range(p.shifted_per_class):
                name = _hexname("mininet", p.seed, variant, mc.wnid, k)
                path = f"imagenetv2-{variant}-format-val/{mc.imagenet_index}/{name}.jpeg"
                yield Item(path, stream, c, k, _photo(p, stream, c))


def _sketch_items(p: MiniNetParams) -> Iterator[Item]:
    size = p.image_size
    for c, mc in enumerate(CLASSES):
        for k in range(p.shifted_per_class):
            yield Item(
                f"sketch/{mc.wnid}/sketch_{k}.JPEG",
                "sketch",
                c,
                k,
                lambda rng, c=c: render_sketch(rng, size, CLASSES[c].shape),
            )


def _rendition_items(p: MiniNetParams) -> Iterator[Item]:
    size = p.image_size
    for wnid in SUBSETS["imagenet-r"]:
        c = CLASS_INDEX[wnid]
        for k in range(p.shifted_per_class):
            style = RENDITION_STYLES[k % len(RENDITION_STYLES)]
            yield Item(
                f"imagenet-r/{wnid}/{style}_{k}.jpg",
                "imagenet-r",
                c,
                k,
                lambda rng, c=c, style=style: render_rendition(rng, size, CLASSES[c].shape, style),
            )


def _adversarial_items(p: MiniNetParams) -> Iterator[Item]:
    for wnid in SUBSETS["imagenet-a"]:
        c = CLASS_INDEX[wnid]
        for k in range(p.shifted_per_class):
            ext = "JPEG" if (c + k) % 3 == 0 else "jpg"  # the real archive mixes both
            name = f"0.{int(_hexname('a', p.seed, wnid, k, n=6), 16) % 10**6:06d}_{wnid}_{k}.{ext}"
            yield Item(f"imagenet-a/{wnid}/{name}", "imagenet-a", c, k, _photo(p, "imagenet-a", c))


def _ood_items(p: MiniNetParams) -> Iterator[Item]:
    """ImageNet-O anomalies: novel shapes filed under a class folder, mostly novel textures."""
    size = p.image_size
    for wnid in SUBSETS["imagenet-o"]:
        c = CLASS_INDEX[wnid]
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
                    rng, size, shp, tex, STYLES["imagenet-o"]
                ),
            )


def _cue_conflict_items(p: MiniNetParams) -> Iterator[Item]:
    """Shape of one category, texture of another, named as in model-vs-human."""
    size = p.image_size
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
                    rng, size, CLASSES[s].shape, CLASSES[t].texture
                ),
            )
