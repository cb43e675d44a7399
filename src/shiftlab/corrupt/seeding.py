"""Per-image random streams that do not depend on batching, workers, shards or device.

Each image's stream is keyed by (study seed, sample path, corruption, severity) through
SHA-256 (Python's ``hash()`` is salted per process, so it cannot be used), and drawn with
numpy's PCG64 on the CPU; device code receives the drawn fields, never its own RNG.
"""

from __future__ import annotations

import hashlib

import numpy as np


def image_seed(study_seed: int, sample: str, name: str, severity: int) -> int:
    """A 64-bit seed for one image's corruption, stable across processes and platforms."""
    key = f"shiftlab-corrupt/1\0{int(study_seed)}\0{sample}\0{name}\0{int(severity)}"
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")


def make_rng(seed: int) -> np.random.Generator:
    """The generator every operator draws from (PCG64 so streams are reproducible)."""
    return np.random.Generator(np.random.PCG64(int(seed)))
