"""Folder-per-class layouts: wnid folders, ImageNetV2 index folders, and variant cells (C/P/T)."""

from __future__ import annotations

import re
from pathlib import Path

from shiftlab.data.readers import (
    WNID_RE,
    Listing,
    ReadOptions,
    read_class_folder,
    register_reader,
    scan_dir,
)
from shiftlab.errors import UserError
from shiftlab.labels import NAME_RE
from shiftlab.variants import c_variant, split_c_selector


def read_class_map(path: Path) -> dict[str, str]:
    """`folder class` per line (whitespace or comma separated, `#` comments) -> {folder: class};
    the class is a wnid or a class name of the label space."""
    mapping: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise UserError(f"cannot read class map {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[\s,]+", line) if p]
        if len(parts) != 2 or not NAME_RE.fullmatch(parts[1]):
            raise UserError(
                f"class map {path} line {number}: expected `<folder> <class>` "
                f"(a wnid like n01440764 or a class name of the label space), got {line!r}"
            )
        mapping[parts[0]] = parts[1]
    return mapping


def _wnid_folders(
    root: Path, opts: ReadOptions, rel: str = "", variant: str = "", listing: Listing | None = None
) -> Listing:
    listing = listing if listing is not None else Listing()
    folder = root / rel if rel else root
    class_map = read_class_map(opts.class_map) if opts.class_map else {}
    class_map |= opts.class_map_entries or {}
    dirs, files = scan_dir(folder)
    prefix = f"{rel}/" if rel else ""
    listing.ignored.extend(prefix + f for f in files)  # e.g. imagenet-a/README.txt
    for name in dirs:
        wnid = class_id(class_map.get(name, name), opts.classes)
        if wnid is None:
            listing.bad_folders.append(prefix + name)
            continue
        read_class_folder(listing, root, prefix + name, wnid, opts, variant)
    return listing


def class_id(name: str, classes: dict[str, str] | None) -> str | None:
    """The class a folder (or class-map entry) names: a label-space class by its name or
    wnid, else any wnid (a class outside the label space); None when it names no class."""
    if classes is not None and name in classes:
        return classes[name]
    return name if WNID_RE.fullmatch(name) else None


@register_reader("wnid_folders")
def wnid_folders(root: Path, opts: ReadOptions) -> Listing:
    """`<wnid>/<file>` (train, val, Sketch, A, R, O, user folders)."""
    return _wnid_folders(root, opts)


@register_reader("v2_folders")
def v2_folders(root: Path, opts: ReadOptions) -> Listing:
    """ImageNetV2: folder name = decimal ImageNet-1k index (`int(name)`, never a string sort)."""
    from shiftlab.labels import imagenet1k_wnids

    wnids = imagenet1k_wnids()
    listing = Listing()
    dirs, files = scan_dir(root)
    listing.ignored.extend(files)
    for name in dirs:
        if not name.isdigit() or str(int(name)) != name or int(name) >= len(wnids):
            listing.bad_folders.append(name)
            continue
        read_class_folder(listing, root, name, wnids[int(name)], opts, opts.variant or "")
    return listing


@register_reader("cells")
def cells(root: Path, opts: ReadOptions) -> Listing:
    """`<corruption>/<severity>/<wnid>/<file>` (ImageNet-C, Tiny-ImageNet-C, derived C)."""
    want_c, want_s = split_c_selector(opts.variant)
    listing = Listing()
    corruptions, files = scan_dir(root)
    listing.ignored.extend(files)  # manifest.parquet of a derived set
    if want_c is not None:
        if want_c not in corruptions:
            raise UserError(
                f"{root} has no corruption folder {want_c!r}; found: {', '.join(corruptions) or 'none'}"
            )
        corruptions = [want_c]
    for corruption in corruptions:
        severities, files = scan_dir(root / corruption)
        listing.ignored.extend(f"{corruption}/{f}" for f in files)
        if want_s is not None:
            if want_s not in severities:
                raise UserError(f"{root / corruption} has no severity folder {want_s!r}")
            severities = [want_s]
        for severity in severities:
            if not re.fullmatch(r"[1-9]", severity):
                listing.bad_folders.append(c_variant(corruption, severity))
                continue
            cell = c_variant(corruption, severity)
            _wnid_folders(root, opts, cell, cell, listing)
    return listing


@register_reader("perturbation_folders")
def perturbation_folders(root: Path, opts: ReadOptions) -> Listing:
    """`<variant>/<wnid>/<file>`: ImageNet-P (`.mp4`, `gaussian_noise_2` …) and transforms."""
    listing = Listing()
    variants, files = scan_dir(root)
    listing.ignored.extend(files)
    if opts.variant:
        if opts.variant not in variants:
            raise UserError(
                f"{root} has no folder {opts.variant!r}; found: {', '.join(variants) or 'none'}"
            )
        variants = [opts.variant]
    for variant in variants:
        _wnid_folders(root, opts, variant, variant, listing)
    return listing
