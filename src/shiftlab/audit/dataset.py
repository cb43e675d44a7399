"""Re-verifying a dataset fingerprint (a benchmark root's content, as recorded in its index).

The data package owns the fingerprint definition (`shiftlab.data.fingerprint`: a manifest of
path, size and sha256 of every file). The audit re-hashes every file (`verify=True`: a file
replaced with the same size and mtime is still caught) and, when the manifest cached by the
data package still describes the recorded fingerprint, names the files that changed.
`manifest_fingerprint` is a stand-alone fallback for a checkout without that module.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftlab.hashing import sha256_file


@dataclass
class DatasetCheck:
    root: str
    expected: str
    actual: str | None = None
    changed_files: list[str] = field(default_factory=list)  # when they can be told
    method: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.actual == self.expected


def manifest_fingerprint(root: str | Path) -> str:
    """Fallback fingerprint: sha256 over `relative/path<TAB>sha256` lines of every regular
    file under `root` (sorted; names starting with '.' skipped, they are fetch markers)."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        digest.update(f"{rel}\t{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def _data_module() -> Any | None:
    try:
        return importlib.import_module("shiftlab.data.fingerprint")
    except ModuleNotFoundError as exc:
        if exc.name not in ("shiftlab.data.fingerprint", "shiftlab.data"):
            raise
        return None


def compute_fingerprint(root: str | Path) -> str:
    """The fingerprint of `root` as the data package defines it, every file re-hashed."""
    module = _data_module()
    if module is None:
        return manifest_fingerprint(root)
    return module.build_manifest(Path(root), verify=True).fingerprint


def verify_dataset(
    root: str | Path, expected: str, combine: Callable[[str], str] | None = None
) -> DatasetCheck:
    """Recompute the fingerprint of `root`, compare it with `expected`, name changed files.

    `combine` maps the root's fingerprint to the recorded form when the index mixes more into
    it (ImageNet-ReaL: the label file's hash)."""
    combine = combine or (lambda digest: digest)
    root = Path(root)
    check = DatasetCheck(str(root), expected)
    if not root.is_dir():
        check.error = "dataset root is missing"
        return check
    module = _data_module()
    if module is None:
        check.method = "manifest_fingerprint (fallback)"
        check.actual = combine(manifest_fingerprint(root))
        return check
    check.method = "shiftlab.data.fingerprint"
    before = _cached_entries(module, root)  # read before the verify pass rewrites the cache
    fresh = module.build_manifest(root, verify=True)
    check.actual = combine(fresh.fingerprint)
    if check.actual != expected:
        now = {e.path: (e.size, e.sha256) for e in fresh.entries}
        old = module.fingerprint_of([(p, s, h) for p, (s, h) in before.items()]) if before else ""
        if before is not None and combine(old) == expected:
            check.changed_files = sorted(
                p for p in before.keys() | now.keys() if before.get(p) != now.get(p)
            )
        else:
            check.changed_files = list(fresh.changed_in_place)
    return check


def _cached_entries(module: Any, root: Path) -> dict[str, tuple[int, str]] | None:
    """The data package's cached manifest of `root` (path -> (size, sha256)), if readable."""
    load, locate = getattr(module, "_load_cache", None), getattr(module, "_cache_path", None)
    if not (callable(load) and callable(locate)):
        return None
    try:
        entries = load(locate(root, None))
    except Exception:  # noqa: BLE001 - a missing or foreign cache only costs the file names
        return None
    return {p: (e.size, e.sha256) for p, e in entries.items()} or None
