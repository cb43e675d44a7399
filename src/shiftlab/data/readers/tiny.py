"""Tiny ImageNet: `train/<wnid>/images/*.JPEG`; `val/images/*.JPEG` labelled by `val_annotations.txt`."""

from __future__ import annotations

from pathlib import Path

from shiftlab.data.readers import (
    WNID_RE,
    Listing,
    ReadOptions,
    Sample,
    has_extension,
    register_reader,
    scan_dir,
)
from shiftlab.errors import UserError

ANNOTATIONS = "val_annotations.txt"


def read_val_annotations(path: Path) -> dict[str, str]:
    """file name -> wnid (tab-separated: file, wnid, x0, y0, x1, y1)."""
    mapping = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not WNID_RE.fullmatch(parts[1]):
            raise UserError(f"{path} line {number}: expected `<file>\\t<wnid>\\t…`, got {line!r}")
        mapping[parts[0]] = parts[1]
    return mapping


@register_reader("tiny_imagenet")
def tiny_imagenet(root: Path, opts: ReadOptions) -> Listing:
    listing = Listing()
    dirs, files = scan_dir(root)
    if ANNOTATIONS in files:
        listing.notes["split"] = "val"
        annotations = read_val_annotations(root / ANNOTATIONS)
        _, images = scan_dir(root / "images")
        listing.ignored.extend(f for f in files if f != ANNOTATIONS)
        for name in images:
            if not has_extension(name, opts.extensions):
                listing.ignored.append(f"images/{name}")
            elif name not in annotations:
                raise UserError(f"{root / ANNOTATIONS} has no line for images/{name}")
            else:
                listing.samples.append(Sample(f"images/{name}", annotations[name]))
                listing.classes.add(annotations[name])
        return listing
    wnid_dirs = [d for d in dirs if WNID_RE.fullmatch(d)]
    if not wnid_dirs:
        raise UserError(
            f"{root} is neither a Tiny ImageNet train folder (<wnid>/images/) nor a val folder "
            f"(images/ + {ANNOTATIONS}); pass the train or val folder, or --variant train|val"
        )
    listing.notes["split"] = "train"
    listing.ignored.extend(files)  # wnids.txt, words.txt at the top
    listing.bad_folders.extend(d for d in dirs if d not in wnid_dirs)
    for wnid in wnid_dirs:
        listing.classes.add(wnid)
        _, extras = scan_dir(root / wnid)
        listing.ignored.extend(f"{wnid}/{f}" for f in extras)  # <wnid>_boxes.txt
        _, images = scan_dir(root / wnid / "images")
        for name in images:
            path = f"{wnid}/images/{name}"
            if has_extension(name, opts.extensions):
                listing.samples.append(Sample(path, wnid))
            else:
                listing.ignored.append(path)
    return listing
