"""Diamond-square plasma fractal (the fog layer of ImageNet-C).

Same recurrence as the reference generator: the map starts at 0, every midpoint is the
mean of its four parents plus uniform noise of half-width ``wibble`` (times ``wibble``:
the reference's ``wibble * uniform(-wibble, wibble)``), wibble starts at 100 and is divided
by ``wibble_decay`` per level, indices wrap around (a torus); result is min-max scaled.
"""

from __future__ import annotations

import numpy as np


def plasma_fractal(map_size: int, wibble_decay: float, rng: np.random.Generator) -> np.ndarray:
    """A ``map_size`` x ``map_size`` float64 height map in [0, 1] (map_size: a power of two)."""
    if map_size & (map_size - 1):
        raise ValueError(f"plasma map size must be a power of two, got {map_size}")
    grid = np.zeros((map_size, map_size), dtype=np.float64)
    step = map_size
    wibble = 100.0

    def noisy_mean(total: np.ndarray) -> np.ndarray:
        return total / 4 + wibble * rng.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        # squares: centre of each cell from its four corners
        corners = grid[0::step, 0::step]
        acc = corners + np.roll(corners, -1, axis=0)
        acc = acc + np.roll(acc, -1, axis=1)
        grid[half::step, half::step] = noisy_mean(acc)
        # diamonds: edge midpoints from the two corners and the two neighbouring centres
        centres = grid[half::step, half::step]
        corners = grid[0::step, 0::step]
        top = centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1)
        grid[0::step, half::step] = noisy_mean(top)
        left = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0)
        grid[half::step, 0::step] = noisy_mean(left)
        step = half
        wibble /= wibble_decay
    grid -= grid.min()
    return grid / grid.max()
