"""Label spaces: a run's classes are an ordered list of class ids (wnids or class names).

Every benchmark maps its own classes into a label space *by name* (a wnid, or a class name
such as `defect` for a dataset of your own), never by a folder sort order. ImageNet-1k's index of a wnid is its position in the sorted list of
the 1000 wnids (torchvision/timm convention); the table comes from timm's bundled
ImageNet metadata so we never keep a second copy that could drift.
"""

from __future__ import annotations

import re
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
    """An ordered list of class ids; a model's output index i means `wnids[i]`.

    A class id is a wnid or, for a dataset of your own, a class name. `names` holds each
    class's other name ('' where none): the name of a `name wnid` line, so folders named
    either way map to the class.
    """

    name: str
    wnids: tuple[str, ...]
    names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.wnids)

    def index(self, wnid: str) -> int:
        """Index of a wnid in this space, or -1 when the class is outside it."""
        return self._lookup.get(wnid, -1)

    @property
    def _lookup(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.wnids)}

    def resolver(self) -> dict[str, str]:
        """Folder name -> class id: every id maps to itself, every other name to its id."""
        table = {w: w for w in self.wnids}
        table.update({n: w for n, w in zip(self.names, self.wnids, strict=False) if n})
        return table


BUILTIN_SPACES = ("imagenet1k", "mininet")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]{0,79}")
WNID_RE = re.compile(r"n\d{8}")


def label_space(spec: str) -> LabelSpace:
    """Resolve a label-space spec: a built-in name or a text file, one class per line."""
    if spec == "imagenet1k":
        return LabelSpace("imagenet1k", imagenet1k_wnids())
    if spec == "mininet":
        return LabelSpace("mininet", tuple(sorted(MININET_WNIDS)))
    path = Path(spec)
    if path.is_file():
        return read_label_space_file(path)
    raise UserError(
        f"unknown label space {spec!r}: use one of {', '.join(BUILTIN_SPACES)} "
        "or a path to a text file with one class per line (`name`, `wnid` or `name wnid`)"
    )


def read_label_space_file(path: Path) -> LabelSpace:
    """Lines `wnid`, `name` or `name wnid` (`#` comments); the order is the output order.

    A line holding a wnid names the class by it (text after a leading wnid is a
    description, as in ImageNet's synset files, unless it is one name); otherwise the class
    id is the name itself.
    """
    ids: list[str] = []
    names: list[str] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        class_id, other = _parse_line(line.split(), path, number)
        ids.append(class_id)
        names.append(other)
    if not ids:
        raise UserError(f"label space file {path} lists no class")
    dupes = sorted({w for w in ids if ids.count(w) > 1} | {n for n in names if n and n in ids})
    if dupes:
        raise UserError(f"label space file {path} lists a class twice: {', '.join(dupes)}")
    return LabelSpace(path.stem, tuple(ids), tuple(names))


def _parse_line(parts: list[str], path: Path, number: int) -> tuple[str, str]:
    if WNID_RE.fullmatch(parts[0]):
        other = parts[1] if len(parts) == 2 and NAME_RE.fullmatch(parts[1]) else ""
        return parts[0], other
    if len(parts) == 2 and WNID_RE.fullmatch(parts[1]) and NAME_RE.fullmatch(parts[0]):
        return parts[1], parts[0]
    if len(parts) == 1 and NAME_RE.fullmatch(parts[0]):
        return parts[0], ""
    raise UserError(
        f"label space file {path} line {number}: expected `name`, `wnid` or `name wnid` "
        f"(a name uses letters, digits and _ . + -), got {' '.join(parts)!r}"
    )
