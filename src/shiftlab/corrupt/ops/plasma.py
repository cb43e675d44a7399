"""Diamond-square plasma fractal (the fog layer of ImageNet-C).

Same recurrence as the reference generator: the map starts at 0, every midpoint is the
mean of its four parents plus uniform noise of half-width ``wibble`` (times ``wibble``:
the reference's ``wibble * uniform(-wibble, wibble)``), wibble starts at 100 and is divided
by ``wibble_decay`` per level, indices wrap around (a torus); result is min-max scaled.
The noise never depends on the map, so it is drawn first (``draw_plasma``, shared with the
torch operator, which runs the recurrence batched on the device).
"""

from __future__ import annotations

import numpy as np


def plasma_levels(map_size: int) -> list[int]:
    """Cell size ``step`` of each level, coarsest first (map_size: a power of two)."""
    if map_size & (map_size - 1):
        raise ValueError(f"plasma map size must be a power of two, got {map_size}")
    steps = []
    step = map_size
    while step >= 2:
        steps.append(step)
        step //= 2
    return steps


def draw_plasma(map_size: int, rng: np.random.Generator) -> np.ndarray:
    """All of the fractal's draws: one uniform [0, 1) double per midpoint (map_size^2 - 1),
    in the reference's order (per level: squares, top edges, left edges). Its consecutive
    ``uniform(-wibble, wibble, shape)`` calls consume the stream exactly like this one
    ``random`` call, and ``uniform`` is ``low + (high - low) * u`` to the bit."""
    plasma_levels(map_size)  # validates map_size
    return rng.random(map_size * map_size - 1)


def plasma_noise(u: np.ndarray, wibble: float) -> np.ndarray:
    """The reference's ``wibble * uniform(-wibble, wibble)`` from the drawn ``u``."""
    return wibble * (-wibble + (wibble - -wibble) * u)


def plasma_fractal(map_size: int, wibble_decay: float, rng: np.random.Generator) -> np.ndarray:
    """A ``map_size`` x ``map_size`` float64 height map in [0, 1] (map_size: a power of two)."""
    u = draw_plasma(map_size, rng)
    grid = np.zeros((map_size, map_size), dtype=np.float64)
    at = 0
    wibble = 100.0

    def noisy_mean(total: np.ndarray) -> np.ndarray:
        nonlocal at
        field = plasma_noise(u[at : at + total.size].reshape(total.shape), wibble)
        at += total.size
        return total / 4 + field

    for step in plasma_levels(map_size):
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
        wibble /= wibble_decay
    grid -= grid.min()
    return grid / grid.max()
