"""Helpers: a tiny learnable image world (4 classes, 32 px) written as a dataset index."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from shiftlab.labels import MININET_WNIDS

WNIDS = sorted(MININET_WNIDS)[:4]
REPO = Path(__file__).resolve().parents[2]


def make_world(root: Path, per_class: int, size: int = 32, seed: int = 0) -> tuple[Path, Path]:
    """Class k = a square of colour k at a random place on a noisy background (flip- and
    rotation-invariant, so every recipe's augmentations keep the label). -> (index, labels)."""
    rng = np.random.default_rng(seed)
    colours = [(230, 40, 40), (40, 220, 40), (40, 60, 230), (230, 220, 40)]
    rows = []
    side = size // 2
    for k, wnid in enumerate(WNIDS):
        (root / "images" / wnid).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
            y, x = rng.integers(2, size - side - 2, 2)
            img[y : y + side, x : x + side] = colours[k]
            name = f"{wnid}/{wnid}_{i:03d}.png"
            Image.fromarray(img).save(root / "images" / name)
            rows.append((name, k, wnid))
    rows.sort()
    table = pa.table(
        {
            "sample": [r[0] for r in rows],
            "target": pa.array([r[1] for r in rows], pa.int64()),
            "wnid": [r[2] for r in rows],
            "variant": [""] * len(rows),
        }
    )
    meta = {
        "kind": "folder",
        "root": str(root / "images"),
        "benchmark": "train",
        "label_space": "tiny",
        "fingerprint": "test",
        "n": len(rows),
    }
    table = table.replace_schema_metadata({"shiftlab": json.dumps(meta)})
    index = root / "index.parquet"
    pq.write_table(table, index)
    labels = root / "tiny.txt"
    labels.write_text("\n".join(WNIDS) + "\n")
    return index, labels


def cli_env() -> dict[str, str]:
    """Environment of a CLI subprocess: one thread, so weights do not depend on load."""
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "shiftlab.cli", *args]
