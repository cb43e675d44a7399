"""Your own dataset: class maps, repeated-capture groups and seeded splits of one folder tree.

A `folder` benchmark is a tree of class folders named by the label space's class names (or
wnids). Three optional settings of its config entry (schema: `benchmarks.<id>`) live here:

- `class_map`: folder -> class, for folders named otherwise;
- `groups`: which images show the same physical object (`by: folder` reads
  `<class>/<group>/<file>`; `by: manifest` reads a CSV with a `path` column and a group column);
- `split`: a seeded train/val/test split stratified by class. Whole groups go to one part, so
  repeated captures of one object never sit on both sides of the split.

The split of the whole tree is written as a manifest (CSV: path, class, split, group) beside
the index, and summarised in the index metadata.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiftlab.errors import UserError

PARTS = ("train", "val", "test")
MANIFEST_COLUMNS = ("path", "class", "split", "group")


@dataclass(frozen=True)
class FolderLayout:
    """The own-dataset settings of one `folder` benchmark entry."""

    class_map: dict[str, str] | None = None
    groups: dict[str, Any] | None = None
    split: dict[str, Any] | None = None

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> FolderLayout:
        return cls(entry.get("class_map"), entry.get("groups"), entry.get("split"))

    @classmethod
    def from_json(cls, text: str | None) -> FolderLayout:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"--folder-json is not valid JSON: {exc}") from None
        unknown = set(data) - {"class_map", "groups", "split"}
        if unknown:
            raise UserError(f"--folder-json: unknown keys {sorted(unknown)}; known: class_map, groups, split")  # fmt: skip
        return cls.from_entry(data)

    def to_json(self) -> str:
        data = {"class_map": self.class_map, "groups": self.groups, "split": self.split}
        return json.dumps({k: v for k, v in data.items() if v}, sort_keys=True)

    @property
    def group_folders(self) -> bool:
        return bool(self.groups) and self.groups.get("by") == "folder"


def sample_groups(layout: FolderLayout, root: Path, samples: list[Any]) -> list[str] | None:
    """Group of each sample (None: the entry declares no groups)."""
    if not layout.groups:
        return None
    if layout.group_folders:
        return [s.extra.get("group", "") for s in samples]
    table = read_group_manifest(root, layout.groups)
    missing = [s.sample for s in samples if s.sample not in table]
    if missing:
        raise UserError(
            f"groups manifest {layout.groups['file']}: no row for {missing[0]!r} "
            f"({len(missing)} images missing); add a row per image (column `path`, relative to {root})"
        )
    return [table[s.sample] for s in samples]


def read_group_manifest(root: Path, groups: dict[str, Any]) -> dict[str, str]:
    """{path relative to the root: group} from a CSV with a `path` and the group column."""
    import pandas as pd

    path, column = Path(groups["file"]), groups.get("column", "group")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read groups manifest {path}: {exc}") from None
    for name in ("path", column):
        if name not in frame.columns:
            raise UserError(
                f"groups manifest {path} has no column {name!r}; columns: {', '.join(frame.columns)}"
            )
    return dict(zip(frame["path"], frame[column], strict=True))


def split_fractions(split: dict[str, Any]) -> tuple[float, float, float]:
    fractions = tuple(float(split.get(p, 0.0)) for p in PARTS)
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise UserError(f"split fractions train/val/test {fractions} must be >= 0 and sum to 1")
    return fractions  # type: ignore[return-value]


def part_sizes(n: int, fractions: tuple[float, ...]) -> list[int]:
    """Units per part: largest remainder of n x fraction, and at least one unit in each part
    of non-zero fraction while there are enough units."""
    import math

    exact = [n * f for f in fractions]
    sizes = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (sizes[i] - exact[i], i))
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    wanted = [i for i, f in enumerate(fractions) if f > 0]
    if n >= len(wanted):
        for i in wanted:
            if sizes[i] == 0:
                sizes[max(range(len(sizes)), key=lambda j: sizes[j])] -= 1
                sizes[i] = 1
    return sizes


def assign_split(classes: list[str], units: list[str], split: dict[str, Any]) -> list[str]:
    """Part of each sample: per class, the sorted units (groups, or the samples themselves)
    are permuted by a generator seeded with (split seed, class) and cut by the fractions."""
    import numpy as np

    fractions = split_fractions(split)
    seed = int(split.get("seed", 0))
    part_of: dict[tuple[str, str], str] = {}
    for cls in sorted(set(classes)):
        members = sorted({u for c, u in zip(classes, units, strict=True) if c == cls})
        salt = int.from_bytes(hashlib.sha256(cls.encode()).digest()[:4], "little")
        order = np.random.default_rng([seed, salt]).permutation(len(members))
        start = 0
        for part, size in zip(PARTS, part_sizes(len(members), fractions), strict=True):
            for j in order[start : start + size]:
                part_of[(cls, members[j])] = part
            start += size
    return [part_of[(c, u)] for c, u in zip(classes, units, strict=True)]


def split_summary(manifest: Any, split: dict[str, Any]) -> dict[str, Any]:
    """Index metadata of a split: settings, per-part counts and the manifest's hash."""
    from shiftlab.hashing import sha256_bytes

    counts = {p: int((manifest["split"] == p).sum()) for p in PARTS}
    text = manifest.to_csv(index=False, lineterminator="\n")
    return {
        "part": split["part"],
        "seed": int(split.get("seed", 0)),
        "fractions": dict(zip(PARTS, split_fractions(split), strict=True)),
        "counts": counts,
        "manifest_sha256": sha256_bytes(text.encode()),
    }


def manifest_path(index_path: str | Path) -> Path:
    """The split manifest written beside an index: `<bench>.split.csv`."""
    index_path = Path(index_path)
    return index_path.with_name(f"{index_path.stem}.split.csv")
