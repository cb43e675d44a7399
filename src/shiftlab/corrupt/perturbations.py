"""The built-in ImageNet-P sequence generators; importing this module registers them.

Each follows the published generators (``make_imagenet_p.py``, ``make_tinyimagenet_p.py``
in hendrycks/robustness); registration order is the order of ``list_perturbations`` within
a split.

Ramps (frame i; imagenet / tiny where they differ):

======================  =======  ==============================================================
perturbation            frames   frame i
======================  =======  ==============================================================
gaussian_noise          31       0: clean; 1..30: clip(x + N(0, s)), s per difficulty
                                 1/2/3 = .03/.05/.08 (tiny .025/.05/.075)
shot_noise              31       0: clean; 1..30: poisson(x c) / c, c = 300/120/60 (tiny 500/250/125)
speckle_noise (val)     31       0: clean; 1..30: x + x N(0, s), s = .05/.10/.15
motion_blur             31       ImageMagick motion blur radius 10, sigma 3, angle 4(i - 30)
                                 (tiny: radius 14, sigma 3, angle 5(i - 30))
zoom_blur               31       running mean of frames 0..i, frame j zoomed by 1 + .004 j
snow                    31       one snow layer N(.05, .3) (tiny .28), zoomed x3 (tiny x2),
                                 kept >= .5; motion-blurred radius 14, sigma 4 (tiny 10, 2.5)
                                 at angle 4i - 150, added with its 180-degree rotation to the
                                 whitened image .85 x + .15 max(x, 1.5 grey + .5)
brightness              31       HSV value + (i - 15) / 50
translate               41 (31)  horizontal shift i - 20 px (tiny i - 15), black beyond the image
rotate                  31       i - 15 degrees, bilinear
tilt                    31       3-D rotation of the image plane by i - 15 degrees about the x
                                 and y axes, focal length = image diagonal (cv2.warpPerspective)
scale                   31       zoom (40 + 2.5 i) %, bilinear
gaussian_blur (val)     31       sigma .25 + .035 i, truncate 6 (tiny .35 + .014 i, truncate 7)
spatter (val)           31       one liquid layer N(.65, .27) blurred sigma 3.7, kept >= .69
                                 (tiny N(.6, .25), 1.75, .7), drawn as turquoise water, then
                                 dripped down each frame by a causal kernel [.05 .1 .15 .7]
                                 (tiny [.2 .8])
shear (val)             31       x-shear i - 15 degrees, bilinear
======================  =======  ==============================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from shiftlab.corrupt.image_geometry import affine, shift_image
from shiftlab.corrupt.sequences import SMOOTH_FRAMES, Source, register_perturbation


def _truncate_to_uint8(unit: np.ndarray) -> np.ndarray:
    """The reference's ``np.uint8(255 * clip(v, 0, 1))`` (truncation, not rounding)."""
    return (np.clip(unit, 0, 1) * 255).astype(np.uint8)


# ---- noise: frame 0 clean, frames 1..30 independently noised ------------------------------


def _noise_frames(source: Source, noisy: Callable[[], np.ndarray]) -> np.ndarray:
    """The clean crop, then SMOOTH_FRAMES - 1 independent draws of `noisy`."""
    return np.stack([source.crop] + [noisy() for _ in range(SMOOTH_FRAMES - 1)])


@register_perturbation("gaussian_noise", split="test", noise=True)
def gaussian_noise(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    sigma = np.float32(source.table["gaussian_noise"][difficulty - 1])
    x = source.crop.astype(np.float32) / np.float32(255)
    return _noise_frames(
        source,
        lambda: _truncate_to_uint8(x + sigma * rng.standard_normal(x.shape, dtype=np.float32)),
    )


@register_perturbation("shot_noise", split="test", noise=True)
def shot_noise(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    from shiftlab.corrupt.ops.noise import draw_poisson_counts

    c = source.table["shot_noise"][difficulty - 1]
    return _noise_frames(
        source, lambda: _truncate_to_uint8(draw_poisson_counts(rng, source.crop, c) / c)
    )


@register_perturbation("speckle_noise", split="validation", noise=True)
def speckle_noise(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    sigma = source.table["speckle_noise"][difficulty - 1]
    x = source.crop / 255.0
    return _noise_frames(
        source, lambda: _truncate_to_uint8(x + x * rng.normal(0.0, sigma, x.shape))
    )


# ---- blur, weather and digital ramps ---------------------------------------------------------


def _round_to_uint8(values: np.ndarray) -> np.ndarray:
    """ImageMagick's output quantization (rounding), unlike the reference's truncation."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


@register_perturbation("motion_blur", split="test")
def motion_blur(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    from shiftlab.corrupt.ops.filters import motion_blur as blur

    p = source.table["motion_blur"]
    x = source.crop.astype(np.float32)
    return np.stack(
        [
            _round_to_uint8(blur(x, p["radius"], p["sigma"], p["angle_step"] * (i - 30)))
            for i in range(SMOOTH_FRAMES)
        ]
    )


@register_perturbation("zoom_blur", split="test")
def zoom_blur(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    total = source.crop.astype(np.float32) / np.float32(255)
    frames = [source.crop]
    for i in range(1, SMOOTH_FRAMES):
        zoomed = source.frame(affine(source.full, scale=1 + 0.004 * i))
        total += zoomed.astype(np.float32) / np.float32(255)
        frames.append((total / np.float32(i + 1) * np.float32(255)).astype(np.uint8))
    return np.stack(frames)


def _clipped_zoom(layer: np.ndarray, factor: float) -> np.ndarray:
    """Zoom the centre of a 2-D field by ``factor`` (linear) and crop back to its size."""
    from scipy.ndimage import zoom

    h, w = layer.shape
    ch, cw = int(np.ceil(h / factor)), int(np.ceil(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    out = zoom(layer[top : top + ch, left : left + cw], factor, order=1)
    trim_top, trim_left = (out.shape[0] - h) // 2, (out.shape[1] - w) // 2
    return out[trim_top : trim_top + h, trim_left : trim_left + w]


@register_perturbation("snow", split="test")
def snow(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    from shiftlab.corrupt.ops.filters import motion_blur as blur

    p = source.table["snow"]
    x = source.crop / 255.0
    h, w = x.shape[:2]
    layer = _clipped_zoom(rng.normal(p["loc"], p["scale"], (h, w)), p["zoom"])
    layer[layer < 0.5] = 0
    flakes = (np.clip(layer, 0, 1) * 255).astype(np.uint8).astype(np.float32)
    grey = cv2.cvtColor(x.astype(np.float32), cv2.COLOR_RGB2GRAY)[..., None]
    whitened = 0.85 * x + 0.15 * np.maximum(x, grey * 1.5 + 0.5)
    frames = []
    for i in range(SMOOTH_FRAMES):
        moving = _round_to_uint8(blur(flakes, p["radius"], p["sigma"], 4 * i - 150)) / 255.0
        moving = moving[..., None]
        frames.append(_truncate_to_uint8(whitened + moving + np.rot90(moving, k=2)))
    return np.stack(frames)


@register_perturbation("brightness", split="test")
def brightness(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    from skimage.color import hsv2rgb, rgb2hsv

    hsv = rgb2hsv(source.crop / 255.0)
    frames = []
    for i in range(SMOOTH_FRAMES):
        shifted = hsv.copy()
        shifted[..., 2] = np.clip(shifted[..., 2] + (i - 15) * 2 / 100.0, 0, 1)
        frames.append((hsv2rgb(shifted) * 255).astype(np.uint8))
    return np.stack(frames)


@register_perturbation("translate", split="test")
def translate(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    # Whole-pixel shifts of the resized image (the reference's nearest-neighbour affine).
    reach = source.table["translate"]
    return np.stack(
        [source.frame(shift_image(source.full, 0, dx)) for dx in range(-reach, reach + 1)]
    )


@register_perturbation("rotate", split="test")
def rotate(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack([source.frame(affine(source.full, angle=i - 15)) for i in range(SMOOTH_FRAMES)])


def tilt_matrix(height: int, width: int, degrees: float) -> np.ndarray:
    """Homography of the image plane rotated by ``degrees`` about its x and y axes, seen by a
    pinhole camera at distance f = diagonal (make_imagenet_p.py's tilt)."""
    angle = math.radians(degrees)
    f = math.hypot(width, height)
    to_centre = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1], [0, 0, 1]])
    c, s = math.cos(angle), math.sin(angle)
    rot_x = np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1]])
    rot_y = np.array([[c, 0, -s, 0], [0, 1, 0, 0], [s, 0, c, 0], [0, 0, 0, 1]])
    push = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, f], [0, 0, 0, 1]])
    project = np.array([[f, 0, width / 2, 0], [0, f, height / 2, 0], [0, 0, 1, 0]])
    return project @ push @ rot_x @ rot_y @ to_centre


@register_perturbation("tilt", split="test")
def tilt(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = source.full.shape[:2]
    return np.stack(
        [
            source.frame(cv2.warpPerspective(source.full, tilt_matrix(h, w, i - 15), (w, h)))
            for i in range(SMOOTH_FRAMES)
        ]
    )


@register_perturbation("scale", split="test")
def scale(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack(
        [
            source.frame(affine(source.full, scale=(i * 2.5 + 40) / 100.0))
            for i in range(SMOOTH_FRAMES)
        ]
    )


@register_perturbation("gaussian_blur", split="validation")
def gaussian_blur(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    from shiftlab.corrupt.ops.filters import gaussian

    p = source.table["gaussian_blur"]
    x = source.crop / 255.0
    return np.stack(
        [
            _truncate_to_uint8(
                gaussian(x, p["sigma0"] + p["step"] * i, mode="nearest", truncate=p["truncate"])
            )
            for i in range(SMOOTH_FRAMES)
        ]
    )


def drip(layer: np.ndarray, kernel: tuple[float, ...]) -> np.ndarray:
    """``np.convolve(column, kernel, mode="same")`` down every column (zero padded)."""
    out = np.zeros_like(layer)
    offset = (len(kernel) - 1) // 2
    h = layer.shape[0]
    for k, weight in enumerate(kernel):
        shift = k - offset  # out[j] += weight * layer[j - shift]
        if shift >= 0:
            out[shift:] += weight * layer[: h - shift]
        else:
            out[:shift] += weight * layer[-shift:]
    return out


@register_perturbation("spatter", split="validation")
def spatter(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    from shiftlab.corrupt.ops.filters import gaussian

    p = source.table["spatter"]
    x = source.crop.astype(np.float32) / np.float32(255)
    liquid = gaussian(rng.normal(p["loc"], p["scale"], x.shape[:2]), p["sigma"], mode="nearest")
    liquid[liquid < p["threshold"]] = 0
    water = np.float32([175, 238, 238]) / np.float32(255)  # pale turquoise (RGB)
    edge_kernel = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    frames = []
    for _ in range(SMOOTH_FRAMES):
        liquid_u8 = (liquid * 255).astype(np.uint8)
        dist = cv2.distanceTransform(255 - cv2.Canny(liquid_u8, 50, 150), cv2.DIST_L2, 5)
        _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
        dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
        dist = cv2.blur(cv2.filter2D(dist, cv2.CV_8U, edge_kernel), (3, 3)).astype(np.float32)
        mask = liquid_u8 * dist
        peak = mask.max()
        mask = mask / peak * 0.6 if peak > 0 else mask
        frames.append(_truncate_to_uint8(x + mask[..., None] * water))
        liquid = drip(liquid, p["drip"])
    return np.stack(frames)


@register_perturbation("shear", split="validation")
def shear(source: Source, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack([source.frame(affine(source.full, shear=i - 15)) for i in range(SMOOTH_FRAMES)])
