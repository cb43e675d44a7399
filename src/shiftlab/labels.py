"""Label spaces: a run's classes are an ordered list of wnids.

Every benchmark maps its own classes into a label space *by name* (wnid), never by a
folder sort order. ImageNet-1k's index of a wnid is its position in the sorted list of
the 1000 wnids (torchvision/timm convention); the table comes from timm's bundled
ImageNet metadata so we never keep a second copy that could drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shiftlab.errors import UserError

# MiniNet's 10 classes: real ImageNet-1k wnids chosen so that their ImageNet indices have
# 1, 2 and 3 digits (a string sort of ImageNetV2-style folder names would mislabel them)
# and so that 9 of them fall in distinct 16-class cue-conflict categories.
MININET_WNIDS: tuple[str, ...] = (
    "n01514859",  # 8   hen                   -> bird
    "n01664065",  # 33  loggerhead turtle     -> (no 16-class category)
    "n02099601",  # 207 golden retriever      -> dog
    "n02123045",  # 281 tabby cat             -> cat
    "n02132136",  # 294 brown bear            -> bear
    "n02504013",  # 385 Indian elephant       -> elephant
    "n02690373",  # 404 airliner              -> airplane
    "n02708093",  # 409 analog clock          -> clock
    "n02814533",  # 436 beach wagon           -> car
    "n02835271",  # 444 bicycle-built-for-two -> bicycle
)


@cache
def imagenet1k_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k wnids in class-index order (sorted)."""
    from timm.data import ImageNetInfo

    wnids = tuple(ImageNetInfo().label_names())
    if len(wnids) != 1000 or list(wnids) != sorted(wnids):
        raise RuntimeError("timm's ImageNet-1k synset table is not the sorted 1000 wnids")
    return wnids


@cache
def imagenet1k_names() -> dict[str, str]:
    """wnid -> human-readable class name."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return {w: info.label_name_to_description(w) for w in info.label_names()}


def imagenet1k_index(wnid: str) -> int:
    """ImageNet-1k class index of a wnid (position in the sorted 1000)."""
    try:
        return _imagenet_lookup()[wnid]
    except KeyError:
        raise UserError(f"{wnid!r} is not an ImageNet-1k wnid") from None


@cache
def _imagenet_lookup() -> dict[str, int]:
    return {w: i for i, w in enumerate(imagenet1k_wnids())}


@dataclass(frozen=True)
class LabelSpace:
    """An ordered list of wnids; a model's output index i means `wnids[i]`."""

    name: str
    wnids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.wnids)

    def index(self, wnid: str) -> int:
        """Index of a wnid in this space, or -1 when the class is outside it."""
        return self._lookup.get(wnid, -1)

    @property
    def _lookup(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.wnids)}


BUILTIN_SPACES = ("imagenet1k", "mininet")


def label_space(spec: str) -> LabelSpace:
    """Resolve a label-space spec: a built-in name or a text file with one wnid per line."""
    if spec == "imagenet1k":
        return LabelSpace("imagenet1k", imagenet1k_wnids())
    if spec == "mininet":
        return LabelSpace("mininet", tuple(sorted(MININET_WNIDS)))
    path = Path(spec)
    if path.is_file():
        wnids = tuple(
            line.split()[0]
            for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
        if len(set(wnids)) != len(wnids):
            raise UserError(f"label space file {path} lists a wnid twice")
        return LabelSpace(path.stem, wnids)
    raise UserError(
        f"unknown label space {spec!r}: use one of {', '.join(BUILTIN_SPACES)} "
        "or a path to a text file with one wnid per line"
    )
