"""The one home of write-to-a-temporary-sibling-then-rename.

Every output a later job, the audit or a user reads is replaced in one `os.replace`: a reader
(or a job killed half-way, e.g. by a SLURM time limit) only ever sees the old file or the
complete new one, and a failed write leaves no stray temporary next to it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def _temporary_sibling(path: Path) -> Path:
    """A hidden name in the same folder (same file system, so the rename is atomic); unique
    per process and call, so concurrent writers of one path never share a temporary."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def atomic_path(path: str | Path, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces `path` when the block succeeds.

    `fsync`: flush the file to disk before the rename (checkpoints: survive a node crash).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_sibling(path)
    try:
        yield tmp
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes, folders: set[Path] | None = None) -> Path:
    """Write `data` atomically. `folders`: parent folders this caller already made; the
    corruption engine writes ~10^6 small files, so it skips one mkdir (and the context
    manager) per file."""
    path = Path(path)
    parent = path.parent
    if folders is None or parent not in folders:
        parent.mkdir(parents=True, exist_ok=True)
        if folders is not None:
            folders.add(parent)
    tmp = _temporary_sibling(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no stray temporary
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any, *, indent: int | None = 2) -> Path:
    """Write `obj` as sorted-key JSON (stable bytes for the same content) atomically."""
    return write_text(path, json.dumps(obj, indent=indent, sort_keys=True, default=str) + "\n")


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV (no index) atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)
