"""A generated dataset of your own: 5 inspection classes (no ImageNet names), PNG files,
non-square images, some greyscale, repeated captures of each part in its own group folder
(`<class>/<part>/<capture>.png`), and a label-space file of class names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("good", "scratch", "dent", "crack", "stain")
HEIGHT, WIDTH = 48, 64  # non-square


def draw(cls: int, part: int, capture: int) -> np.ndarray:
    """One capture: a class-specific stripe pattern, a per-part offset, per-capture noise."""
    rng = np.random.default_rng([cls, part, capture])
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    phase = part * 0.7
    wave = np.sin((x * (cls + 1) + y * (5 - cls)) / 6.0 + phase)
    base = 120 + 80 * wave[..., None] * np.array([1.0, 0.6 + 0.1 * cls, 0.3])
    base += rng.normal(0, 6, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def make_dataset(
    root: Path, parts: int = 4, captures: int = 2, greyscale_every: int = 3
) -> tuple[Path, Path]:
    """Write the tree and `classes.txt`; returns (tree root, label-space file)."""
    tree = root / "parts"
    for c, name in enumerate(CLASSES):
        for p in range(parts):
            folder = tree / name / f"part{p:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(captures):
                pixels = draw(c, p, k)
                image = Image.fromarray(pixels)
                if (c * parts + p) % greyscale_every == 0:
                    image = image.convert("L")
                image.save(folder / f"{name}-{p:02d}-{k}.png")
    labels = root / "classes.txt"
    labels.write_text("# inspection classes, in output order\n" + "\n".join(CLASSES) + "\n")
    return tree, labels
