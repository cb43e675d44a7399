"""Training-time augmentations, all driven by an explicit per-sample numpy Generator.

Every random choice comes from the `rng` passed in (seeded by seed, epoch and sample index),
never from a global RNG, so an image's augmentation is the same whichever worker, rank or
resumed process computes it: that is what makes resumed and multi-process runs reproducible.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps

from shiftlab.errors import UserError

if TYPE_CHECKING:
    import torch

    from shiftlab.train.recipes import Recipe

_BILINEAR = Image.Resampling.BILINEAR


# -- geometric base -------------------------------------------------------------------------


def random_resized_crop_box(
    w: int,
    h: int,
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """(left, top, width, height) of an Inception-style crop: area fraction in `scale`,
    log-uniform aspect ratio in `ratio`; falls back to the central crop after 10 tries."""
    area = w * h
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        cw = round(math.sqrt(target * aspect))
        ch = round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1)), cw, ch
    aspect = w / h
    if aspect < ratio[0]:
        cw, ch = w, round(w / ratio[0])
    elif aspect > ratio[1]:
        cw, ch = round(h * ratio[1]), h
    else:
        cw, ch = w, h
    return (w - cw) // 2, (h - ch) // 2, cw, ch


def geometric(
    img: Image.Image, mode: str, size: int, rng: np.random.Generator, rotation: float = 15.0
) -> Image.Image:
    """The recipe's geometric base: flip_rotate (resize to the model size, flip, rotate),
    rrc_flip (random-resized crop + flip) or resize (deterministic)."""
    if mode == "rrc_flip":
        left, top, cw, ch = random_resized_crop_box(*img.size, rng)
        img = img.resize((size, size), _BILINEAR, box=(left, top, left + cw, top + ch))
    else:
        img = img.resize((size, size), _BILINEAR)
    if mode == "resize":
        return img
    if rng.random() < 0.5:
        img = ImageOps.mirror(img)
    if mode == "flip_rotate" and rotation:
        img = img.rotate(float(rng.uniform(-rotation, rotation)), resample=_BILINEAR)
    return img


# -- AugMix ----------------------------------------------------------------------------------
# Operations exclude those that overlap ImageNet-C (contrast, colour, brightness, sharpness,
# noise, blur) so AugMix-trained models are not tested on their own training augmentations.


def _level(severity: float, rng: np.random.Generator) -> float:
    return float(rng.uniform(0.1, severity)) / 10.0  # in (0, severity/10]


def _signed(x: float, rng: np.random.Generator) -> float:
    return -x if rng.random() < 0.5 else x


def _affine(img: Image.Image, coeffs: tuple[float, ...]) -> Image.Image:
    return img.transform(img.size, Image.Transform.AFFINE, coeffs, resample=_BILINEAR)


def _op(name: str, img: Image.Image, m: float, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    if name == "autocontrast":
        return ImageOps.autocontrast(img)
    if name == "equalize":
        return ImageOps.equalize(img)
    if name == "posterize":
        return ImageOps.posterize(img, max(1, 4 - int(m * 4)))
    if name == "solarize":
        return ImageOps.solarize(img, 256 - int(m * 256))
    if name == "rotate":
        return img.rotate(_signed(30 * m, rng), resample=_BILINEAR)
    if name == "shear_x":
        return _affine(img, (1, _signed(0.3 * m, rng), 0, 0, 1, 0))
    if name == "shear_y":
        return _affine(img, (1, 0, 0, _signed(0.3 * m, rng), 1, 0))
    if name == "translate_x":
        return _affine(img, (1, 0, _signed(w / 3 * m, rng), 0, 1, 0))
    if name == "translate_y":
        return _affine(img, (1, 0, 0, 0, 1, _signed(h / 3 * m, rng)))
    raise KeyError(name)


AUGMIX_OPS = (
    "autocontrast",
    "equalize",
    "posterize",
    "solarize",
    "rotate",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)


def augmix(
    img: Image.Image,
    rng: np.random.Generator,
    width: int = 3,
    depth: int = -1,
    severity: float = 3,
    alpha: float = 1.0,
) -> np.ndarray:
    """One AugMix view as float32 HWC in [0, 1]: `width` random op chains mixed with
    Dirichlet weights, then blended with the original by a Beta-distributed factor."""
    ws = rng.dirichlet([alpha] * width)
    m = float(rng.beta(alpha, alpha))
    base = np.asarray(img, dtype=np.float32) / 255.0
    mix = np.zeros_like(base)
    for wi in ws:
        chain = img
        for _ in range(depth if depth > 0 else int(rng.integers(1, 4))):
            op = AUGMIX_OPS[int(rng.integers(len(AUGMIX_OPS)))]
            chain = _op(op, chain, _level(severity, rng), rng)
        mix += np.float32(wi) * (np.asarray(chain, dtype=np.float32) / 255.0)
    return ((1 - m) * base + m * mix).astype(np.float32)


# -- Patch Gaussian, stability noise, corruptions ---------------------------------------------


def patch_gaussian(
    x: np.ndarray, rng: np.random.Generator, patch_frac: float = 0.5, sigma_max: float = 1.0
) -> np.ndarray:
    """Add N(0, sigma^2), sigma ~ U(0, sigma_max), inside one square patch (side patch_frac of
    the image, centre uniform, clipped at the border) of a float HWC image in [0, 1]."""
    h, w = x.shape[:2]
    side = max(1, round(patch_frac * min(h, w)))
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    y0, y1 = max(0, cy - side // 2), min(h, cy - side // 2 + side)
    x0, x1 = max(0, cx - side // 2), min(w, cx - side // 2 + side)
    sigma = float(rng.uniform(0.0, sigma_max))
    out = x.copy()
    patch = out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = np.clip(
        patch + rng.normal(0.0, sigma, patch.shape).astype(np.float32), 0.0, 1.0
    )
    return out


def corruption_module() -> Any:
    """The corruption engine, imported only when a recipe needs it."""
    try:
        import shiftlab.corrupt as corrupt

        corrupt.apply, corrupt.names  # noqa: B018 - fail here, not mid-epoch
    except (ImportError, AttributeError) as exc:
        raise UserError(
            f"recipe corruption_aug needs the corruption engine (shiftlab.corrupt.apply/names): {exc}"
        ) from None
    return corrupt


def corruption_names(requested: list[str]) -> list[str]:
    corrupt = corruption_module()
    available = list(corrupt.names())
    if requested in (["all"], []):
        return available
    if requested in (["test"], ["validation"]):  # the benchmark's held-out split names
        return list(corrupt.names(requested[0]))
    unknown = [n for n in requested if n not in available]
    if unknown:
        raise UserError(f"unknown corruptions {unknown}; allowed: {', '.join(available)}")
    return list(requested)


# -- the per-sample pipeline ------------------------------------------------------------------


class TrainTransform:
    """PIL image + per-sample rng -> the view tensor(s) the recipe's loss needs."""

    def __init__(self, recipe: Recipe, data_cfg: dict[str, Any]) -> None:
        self.recipe = recipe
        self.size = int(data_cfg["input_size"][-1])
        self.mean = np.asarray(data_cfg["mean"], dtype=np.float32)
        self.std = np.asarray(data_cfg["std"], dtype=np.float32)
        self.corruptions = (
            corruption_names(list(recipe["corruptions"]))
            if recipe.transform == "corruption"
            else []
        )

    def _tensor(self, x01: np.ndarray) -> torch.Tensor:
        import torch

        x = (x01 - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        r = self.recipe
        img = geometric(img.convert("RGB"), r["augment"], self.size, rng, r["rotation"])
        if r.transform == "corruption" and rng.random() < r["corruption_prob"]:
            name = self.corruptions[int(rng.integers(len(self.corruptions)))]
            severity = int(r["severities"][int(rng.integers(len(r["severities"])))])
            arr = corruption_module().apply(
                np.asarray(img), name, severity, seed=int(rng.integers(2**31)), params="auto"
            )
            img = Image.fromarray(np.clip(np.asarray(arr), 0, 255).astype(np.uint8))
        x = np.asarray(img, dtype=np.float32) / 255.0
        if r.transform == "patch_gaussian":
            x = patch_gaussian(x, rng, r["patch_frac"], r["sigma_max"])
        if r.views == "augmix":
            args = (r["mixture_width"], r["mixture_depth"], r["aug_severity"], r["alpha"])
            return (
                self._tensor(x),
                self._tensor(augmix(img, rng, *args)),
                self._tensor(augmix(img, rng, *args)),
            )
        if r.views == "stability":
            noise = rng.normal(0.0, r["noise_std"], x.shape).astype(np.float32)
            return self._tensor(x), self._tensor(x + noise)
        return (self._tensor(x),)
