"""Digital corruptions: brightness, contrast, saturate, elastic transform, pixelate, JPEG.

Brightness and saturate edit V and S of HSV like the reference (scikit-image's
rgb2hsv/hsv2rgb) but in closed form on RGB, avoiding the colour-space round trip:
with hue fixed, every channel is ``V - V * S * k(hue)``, so
- changing V to V' scales the pixel by V'/V (a black pixel becomes grey V'),
- changing S to S' scales the distance below the max channel by S'/S (a grey pixel,
  whose hue scikit-image defines as 0 = red, becomes (V, V(1-S'), V(1-S'))).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from shiftlab.corrupt.ops.filters import gaussian
from shiftlab.corrupt.registry import register_corruption


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) * np.float32(1 / 255)


@register_corruption("brightness", family="weather", stochastic=False)
def brightness(image, shift, pset, rng) -> np.ndarray:
    x = _unit(image)
    v = x.max(axis=2, keepdims=True)
    v_new = np.minimum(v + np.float32(shift), np.float32(1))
    scale = np.divide(v_new, v, out=np.zeros_like(v), where=v > 0)
    out = x * scale
    return np.where(v > 0, out, v_new)


@register_corruption("saturate", family="digital", stochastic=False)
def saturate(image, params, pset, rng) -> np.ndarray:
    gain, shift = params
    x = _unit(image)
    v = x.max(axis=2, keepdims=True)
    delta = v - x.min(axis=2, keepdims=True)
    s = np.divide(delta, v, out=np.zeros_like(v), where=v > 0)
    s_new = np.clip(s * np.float32(gain) + np.float32(shift), 0, 1)
    ratio = np.divide(s_new, s, out=np.zeros_like(s), where=delta > 0)
    out = v - ratio * (v - x)
    if shift:
        # grey pixels: hue 0 (red) in scikit-image, so G and B drop to V * (1 - S')
        grey = np.concatenate([v, v * (1 - s_new), v * (1 - s_new)], axis=2)
        out = np.where(delta > 0, out, grey)
    return out


@register_corruption("contrast", family="digital", stochastic=False)
def contrast(image, factor, pset, rng) -> np.ndarray:
    x = image.astype(np.float64) / 255.0  # float64 mean, as the reference
    means = x.mean(axis=(0, 1), keepdims=True)
    return (x - means) * factor + means


@register_corruption("pixelate", family="digital", stochastic=False)
def pixelate(image, factor, pset, rng) -> np.ndarray:
    # make_imagenet_c.py resizes down and back up with PIL's BOX filter (the
    # imagecorruptions package uses NEAREST for the way up; we follow the published files).
    h, w = image.shape[:2]
    pil = Image.fromarray(image)
    small = pil.resize((int(w * factor), int(h * factor)), Image.BOX)
    return np.asarray(small.resize((w, h), Image.BOX))


@register_corruption("jpeg_compression", family="digital", stochastic=False)
def jpeg_compression(image, quality, pset, rng) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=int(quality))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


@register_corruption("elastic_transform", family="digital", stochastic=True)
def elastic_transform(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    """make_imagenet_c.py's elastic transform: a random affine jitter of three control
    points, then a smooth random displacement field (bilinear, reflecting borders)."""
    alpha, sigma, jitter = params
    x = _unit(image)
    h, w = x.shape[:2]
    centre = np.float32([h, w]) // 2
    half = min(h, w) // 3
    src = np.float32(
        [centre + half, [centre[0] + half, centre[1] - half], centre - half]
    )
    dst = src + rng.uniform(-jitter, jitter, size=src.shape).astype(np.float32)
    affine = cv2.getAffineTransform(src, dst)
    x = cv2.warpAffine(x, affine, (w, h), borderMode=cv2.BORDER_REFLECT_101)

    fields = rng.uniform(-1, 1, size=(2, h, w))
    if alpha == 0 or sigma == 0:
        # scipy's sigma-0 Gaussian is the identity: the field is alpha * uniform noise
        dy, dx = (fields * alpha).astype(np.float32)
    else:
        dy = (gaussian(fields[0], sigma, mode="reflect", truncate=3) * alpha).astype(np.float32)
        dx = (gaussian(fields[1], sigma, mode="reflect", truncate=3) * alpha).astype(np.float32)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(
        x, gx + dx, gy + dy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
