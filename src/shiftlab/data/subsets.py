"""Class subsets of the benchmarks: the 200 wnids of ImageNet-A/R/O and the 16 cue-conflict categories.

A, R and O each cover a *different* 200-class subset of ImageNet-1k (|A∩O| = 59, |A∩R| = 86,
|O∩R| = 36; docs/benchmarks.md §2.6), and the official evaluation masks logits to the subset.
The A and R lists are read from the copies timm ships, after checking them against the
published digests so a changed timm cannot silently change a benchmark. ImageNet-O's list is
not in timm and lives in `shiftlab/resources/imagenet_o_wnids.txt`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from shiftlab.errors import UserError
from shiftlab.hashing import sha256_bytes
from shiftlab.labels import LabelSpace, imagenet1k_wnids

# sha256 of timm's bundled index files (docs/benchmarks.md §2.6, computed from timm/data/_info).
TIMM_INDEX_SHA256: dict[str, str] = {
    "imagenet_a": "e81223a35add6e78f9afe6f215652c1926ebefe1d8efc26c6e923d7ac9143937",
    "imagenet_r": "91e09d2ff0a002104bc0d37a892a7e75ffc2cc0db47b2b506047a3493b9116d2",
}

SUBSETS = ("imagenet_a", "imagenet_r", "imagenet_o")


def _timm_info_file(name: str) -> bytes:
    from importlib.util import find_spec

    spec = find_spec("timm")  # its data files, without importing timm (and torch)
    path = Path(spec.origin if spec and spec.origin else ".").parent / "data" / "_info" / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(
            f"the installed timm has no {name}; install a timm release that bundles it (>= 0.9)"
        ) from None


@cache
def _timm_subset(kind: str) -> tuple[str, ...]:
    """The subset's wnids via timm's index file, verified, mapped through the sorted 1000 wnids."""
    raw = _timm_info_file(f"{kind}_indices.txt")
    digest = sha256_bytes(raw)
    if digest != TIMM_INDEX_SHA256[kind]:
        raise UserError(
            f"timm's {kind}_indices.txt has sha256 {digest}, expected {TIMM_INDEX_SHA256[kind]}: "
            "the installed timm changed the subset list; pin a timm version that matches"
        )
    indices = [int(tok) for tok in raw.decode().split()]
    all_wnids = imagenet1k_wnids()
    wnids = tuple(all_wnids[i] for i in indices)
    synsets = tuple(_timm_info_file(f"{kind}_synsets.txt").decode().split())
    if wnids != synsets:
        raise UserError(f"timm's {kind}_indices.txt and {kind}_synsets.txt disagree")
    return wnids


@cache
def _imagenet_o() -> tuple[str, ...]:
    text = resources.files("shiftlab").joinpath("resources/imagenet_o_wnids.txt").read_text()
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def subset_wnids(kind: str) -> tuple[str, ...]:
    """Sorted wnids of a class-subset benchmark (`imagenet_a`, `imagenet_r`, `imagenet_o`)."""
    if kind == "imagenet_o":
        return _imagenet_o()
    if kind in TIMM_INDEX_SHA256:
        return _timm_subset(kind)
    raise UserError(f"no class subset named {kind!r}; known: {', '.join(SUBSETS)}")


# --- model-vs-human cue-conflict: 16 categories -> ImageNet-1k indices -------------------
# Facts from bethgelab/model-vs-human `modelvshuman/helper/human_categories.py` (docs/benchmarks.md
# §2.10): 16 sorted categories, 207 indices. Aggregation is the mean softmax probability over a
# category's indices, then argmax over the 16.
_DOG_EXCLUDED = {192, 204, 227, 242, 251, 258, 260, 264}
CUE_CONFLICT_INDICES: dict[str, tuple[int, ...]] = {
    "airplane": (404,),
    "bear": (294, 295, 296, 297),
    "bicycle": (444, 671),
    "bird": (
        8,
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        18,
        19,
        20,
        22,
        23,
        24,
        80,
        81,
        82,
        83,
        87,
        88,
        89,
        90,
        91,
        92,
        93,
        94,
        95,
        96,
        98,
        99,
        100,
        127,
        128,
        129,
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        140,
        141,
        142,
        143,
        144,
        145,
    ),  # fmt: skip
    "boat": (472, 554, 625, 814, 914),
    "bottle": (440, 720, 737, 898, 899, 901, 907),
    "car": (436, 511, 817),
    "cat": (281, 282, 283, 284, 285, 286),
    "chair": (423, 559, 765, 857),
    "clock": (409, 530, 892),
    "dog": tuple(i for i in range(152, 269) if i not in _DOG_EXCLUDED),
    "elephant": (385, 386),
    "keyboard": (508, 878),
    "knife": (499,),
    "oven": (766,),
    "truck": (555, 569, 656, 675, 717, 734, 864, 867),
}
CUE_CONFLICT_CATEGORIES: tuple[str, ...] = tuple(sorted(CUE_CONFLICT_INDICES))


def cue_conflict_wnids() -> dict[str, tuple[str, ...]]:
    """Category -> ImageNet-1k wnids of that category."""
    all_wnids = imagenet1k_wnids()
    return {cat: tuple(all_wnids[i] for i in idx) for cat, idx in CUE_CONFLICT_INDICES.items()}


def cue_conflict_label_space_indices(space: LabelSpace) -> dict[str, tuple[int, ...]]:
    """Category -> indices in `space` of that category's wnids (empty when none is in the space)."""
    lookup = {w: i for i, w in enumerate(space.wnids)}
    return {
        cat: tuple(lookup[w] for w in wnids if w in lookup)
        for cat, wnids in cue_conflict_wnids().items()
    }


def cue_conflict_texture(filename: str) -> str:
    """Texture category of a stimulus: the last `-` token of the stem with digits stripped.

    `airplane1-bicycle2.png` -> `bicycle` (model-vs-human `ShapeBias.get_texture_category`).
    """
    stem = Path(filename).name.rsplit(".", 1)[0]
    return "".join(ch for ch in stem.split("-")[-1] if not ch.isdigit())
