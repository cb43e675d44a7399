"""What the MiniNet world contains: its classes, benchmark class subsets and parameters.

Kept apart from the rendering so the layout readers, the plan and the manifest all agree
on one list of classes without importing any drawing code.
"""

from __future__ import annotations

from dataclasses import dataclass

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


DEMO_PARAMS = MiniNetParams()


def canvas_size(image_size: int) -> int:
    """The supersampled drawing resolution of an image of `image_size` pixels."""
    return image_size * SUPERSAMPLE
