"""Weather corruptions: snow, frost, fog, spatter."""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

from shiftlab.corrupt.ops.filters import gaussian, motion_blur
from shiftlab.corrupt.ops.geometry import clipped_zoom
from shiftlab.corrupt.ops.plasma import plasma_fractal
from shiftlab.corrupt.registry import register_corruption
from shiftlab.errors import UserError

FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
# The reference draws randint(5), so frost6.jpg is never used; we keep that.
FROST_CHOICES = 5


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) * np.float32(1 / 255)


def draw_snow(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, float]:
    """Snow's draws, in the reference's order: the float32 normal flake field, then the
    streak angle in degrees (shared with the torch operator)."""
    normal = rng.standard_normal((height, width), dtype=np.float32)
    return normal, rng.uniform(-135, -45)


@register_corruption("snow", family="weather", stochastic=True)
def snow(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    loc, scale, zoom, threshold, radius, sigma, blend = params
    x = _unit(image)
    h, w = x.shape[:2]
    normal, angle = draw_snow(rng, h, w)
    layer = normal * np.float32(scale) + np.float32(loc)
    layer = clipped_zoom(layer, zoom)
    layer[layer < threshold] = 0
    # The reference round-trips the layer through an 8-bit PNG and ImageMagick.
    layer8 = (np.clip(layer, 0, 1) * 255).astype(np.uint8).astype(np.float32)
    streaks = motion_blur(layer8, radius, sigma, angle)
    streaks = np.rint(np.clip(streaks, 0, 255)) * np.float32(1 / 255)
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None]
    x = np.float32(blend) * x + np.float32(1 - blend) * np.maximum(x, grey * 1.5 + 0.5)
    return x + (streaks + np.rot90(streaks, k=2))[..., None]


def frost_dir() -> Path:
    """Folder of the frost photos shipped with the ``imagecorruptions`` package (found without
    importing it: its import needs ``pkg_resources``)."""
    spec = importlib.util.find_spec("imagecorruptions")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "frost needs the frost textures of the 'imagecorruptions' package; "
            "install it with: pip install imagecorruptions"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "frost"


@functools.lru_cache(maxsize=16)
def frost_texture(index: int, scale: float) -> np.ndarray:
    """Frost photo ``index`` as RGB uint8, resized by ``scale`` like the tiny script."""
    path = frost_dir() / FROST_FILES[index]
    texture = cv2.imread(str(path))
    if texture is None:
        raise UserError(f"cannot read frost texture {path}; reinstall 'imagecorruptions'")
    if scale != 1.0:
        texture = cv2.resize(texture, (0, 0), fx=scale, fy=scale)
    texture = np.ascontiguousarray(texture[..., ::-1])
    texture.setflags(write=False)
    return texture


def _cover(texture: np.ndarray, height: int, width: int) -> np.ndarray:
    # Images larger than the texture (not in the reference sets) get it enlarged to cover.
    th, tw = texture.shape[:2]
    if th > height and tw > width:
        return texture
    factor = max((height + 1) / th, (width + 1) / tw)
    size = (math.ceil(tw * factor), math.ceil(th * factor))
    return cv2.resize(texture, size, interpolation=cv2.INTER_CUBIC)


@functools.lru_cache(maxsize=32)
def covered_frost_texture(index: int, scale: float, height: int, width: int) -> np.ndarray:
    """Frost photo ``index`` (see ``frost_texture``), enlarged where needed to cover an
    image of height x width px."""
    texture = _cover(frost_texture(index, scale), height, width)
    texture.setflags(write=False)
    return texture


def draw_frost(
    rng: np.random.Generator, height: int, width: int, scale: float
) -> tuple[int, int, int]:
    """Frost's draws: (texture index, crop top, crop left), in the reference's order
    (shared with the torch operator)."""
    index = int(rng.integers(FROST_CHOICES))
    texture = covered_frost_texture(index, scale, height, width)
    top = int(rng.integers(0, texture.shape[0] - height))
    left = int(rng.integers(0, texture.shape[1] - width))
    return index, top, left


@register_corruption("frost", family="weather", stochastic=True)
def frost(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    image_weight, frost_weight = params
    h, w = image.shape[:2]
    index, top, left = draw_frost(rng, h, w, pset.frost_texture_scale)
    texture = covered_frost_texture(index, pset.frost_texture_scale, h, w)
    crop = texture[top : top + h, left : left + w].astype(np.float32)
    out = np.float32(image_weight) * image.astype(np.float32) + np.float32(frost_weight) * crop
    return np.clip(out, 0, 255).astype(np.uint8)


def draw_fog(rng: np.random.Generator, height: int, width: int, decay: float) -> np.ndarray:
    """Fog's float32 height x width plasma layer (all of its draws; shared with the torch
    operator)."""
    return plasma_fractal(fog_map_size(height, width), decay, rng)[:height, :width].astype(
        np.float32
    )


def fog_map_size(height: int, width: int) -> int:
    """Side of fog's plasma map: the power of two covering the image (256 for 224 px)."""
    return 1 << (max(height, width) - 1).bit_length()


@register_corruption("fog", family="weather", stochastic=True)
def fog(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    strength, decay = params
    x = _unit(image)
    h, w = x.shape[:2]
    layer = draw_fog(rng, h, w, decay)[..., None]
    peak = x.max()
    return (x + np.float32(strength) * layer) * (peak / (peak + np.float32(strength)))


_WATER = np.array([175, 238, 238], dtype=np.float32) / 255  # pale turquoise
_MUD = np.array([63, 42, 20], dtype=np.float32) / 255  # mud brown
_EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float32)


def draw_spatter(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Spatter's float32 normal liquid field (its only draw; shared with the torch operator)."""
    return rng.standard_normal((height, width), dtype=np.float32)


def water_shading(drops: np.ndarray) -> np.ndarray:
    """Spatter's water shading of a uint8 drop map: an embossed, equalized distance-to-edge
    map (OpenCV only, so the torch operator runs it on the host too)."""
    dist = cv2.distanceTransform(255 - cv2.Canny(drops, 50, 150), cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
    dist = cv2.filter2D(dist, cv2.CV_8U, _EMBOSS)
    return cv2.blur(dist, (3, 3)).astype(np.float32)


@register_corruption("spatter", family="weather", stochastic=True)
def spatter(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    loc, scale, sigma, threshold, intensity, mud = params
    x = _unit(image)
    h, w = x.shape[:2]
    liquid = draw_spatter(rng, h, w) * np.float32(scale) + np.float32(loc)
    liquid = gaussian(liquid, sigma, mode="nearest")
    liquid[liquid < threshold] = 0
    if not mud:
        # water drops: shaded by an embossed, equalized distance-to-edge map
        # (clipped before the uint8 cast, which the reference left to wrap around)
        drops = (np.clip(liquid, 0, 1) * 255).astype(np.uint8)
        m = drops.astype(np.float32) * water_shading(drops)
        peak = m.max()
        m = m * np.float32(intensity / peak) if peak > 0 else m
        return x + m[..., None] * _WATER
    m = gaussian((liquid > threshold).astype(np.float32), intensity, mode="nearest")
    m[m < 0.8] = 0
    m = m[..., None]
    return x * (1 - m) + _MUD * m
