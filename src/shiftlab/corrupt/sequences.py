"""ImageNet-P perturbation sequences (Hendrycks & Dietterich 2019), frame by frame.

Each sequence is made from one source image, following the published generators
``ImageNet-P/create_p/make_imagenet_p.py`` (224 px) and ``make_tinyimagenet_p.py`` (64 px)
in hendrycks/robustness. Frame geometry: the image is resized so its short side is
``resize`` (bilinear, like ``torchvision.Resize``); geometric perturbations act on that
whole resized image and the frame is its centre ``crop`` x ``crop`` (so translated or
rotated content comes from outside the crop, as in the reference); photometric and noise
perturbations act on the crop.

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

Only the noise sequences take a *difficulty* (their ``_2``/``_3`` folders); for the others
ImageNet-P's difficulty is a frame stride applied at evaluation, so one sequence serves all.
Quantization follows the reference (``np.uint8(255 * v)`` truncates; ImageMagick output is
rounded). Deviations, all documented: motion blur is our ImageMagick re-implementation
(``ops.filters.motion_blur``), the tiny motion blur acts on the 64-px crop rather than the
full-size original, and random fields come from PCG64 rather than the global NumPy/torch
generators, so sequences are seeded per image.
"""

from __future__ import annotations

import fnmatch
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shiftlab.corrupt.transforms import affine, center_crop, resize_short_side, shift_image
from shiftlab.errors import UserError

DIFFICULTIES = (1, 2, 3)

# Published ramps per resolution set (see the module docstring for their meaning).
SEQUENCE_PARAMS: dict[str, dict[str, Any]] = {
    "imagenet": {
        "resize": 256,
        "crop": 224,
        "gaussian_noise": (0.03, 0.05, 0.08),
        "shot_noise": (300, 120, 60),
        "speckle_noise": (0.05, 0.10, 0.15),
        "motion_blur": {"radius": 10, "sigma": 3, "angle_step": 4},
        "snow": {"loc": 0.05, "scale": 0.3, "zoom": 3, "radius": 14, "sigma": 4},
        "gaussian_blur": {"sigma0": 0.25, "step": 0.035, "truncate": 6.0},
        "spatter": {
            "loc": 0.65,
            "scale": 0.27,
            "sigma": 3.7,
            "threshold": 0.69,
            "drip": (0.05, 0.1, 0.15, 0.7),
        },
        "translate": 20,  # shifts -20..+20 -> 41 frames
    },
    "tiny": {
        "resize": 64,
        "crop": 64,
        "gaussian_noise": (0.025, 0.05, 0.075),
        "shot_noise": (500, 250, 125),
        "speckle_noise": (0.05, 0.10, 0.15),
        "motion_blur": {"radius": 14, "sigma": 3, "angle_step": 5},
        "snow": {"loc": 0.05, "scale": 0.28, "zoom": 2, "radius": 10, "sigma": 2.5},
        "gaussian_blur": {"sigma0": 0.35, "step": 0.014, "truncate": 7.0},
        "spatter": {"loc": 0.6, "scale": 0.25, "sigma": 1.75, "threshold": 0.7, "drip": (0.2, 0.8)},
        "translate": 15,  # shifts -15..+15 -> 31 frames
    },
}
SMOOTH_FRAMES = 31


@dataclass(frozen=True)
class Geometry:
    """How a source image becomes frames: parameter set, short-side resize and square crop."""

    param_set: str
    resize: int | None  # None: keep the native size
    crop: int


@dataclass(frozen=True)
class Source:
    """The resized image (geometric perturbations) and its centre crop (the others)."""

    full: np.ndarray
    crop: np.ndarray
    table: dict[str, Any]

    def frame(self, image: np.ndarray) -> np.ndarray:
        return center_crop(image, self.crop.shape[0], self.crop.shape[1])


SequenceFn = Callable[[Source, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Perturbation:
    name: str
    split: str  # "test" (in mFR / mT5D) or "validation"
    noise: bool  # frame 0 clean, independent noise; difficulty picks the folder
    fn: SequenceFn


_REGISTRY: dict[str, Perturbation] = {}


def register_perturbation(name: str, *, split: str, noise: bool = False):
    """Decorator registering a sequence generator (duplicates replace, with a warning)."""

    def wrap(fn: SequenceFn) -> SequenceFn:
        if name in _REGISTRY:
            warnings.warn(
                f"perturbation {name!r} registered twice; keeping the later one", stacklevel=2
            )
        _REGISTRY[name] = Perturbation(name, split, noise, fn)
        return fn

    return wrap


def list_perturbations(filter: str = "*", split: str | None = None) -> list[str]:
    """Registered names (10 test, then 4 validation) matching a shell wildcard."""
    if split not in (None, "test", "validation"):
        raise UserError(f"unknown perturbation split {split!r}; allowed: test, validation")
    ordered = sorted(_REGISTRY.values(), key=lambda p: p.split != "test")
    return [
        p.name for p in ordered if fnmatch.fnmatchcase(p.name, filter) and split in (None, p.split)
    ]


def get_perturbation(name: str) -> Perturbation:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown perturbation {name!r}; valid names: {', '.join(list_perturbations())}"
        ) from None


def is_noise(name: str) -> bool:
    return get_perturbation(name).noise


def folder_name(name: str, difficulty: int = 1) -> str:
    """The official folder: ``gaussian_noise_2`` for noise difficulty 2, else the name."""
    _check_difficulty(difficulty)
    return f"{name}_{difficulty}" if is_noise(name) and difficulty > 1 else name


def parse_folder(folder: str) -> tuple[str, int]:
    """``"shot_noise_3"`` -> ("shot_noise", 3); ``"rotate"`` -> ("rotate", 1)."""
    if folder in _REGISTRY:
        return folder, 1
    stem, _, tail = folder.rpartition("_")
    if stem in _REGISTRY and _REGISTRY[stem].noise and tail in {"2", "3"}:
        return stem, int(tail)
    raise UserError(
        f"unknown ImageNet-P folder {folder!r}; expected a perturbation name or <noise>_2/_3"
    )


def frame_count(name: str, geometry: Geometry) -> int:
    if name == "translate":
        return 2 * SEQUENCE_PARAMS[geometry.param_set]["translate"] + 1
    get_perturbation(name)
    return SMOOTH_FRAMES


def resolve_geometry(
    params: str, height: int, width: int, resize: int | None = None, crop: int | None = None
) -> Geometry:
    """Frame geometry for a param set ("imagenet" | "tiny" | "auto") and a source size.

    ``imagenet``: short side 256, crop 224; ``tiny``: 64 and 64 (the published sets).
    ``auto`` picks the set as the ImageNet-C operators do (by the short side); a tiny-sized
    image keeps its native size and is cropped to its short side rounded down to even (H.264
    4:2:0 needs even sizes). Explicit ``resize``/``crop`` override either.
    """
    from shiftlab.corrupt.params import resolve_param_set

    param_set = resolve_param_set(params, height, width).name
    table = SEQUENCE_PARAMS[param_set]
    if params == "auto" and param_set == "tiny":
        default_resize, default_crop = None, min(height, width) // 2 * 2
    else:
        default_resize, default_crop = table["resize"], table["crop"]
    resize = default_resize if resize is None else int(resize)
    crop = default_crop if crop is None else int(crop)
    short = resize if resize is not None else min(height, width)
    if crop % 2 or crop < 2:
        raise UserError(f"ImageNet-P crop must be a positive even size (H.264 yuv420p), got {crop}")
    if crop > short:
        raise UserError(f"ImageNet-P crop {crop} is larger than the resized short side {short}")
    return Geometry(param_set, resize, crop)


def make_sequence(
    image: np.ndarray,
    name: str,
    difficulty: int = 1,
    seed: int = 0,
    params: str = "auto",
    resize: int | None = None,
    crop: int | None = None,
) -> np.ndarray:
    """All frames (T, crop, crop, 3) uint8 of one perturbation sequence of ``image``."""
    from shiftlab.corrupt.seeding import make_rng

    perturbation = get_perturbation(name)
    _check_difficulty(difficulty)
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) image, got shape {image.shape}")
    geometry = resolve_geometry(params, image.shape[0], image.shape[1], resize, crop)
    full = image if geometry.resize is None else resize_short_side(image, geometry.resize)
    source = Source(full, center_crop(full, geometry.crop), SEQUENCE_PARAMS[geometry.param_set])
    frames = perturbation.fn(source, difficulty, make_rng(seed))
    expected = frame_count(name, geometry)
    assert (
        frames.shape == (expected, geometry.crop, geometry.crop, 3) and frames.dtype == np.uint8
    ), (name, frames.shape, frames.dtype)
    return frames


def _check_difficulty(difficulty: int) -> None:
    if difficulty not in DIFFICULTIES:
        raise UserError(f"ImageNet-P difficulty must be one of 1, 2, 3; got {difficulty!r}")


def _truncate_to_uint8(unit: np.ndarray) -> np.ndarray:
    """The reference's ``np.uint8(255 * clip(v, 0, 1))`` (truncation, not rounding)."""
    return (np.clip(unit, 0, 1) * 255).astype(np.uint8)


# ---- noise: frame 0 clean, frames 1..30 independently noised ------------------------------


def _noise_frames(source: Source, noisy: Callable[[], np.ndarray]) -> np.ndarray:
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
