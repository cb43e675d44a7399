"""ImageNet ReaL: `real.json` label sets attached to the val images by file name.

real.json is a list of 50,000 lists of ImageNet-1k indices; entry i belongs to
`ILSVRC2012_val_{i+1:08d}` (docs/benchmarks.md §2.9). A smaller list (the MiniNet world) is read
over the *sorted val file names*, which is the same rule when all 50,000 files are present.
Empty lists stay in the index: metrics skip them, but they are counted.
"""

from __future__ import annotations

import json
from pathlib import Path

from shiftlab.data.readers import Listing, ReadOptions, register_reader
from shiftlab.data.readers.imagenet_val import imagenet_val, val_number
from shiftlab.errors import UserError
from shiftlab.hashing import sha256_file

FULL_LENGTH = 50_000
REAL_JSON_SHA256 = "d83e9bff374c631aae8439eb064c7019acc56e1b3bc3f56b8380c2a710b0220b"


def find_real_json(root: Path, explicit: Path | None) -> Path:
    """The label file: explicit, else `real.json` beside or above the val root, else timm's copy
    (byte-identical to the published file; its digest is checked)."""
    if explicit is not None:
        if not explicit.is_file():
            raise UserError(f"--real-json {explicit} does not exist")
        return explicit
    for base in (root, root.parent, root.parent.parent):
        if (base / "real.json").is_file():
            return base / "real.json"
    import timm

    bundled = Path(timm.__file__).parent / "data" / "_info" / "imagenet_real_labels.json"
    if bundled.is_file() and sha256_file(bundled) == REAL_JSON_SHA256:
        return bundled
    raise UserError(
        f"no real.json found for {root}: pass --real-json FILE (or `shiftlab fetch imagenet_real`)"
    )


def load_real(path: Path) -> list[list[int]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read ReaL labels {path}: {exc}") from None
    if not isinstance(data, list) or not all(
        isinstance(x, list) and all(isinstance(i, int) for i in x) for x in data
    ):
        raise UserError(f"{path}: expected a JSON list of lists of ImageNet class indices")
    return data


@register_reader("real")
def real(root: Path, opts: ReadOptions) -> Listing:
    path = find_real_json(root, opts.real_json)
    labels = load_real(path)
    listing = imagenet_val(root, opts)
    names = sorted(Path(s.sample).name for s in listing.samples)
    if len(labels) == FULL_LENGTH:
        position = {}
        for name in names:
            number = val_number(name)
            if number is None or not 1 <= number <= FULL_LENGTH:
                raise UserError(
                    f"{name} is not an ILSVRC2012_val_XXXXXXXX file: ReaL labels match by file name"
                )
            position[name] = number - 1
    elif len(labels) == len(names):
        position = {name: i for i, name in enumerate(names)}
    else:
        raise UserError(
            f"{path} has {len(labels)} label lists but {root} has {len(names)} val images: "
            f"expected {FULL_LENGTH} (official) or one list per val image (sorted by file name)"
        )
    for sample in listing.samples:
        sample.labels = tuple(labels[position[Path(sample.sample).name]])
    listing.notes.update(
        real_json=str(path),
        real_json_sha256=sha256_file(path),
        real_lists=len(labels),
        real_empty=sum(1 for x in labels if not x),
    )
    return listing
