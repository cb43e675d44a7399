"""Plan-time checks of `folder` benchmarks (your own data), run by `config.validate`.

Each problem is one line naming the benchmark key, the folder, file, class or group, and the
fix, so a dataset a job would refuse (or silently mislabel) fails at `snakemake -n`:
a folder that is no class of the label space, a class without a folder, an empty class
folder, an image that does not decode, a group of one image, a group across classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shiftlab.errors import UserError

FOLDER_ONLY_KEYS = ("class_map", "groups", "split")
MAX_LISTED = 5


def own_dataset_problems(config: dict[str, Any], check_paths: bool = True) -> list[str]:
    """Every problem of the study's folder benchmarks (empty: they can be indexed)."""
    problems: list[str] = []
    benches = config["benchmarks"]
    for bid, entry in benches.items():
        where = f"benchmarks.{bid}"
        if entry["kind"] != "folder":
            problems += [
                f"{where}.{key}: applies to kind 'folder' only (this entry is {entry['kind']!r})"
                for key in FOLDER_ONLY_KEYS
                if entry.get(key)
            ]
            continue
        problems += _settings(where, entry)
    problems += _split_agreement(benches)
    if problems or not check_paths:
        return problems
    for bid, entry in benches.items():
        if entry["kind"] == "folder" and entry["source"] == "local" and entry.get("path"):
            if Path(entry["path"]).is_dir():
                derived = any(e.get("from") == bid and e["source"] == "derived" for e in benches.values())  # fmt: skip
                problems += _tree(f"benchmarks.{bid}", entry, config["label_space"], derived)
    return problems


def _settings(where: str, entry: dict[str, Any]) -> list[str]:
    from shiftlab.data.own import split_fractions

    problems: list[str] = []
    split, groups = entry.get("split"), entry.get("groups")
    if split:
        try:
            fractions = dict(zip(("train", "val", "test"), split_fractions(split), strict=True))
            if fractions[split["part"]] == 0:
                problems.append(f"{where}.split.{split['part']}: the fraction of this entry's part is 0")  # fmt: skip
        except UserError as exc:
            problems.append(f"{where}.split: {exc}")
    if groups and groups["by"] == "manifest":
        file = groups.get("file")
        if not file:
            problems.append(f"{where}.groups.file: required for groups by manifest (a CSV with `path` and `{groups['column']}`)")  # fmt: skip
        elif not Path(file).is_file():
            problems.append(f"{where}.groups.file: {file!r} does not exist")
    return problems


def _split_agreement(benches: dict[str, Any]) -> list[str]:
    """Entries splitting one tree must cut it the same way, or their parts would overlap."""
    problems: list[str] = []
    seen: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for bid, entry in benches.items():
        split = entry.get("split") if entry["kind"] == "folder" else None
        if not split:
            continue
        cut = (split["seed"], split["train"], split["val"], split["test"], str(entry.get("groups")))
        key = str(entry.get("path"))
        if key in seen and seen[key][1] != cut:
            problems.append(
                f"benchmarks.{bid}.split: seed, fractions and groups differ from benchmarks."
                f"{seen[key][0]}, which splits the same folder; use the same values"
            )
        seen.setdefault(key, (bid, cut))
        parts = [b for b, e in benches.items() if e.get("path") == entry.get("path")
                 and (e.get("split") or {}).get("part") == split["part"]]  # fmt: skip
        if len(parts) > 1 and parts[0] == bid:
            problems.append(f"benchmarks.{bid}.split.part: {', '.join(parts)} all take part {split['part']!r} of one folder")  # fmt: skip
    return problems


def _names(items: Any) -> str:
    items = sorted(items)
    more = f" (+{len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else ""
    return ", ".join(repr(i) for i in items[:MAX_LISTED]) + more


def _tree(where: str, entry: dict[str, Any], spec: str, derived: bool = False) -> list[str]:
    """Read the folder as the index would, then check classes, images and groups."""
    from shiftlab.data.index import list_samples
    from shiftlab.data.own import FolderLayout, sample_groups
    from shiftlab.labels import BUILTIN_SPACES, label_space

    root = Path(entry["path"])
    layout = FolderLayout.from_entry(entry)
    try:
        space = label_space(spec)
        _, resolved, listing = list_samples("folder", root, space=space, layout=layout)
    except UserError as exc:
        return [f"{where}: {exc}"]
    problems: list[str] = []
    if listing.bad_folders:
        problems.append(
            f"{where}.path: folder(s) {_names(listing.bad_folders)} under {root} name no class of "
            f"label_space {spec!r}; rename them, map them in {where}.class_map, or add the class "
            "to the label space"
        )
    found = {s.wnid for s in listing.samples}
    if spec not in BUILTIN_SPACES:
        missing = set(space.wnids) - listing.classes
        if missing:
            problems.append(
                f"{where}.path: class(es) {_names(missing)} of label_space {spec!r} have no "
                f"folder under {root}; add the folder or drop the class from the label space"
            )
    empty = listing.classes - found
    if empty:
        problems.append(
            f"{where}.path: class folder(s) {_names(empty)} under {root} hold no image "
            "(.jpg .jpeg .png .bmp .tif .tiff .webp); add images or remove the folder"
        )
    if derived:  # derived sets are written `<cell>/<class>/<stem>`: stems must differ per class
        stems: dict[tuple[str, str], str] = {}
        for s in listing.samples:
            key = (s.wnid, Path(s.sample).stem)
            if key in stems:
                problems.append(f"{where}.path: {stems[key]!r} and {s.sample!r} have one file stem in class {s.wnid!r}; derived sets would write both to one file (rename one)")  # fmt: skip
                break
            stems[key] = s.sample
    if entry.get("check_images", True):
        problems += _undecodable(where, resolved, [s.sample for s in listing.samples])
    if layout.groups and listing.samples:
        try:
            groups = sample_groups(layout, resolved, listing.samples)
        except UserError as exc:
            return [*problems, f"{where}.groups: {exc}"]
        problems += _group_problems(where, listing, groups or [])
    return problems


def _undecodable(where: str, root: Path, samples: list[str]) -> list[str]:
    from shiftlab.corrupt.imageio import load_rgb

    bad = []
    for sample in samples:
        try:
            load_rgb(root / sample, min_side=1)
        except UserError as exc:
            bad.append(str(exc))
    if not bad:
        return []
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return [f"{where}.path: {bad[0]}{more}; replace or remove the file"]


def _group_problems(where: str, listing: Any, groups: list[str]) -> list[str]:
    """Groups of one image (no repeat to compare), images in no group, groups across classes."""
    from collections import defaultdict

    members: dict[str, list[str]] = defaultdict(list)
    classes: dict[str, set[str]] = defaultdict(set)
    for sample, group in zip(listing.samples, groups, strict=True):
        members[group].append(sample.sample)
        classes[group].add(sample.wnid)
    problems: list[str] = []
    if "" in members:
        problems.append(f"{where}.groups: image(s) {_names(members.pop(''))} belong to no group; put each in a group folder or manifest row")  # fmt: skip
    loose = [f for f in listing.ignored if f.count("/") == 1 and not f.endswith("/")]
    if loose and entry_groups_by_folder(listing):
        problems.append(f"{where}.groups: file(s) {_names(loose)} lie outside any group folder (`<class>/<group>/<file>`); move them into one")  # fmt: skip
    single = [g for g, m in members.items() if len(m) == 1]
    if single:
        problems.append(
            f"{where}.groups: group(s) {_names(single)} hold one image; a repeatability test "
            "needs at least two captures per group (add captures or merge the group)"
        )
    mixed = [g for g, c in classes.items() if len(c) > 1]
    if mixed:
        problems.append(f"{where}.groups: group(s) {_names(mixed)} span several classes; one object has one class")  # fmt: skip
    return problems


def entry_groups_by_folder(listing: Any) -> bool:
    """Whether the listing was read with group folders (its samples carry a group)."""
    return any("group" in s.extra for s in listing.samples)
