"""model-vs-human cue-conflict stimuli: `<shape category>/<shape>N-<texture>M.png`.

Samples carry no wnid (a category spans many ImageNet classes); the shape category comes from
the parent folder and the texture from the file name, both kept as extra index columns.
"""

from __future__ import annotations

from pathlib import Path

from shiftlab.data.readers import (
    Listing,
    ReadOptions,
    Sample,
    has_extension,
    register_reader,
    scan_dir,
)
from shiftlab.data.subsets import CUE_CONFLICT_CATEGORIES, cue_conflict_texture


@register_reader("cue_conflict")
def cue_conflict(root: Path, opts: ReadOptions) -> Listing:
    listing = Listing()
    dirs, files = scan_dir(root)
    listing.ignored.extend(files)
    for category in dirs:
        if category not in CUE_CONFLICT_CATEGORIES:
            listing.bad_folders.append(category)
            continue
        listing.classes.add(category)
        _, images = scan_dir(root / category)
        for name in images:
            path = f"{category}/{name}"
            if not has_extension(name, opts.extensions):
                listing.ignored.append(path)
                continue
            texture = cue_conflict_texture(name)
            listing.samples.append(Sample(path, "", extra={"shape": category, "texture": texture}))
    return listing
