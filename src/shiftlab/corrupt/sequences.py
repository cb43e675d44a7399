"""ImageNet-P perturbation sequences (Hendrycks & Dietterich 2019), frame by frame.

Each sequence is made from one source image, following the published generators
``ImageNet-P/create_p/make_imagenet_p.py`` (224 px) and ``make_tinyimagenet_p.py`` (64 px)
in hendrycks/robustness. Frame geometry: the image is resized so its short side is
``resize`` (bilinear, like ``torchvision.Resize``); geometric perturbations act on that
whole resized image and the frame is its centre ``crop`` x ``crop`` (so translated or
rotated content comes from outside the crop, as in the reference); photometric and noise
perturbations act on the crop.

The ramp of each perturbation (frames and what frame i is) is in ``perturbations``, where
the generators are registered (on first use).

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
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shiftlab.corrupt.image_geometry import center_crop, resize_short_side
from shiftlab.errors import UserError

DIFFICULTIES = (1, 2, 3)

# Published ramps per resolution set (see ``perturbations`` for their meaning).
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


def _ensure_loaded() -> None:
    import shiftlab.corrupt.perturbations  # noqa: F401  (registers the built-in generators)


def list_perturbations(filter: str = "*", split: str | None = None) -> list[str]:
    """Registered names (10 test, then 4 validation) matching a shell wildcard."""
    _ensure_loaded()
    if split not in (None, "test", "validation"):
        raise UserError(f"unknown perturbation split {split!r}; allowed: test, validation")
    ordered = sorted(_REGISTRY.values(), key=lambda p: p.split != "test")
    return [
        p.name for p in ordered if fnmatch.fnmatchcase(p.name, filter) and split in (None, p.split)
    ]


def get_perturbation(name: str) -> Perturbation:
    _ensure_loaded()
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
    _ensure_loaded()
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
