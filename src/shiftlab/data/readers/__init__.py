"""Layout readers: list a benchmark's samples and their wnids from its official on-disk layout.

Readers only *name* classes (wnids, or ImageNet indices for ImageNetV2 folders); turning a wnid
into a target of the study's label space happens once, in `shiftlab.data.index`. Classes are
always derived from names, never from a directory sort order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shiftlab.errors import UserError

# Decoded by one function, `shiftlab.corrupt.imageio.load_rgb` (docs/benchmarks.md, "Image formats").
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_EXTENSIONS = frozenset({".mp4"})
WNID_RE = re.compile(r"n\d{8}")


@dataclass
class Sample:
    sample: str  # path relative to the benchmark root, '/' separators
    wnid: str  # '' when the layout carries no class (or it is unknown)
    variant: str = ""
    labels: tuple[int, ...] | None = None  # ReaL: ImageNet-1k indices
    extra: dict[str, str] = field(default_factory=dict)  # e.g. cue-conflict shape/texture


@dataclass
class Listing:
    """What a reader found: the samples, plus what it skipped (for `datasets check`)."""

    samples: list[Sample] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # non-sample files (README.txt, manifests)
    bad_folders: list[str] = field(default_factory=list)  # folders that name no class
    classes: set[str] = field(default_factory=set)  # class folders present (wnids)
    notes: dict[str, object] = field(default_factory=dict)


@dataclass
class ReadOptions:
    variant: str | None = None
    real_json: Path | None = None
    class_map: Path | None = None
    class_map_entries: dict[str, str] | None = None  # the config's `class_map` mapping
    ground_truth: Path | None = None
    extensions: frozenset[str] = IMAGE_EXTENSIONS
    # folder name -> class id of the study's label space (class names of your own data);
    # None: folders must be wnids
    classes: dict[str, str] | None = None
    group_folders: bool = False  # `<class>/<group>/<file>`: one folder per physical object


Reader = Callable[[Path, ReadOptions], Listing]
_READERS: dict[str, Reader] = {}


def register_reader(name: str) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        _READERS[name] = fn
        return fn

    return deco


def get_reader(name: str) -> Reader:
    try:
        return _READERS[name]
    except KeyError:
        raise UserError(
            f"no layout reader {name!r}; known: {', '.join(sorted(_READERS))}"
        ) from None


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def scan_dir(folder: Path) -> tuple[list[str], list[str]]:
    """Sorted (subfolder names, file names) of a folder, skipping hidden entries; follows links
    so a benchmark assembled from symlinked class folders reads like a real one."""
    dirs, files = [], []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if is_hidden(entry.name):
                    continue
                (dirs if entry.is_dir() else files).append(entry.name)
    except FileNotFoundError:
        raise UserError(f"benchmark folder {folder} does not exist") from None
    except NotADirectoryError:
        raise UserError(f"{folder} is not a folder") from None
    return sorted(dirs), sorted(files)


def has_extension(name: str, extensions: frozenset[str]) -> bool:
    return os.path.splitext(name)[1].lower() in extensions


def read_class_folder(
    listing: Listing, root: Path, rel: str, wnid: str, opts: ReadOptions, variant: str = ""
) -> None:
    """Add the files of one class folder (`root/rel`) as samples of `wnid`."""
    subdirs, files = scan_dir(root / rel)
    listing.classes.add(wnid)
    if opts.group_folders:
        listing.ignored.extend(f"{rel}/{f}" for f in files)  # outside any group folder
        for sub in subdirs:
            group = f"{rel}/{sub}"
            for name in scan_dir(root / group)[1]:
                _add_file(listing, f"{group}/{name}", wnid, opts, variant, group)
        return
    for name in files:
        _add_file(listing, f"{rel}/{name}", wnid, opts, variant)
    listing.ignored.extend(f"{rel}/{d}/" for d in subdirs)


def _add_file(
    listing: Listing, path: str, wnid: str, opts: ReadOptions, variant: str, group: str = ""
) -> None:
    if not has_extension(path, opts.extensions):
        listing.ignored.append(path)
        return
    listing.samples.append(Sample(path, wnid, variant, extra={"group": group} if group else {}))


def resolve_root(root: Path, top_dirs: tuple[str, ...], variant: str | None) -> Path:
    """Descend into an archive's top folder (`imagenet-a/`, `sketch/`, …) when ROOT holds it,
    so both `data/a` and `data/a/imagenet-a` work as the benchmark root."""
    for pattern in top_dirs:
        if "{variant}" in pattern:
            if variant:
                candidates = [root / pattern.format(variant=variant)]
            elif pattern == "{variant}":
                candidates = []  # a bare variant folder cannot be guessed
            else:
                found = sorted(root.glob(pattern.replace("{variant}", "*")))
                candidates = found if len(found) == 1 else []
        else:
            candidates = [root / pattern]
        for candidate in candidates:
            if candidate.is_dir():
                return candidate
    return root


from shiftlab.data.readers import cue_conflict, folders, imagenet_val, real, tiny  # noqa: E402,F401
