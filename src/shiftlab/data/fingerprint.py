"""Dataset manifests and fingerprints: the content hash provenance records cite for a dataset.

The manifest lists every file under a root (relative path, size, sha256); the fingerprint is
the sha256 of its canonical text form (`path\\tsize\\tsha256\\n`, sorted by path), so it depends
on content only — not on mtimes, the root's location or the file system.

Hashing ImageNet takes a while, so the manifest is cached with each file's size and mtime and
later calls re-hash only files whose size or mtime changed; `verify=True` re-hashes everything.
The cache lives under the user cache dir, never inside the dataset: datasets may be read-only,
shared, or tracked by DVC, where an extra file would change what is tracked.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from shiftlab.atomic import atomic_path
from shiftlab.errors import UserError
from shiftlab.hashing import sha256_file

# Bookkeeping files that say nothing about the content (the fetch marker holds a time stamp).
EXCLUDED_PREFIXES = (".shiftlab",)
EXCLUDED_NAMES = frozenset({".fetched.json"})
CACHE_FORMAT = "shiftlab-manifest/1"


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass
class Manifest:
    root: str
    entries: list[Entry]
    rehashed: int = 0  # files hashed in this call (0 = all came from the cache)
    changed_in_place: list[str] = field(default_factory=list)  # verify: same size+mtime, new bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint_of((e.path, e.size, e.sha256) for e in self.entries)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)


def fingerprint_of(rows: Iterator[tuple[str, int, str]] | list[tuple[str, int, str]]) -> str:
    """sha256 of the canonical manifest text of (path, size, sha256) rows."""
    digest = hashlib.sha256()
    for path, size, sha in sorted(rows, key=lambda r: r[0].encode()):
        digest.update(f"{path}\t{size}\t{sha}\n".encode())
    return digest.hexdigest()


def cache_dir() -> Path:
    base = os.environ.get("SHIFTLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "shiftlab"
    )
    return Path(base) / "manifests"


def _cache_path(root: Path, directory: Path | None) -> Path:
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]
    return (directory or cache_dir()) / f"{key}.parquet"


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, stat) of every file, links followed, bookkeeping files skipped."""
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(root / rel if rel else root) as it:
            for entry in it:
                if entry.name in EXCLUDED_NAMES or entry.name.startswith(EXCLUDED_PREFIXES):
                    continue
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir():
                    stack.append(path)
                elif entry.is_file():
                    yield path, entry.stat()


def _load_cache(path: Path) -> dict[str, Entry]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError):
        return {}  # missing or damaged cache: rebuild
    cols = table.to_pydict()
    return {
        p: Entry(p, s, m, h)
        for p, s, m, h in zip(
            cols["path"], cols["size"], cols["mtime_ns"], cols["sha256"], strict=True
        )
    }


def _save_cache(path: Path, manifest: Manifest) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "path": [e.path for e in manifest.entries],
            "size": pa.array([e.size for e in manifest.entries], pa.int64()),
            "mtime_ns": pa.array([e.mtime_ns for e in manifest.entries], pa.int64()),
            "sha256": [e.sha256 for e in manifest.entries],
        }
    ).replace_schema_metadata(
        {"format": CACHE_FORMAT, "root": manifest.root, "fingerprint": manifest.fingerprint}
    )
    try:
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
    except OSError:
        pass  # an unwritable cache only costs time on the next call


def build_manifest(
    root: str | Path, verify: bool = False, cache: Path | None = None, threads: int | None = None
) -> Manifest:
    """Manifest of `root`, reusing cached hashes of files whose size and mtime are unchanged."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"dataset root {root} is not a folder")
    cache_file = _cache_path(root, cache)
    cached = _load_cache(cache_file)
    listing = sorted(_walk(root), key=lambda item: item[0].encode())
    todo = [
        (p, st)
        for p, st in listing
        if verify
        or p not in cached
        or cached[p].size != st.st_size
        or cached[p].mtime_ns != st.st_mtime_ns
    ]
    with ThreadPoolExecutor(max_workers=threads or min(8, os.cpu_count() or 1)) as pool:
        digests = dict(
            zip(
                (p for p, _ in todo),
                pool.map(lambda item: sha256_file(root / item[0]), todo),
                strict=True,
            )
        )
    entries, changed = [], []
    for p, st in listing:
        sha = digests.get(p) or cached[p].sha256
        old = cached.get(p)
        if (
            verify
            and old
            and old.size == st.st_size
            and old.mtime_ns == st.st_mtime_ns
            and old.sha256 != sha
        ):
            changed.append(p)
        entries.append(Entry(p, st.st_size, st.st_mtime_ns, sha))
    manifest = Manifest(str(root), entries, rehashed=len(todo), changed_in_place=changed)
    if todo or len(cached) != len(entries):
        _save_cache(cache_file, manifest)
    return manifest


def dataset_fingerprint(root: str | Path, verify: bool = False, cache: Path | None = None) -> str:
    return build_manifest(root, verify=verify, cache=cache).fingerprint
