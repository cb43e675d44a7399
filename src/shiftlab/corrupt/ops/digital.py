"""Digital corruptions: brightness, contrast, saturate, elastic transform, pixelate, JPEG.

Brightness and saturate edit V and S of HSV like the reference, with OpenCV's float HSV
conversion instead of scikit-image's (same formulas, grey pixels get hue 0 in both, so a
saturation shift tints them red in both; > 55 dB apart, 5-10x faster).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision.io import decode_jpeg, encode_jpeg

from shiftlab.corrupt.ops.filters import gaussian
from shiftlab.corrupt.registry import register_corruption


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) * np.float32(1 / 255)


def _edit_hsv(image: np.ndarray, channel: int, gain: float, shift: float) -> np.ndarray:
    x = _unit(image)
    hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
    plane = hsv[..., channel]
    if gain != 1:
        plane *= np.float32(gain)
    plane += np.float32(shift)
    np.clip(plane, 0, 1, out=plane)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


@register_corruption("brightness", family="weather", stochastic=False)
def brightness(image, shift, pset, rng) -> np.ndarray:
    return _edit_hsv(image, 2, 1, shift)


@register_corruption("saturate", family="digital", stochastic=False)
def saturate(image, params, pset, rng) -> np.ndarray:
    gain, shift = params
    return _edit_hsv(image, 1, gain, shift)


_LEVELS = np.arange(256, dtype=np.uint8)
_UNIT_LEVELS = _unit(_LEVELS)  # the 256 float32 values a pixel of _unit(image) can take
_HIST_EXACT = 1 << 24  # calcHist counts in float32: exact below 2**24 pixels


@register_corruption("contrast", family="digital", stochastic=False)
def contrast(image, factor, pset, rng) -> np.ndarray:
    # Reference: x = image / 255; (x - mean_c) * factor + mean_c. Each output byte depends
    # only on the channel and the input byte, so the float32 formula is evaluated on the
    # 256 levels and applied as a table; the channel means come from histograms. The sum
    # of float32 values in float64 is exact at image sizes (no rounding in any order), so
    # the bytes equal the elementwise computation's (tested).
    means = _channel_means(image)
    levels = np.repeat(_UNIT_LEVELS[:, None], 3, axis=1)
    out = (levels - means) * np.float32(factor) + means
    table = (np.clip(out, 0, 1) * np.float32(255)).astype(np.uint8)
    return cv2.LUT(image, table.reshape(256, 1, 3))


def _channel_means(image: np.ndarray) -> np.ndarray:
    """float32 mean of ``_unit(image)`` per channel, computed in float64 from histograms."""
    pixels = image.shape[0] * image.shape[1]
    if pixels < _HIST_EXACT:
        counts = [cv2.calcHist([image], [c], None, [256], [0, 256]).ravel() for c in range(3)]
    else:
        counts = [np.bincount(image[..., c].ravel(), minlength=256) for c in range(3)]
    hist = np.stack(counts, axis=1).astype(np.float64)
    means = (hist * _UNIT_LEVELS.astype(np.float64)[:, None]).sum(axis=0) / pixels
    return means.astype(np.float32)


@register_corruption("pixelate", family="digital", stochastic=False)
def pixelate(image, factor, pset, rng) -> np.ndarray:
    # make_imagenet_c.py resizes down and back up with PIL's BOX filter; the
    # imagecorruptions package uses NEAREST for the way up. When enlarging, PIL's box
    # window is one source pixel wide, so the two usually pick the same pixels; where
    # they do for both axes (224 px among them), the 10x cheaper NEAREST is used.
    h, w = image.shape[:2]
    pil = Image.fromarray(image)
    sw, sh = int(w * factor), int(h * factor)
    small = pil.resize((sw, sh), Image.BOX)
    same = _nearest_is_box(sw, w) and _nearest_is_box(sh, h)
    return np.asarray(small.resize((w, h), Image.NEAREST if same else Image.BOX))


@functools.lru_cache(maxsize=256)
def _nearest_is_box(n_in: int, n_out: int) -> bool:
    """Whether PIL's BOX enlargement n_in -> n_out copies the pixel NEAREST would pick
    (probed on a float ramp; ties at some sizes make the two differ by a column)."""
    ramp = Image.fromarray(np.arange(n_in, dtype=np.float32)[None, :], mode="F")
    box = np.asarray(ramp.resize((n_out, 1), Image.BOX))
    return bool(np.array_equal(box, np.asarray(ramp.resize((n_out, 1), Image.NEAREST))))


def encode_jpeg_hwc(image: np.ndarray, quality: int) -> torch.Tensor:
    """JPEG bytes (uint8 tensor) of an HxWx3 uint8 array via torchvision's libjpeg-turbo:
    the bytes PIL's ``save(format="JPEG", quality=q)`` writes (default 4:2:0; tested),
    without PIL's file-object overhead. The array is handed over as a CHW view, which the
    encoder reads as interleaved RGB without a copy."""
    if not (image.flags.c_contiguous and image.flags.writeable):
        image = image.copy()  # torch.from_numpy warns on read-only arrays (PIL views)
    return encode_jpeg(torch.from_numpy(image).permute(2, 0, 1), quality=int(quality))


@register_corruption("jpeg_compression", family="digital", stochastic=False)
def jpeg_compression(image, quality, pset, rng) -> np.ndarray:
    # The reference's PIL save + open round trip, with the same encoder and decoder.
    decoded = decode_jpeg(encode_jpeg_hwc(image, quality))
    return np.ascontiguousarray(decoded.permute(1, 2, 0).numpy())


def _control_points(h: int, w: int) -> np.ndarray:
    centre = np.float32([h, w]) // 2
    half = min(h, w) // 3
    return np.float32([centre + half, [centre[0] + half, centre[1] - half], centre - half])


def draw_elastic(
    rng: np.random.Generator, jitter: float, h: int, w: int
) -> tuple[np.ndarray, np.ndarray]:
    """The elastic transform's draws, in its order: the float32 3 x 2 jitter of the affine
    control points, then the float64 2 x H x W uniform displacement fields (shared with
    the torch operator, so both consume an image's stream identically)."""
    offsets = rng.uniform(-jitter, jitter, size=(3, 2)).astype(np.float32)
    fields = rng.uniform(-1, 1, size=(2, h, w))
    return offsets, fields


def elastic_affine(h: int, w: int, offsets: np.ndarray) -> np.ndarray:
    """The 2 x 3 affine (source -> destination) of the jittered control points."""
    src = _control_points(h, w)
    return cv2.getAffineTransform(src, src + offsets)


@register_corruption("elastic_transform", family="digital", stochastic=True)
def elastic_transform(image, params, pset, rng: np.random.Generator) -> np.ndarray:
    """make_imagenet_c.py's elastic transform: a random affine jitter of three control
    points, then a smooth random displacement field (bilinear, reflecting borders)."""
    alpha, sigma, jitter = params
    x = _unit(image)
    h, w = x.shape[:2]
    offsets, fields = draw_elastic(rng, jitter, h, w)
    affine = elastic_affine(h, w, offsets)
    x = cv2.warpAffine(x, affine, (w, h), borderMode=cv2.BORDER_REFLECT_101)

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
