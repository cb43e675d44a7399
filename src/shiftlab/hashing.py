"""Content hashes: every number in a report is traced to files by these digests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, streamed (works for multi-GB archives)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_files_in_background(paths: Mapping[str, str | Path]) -> Callable[[], dict[str, str]]:
    """Start hashing ``paths`` on a side thread (hashlib releases the GIL on large
    chunks); the returned function waits for and returns the digests by name."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="sha256")
    futures = {name: pool.submit(sha256_file, path) for name, path in paths.items()}
    pool.shutdown(wait=False)  # the queued hashes still run; the thread ends after them
    return lambda: {name: future.result() for name, future in futures.items()}
