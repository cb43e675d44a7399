"""Decode input images to uint8 RGB, converting the odd modes real datasets contain.

Corruptions are defined on 8-bit RGB. ImageNet itself ships a few CMYK and greyscale
JPEGs, user folders bring RGBA/palette PNGs and 16-bit scans. Each is converted the way
torchvision's default loader (`PIL.Image.convert("RGB")`) would see it, so materialized
files and on-the-fly evaluation agree with the clean evaluation, except 16-bit data,
which PIL would clip: it is rescaled to 8 bits instead. Every conversion is logged and
reported to the caller; anything else is refused with a message naming the file.

This is the one decoder of training, evaluation and corruption (JPEG, PNG, BMP, TIFF, WebP):
greyscale is repeated into 3 channels; alpha is dropped, not composited (the colour under a
transparent pixel is kept as stored); 16-bit greyscale becomes round(v * 255 / 65535); 16-bit
colour keeps each sample's high byte; multi-frame files use their first frame. EXIF
orientation is NOT applied (the stored pixel grid is used, as torchvision's loader does):
rotate such files beforehand, e.g. with `PIL.ImageOps.exif_transpose`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shiftlab.corrupt import MIN_SIZE
from shiftlab.errors import UserError

log = logging.getLogger(__name__)

# Corruption kernels and the ImageNet-P crops assume at least this many pixels per side.
MIN_SIDE = MIN_SIZE

# Modes PIL converts to RGB losslessly enough for our purpose (alpha is dropped, as the
# torchvision loader does; CMYK uses PIL's naive inversion, as the ImageNet loaders do).
_PIL_CONVERTIBLE = {
    "L": "greyscale",
    "LA": "greyscale+alpha",
    "1": "1-bit",
    "P": "palette",
    "PA": "palette+alpha",
    "RGBA": "RGBA",
    "RGBX": "RGBX",
    "RGBa": "RGBa",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
    "La": "greyscale+alpha",
}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


@dataclass(frozen=True)
class Decoded:
    """An RGB image and how it was obtained (`conversion` is '' for plain 8-bit RGB)."""

    pixels: np.ndarray
    conversion: str = ""


def load_rgb(path: str | Path, min_side: int = MIN_SIDE) -> Decoded:
    """Read an image file as uint8 (H, W, 3) RGB, converting and logging non-RGB modes."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            deep = _has_16bit_samples(img)
            img.load()
            frames = getattr(img, "n_frames", 1)
            decoded = _to_rgb(img, path)
    except FileNotFoundError:
        raise UserError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise UserError(f"{path}: cannot decode image ({exc})") from None
    if deep and decoded.pixels.ndim == 3 and "16-bit" not in decoded.conversion:
        # PIL unpacks 16-bit colour samples to their high byte: keep that, but say so.
        decoded = Decoded(
            decoded.pixels, _join(decoded.conversion, "16-bit colour, high byte kept")
        )
    if frames > 1:
        decoded = Decoded(decoded.pixels, _join(decoded.conversion, f"first of {frames} frames"))
    height, width = decoded.pixels.shape[:2]
    if min(height, width) < min_side:
        raise UserError(
            f"{path}: image is {width}x{height} px; corruptions need at least "
            f"{min_side} px per side (upsample the dataset first or drop this file)"
        )
    if decoded.conversion:
        log.info("%s: converted %s -> RGB", path, decoded.conversion)
    return decoded


def _to_rgb(img, path: Path) -> Decoded:
    mode = img.mode
    if mode == "RGB":
        return Decoded(np.asarray(img, dtype=np.uint8).copy())
    if mode in _SIXTEEN_BIT:
        return Decoded(_grey16_to_rgb(np.asarray(img), mode, path), f"{mode} (16-bit greyscale)")
    if mode in _PIL_CONVERTIBLE:
        if mode == "P" and "transparency" in img.info:
            img = img.convert("RGBA")
        return Decoded(
            np.asarray(img.convert("RGB"), dtype=np.uint8).copy(), _PIL_CONVERTIBLE[mode]
        )
    raise UserError(
        f"{path}: unsupported image mode {mode!r}; allowed: RGB, "
        f"{', '.join(sorted(_PIL_CONVERTIBLE))} and 16-bit greyscale"
    )


def _has_16bit_samples(img) -> bool:
    """Whether the file stores 16-bit samples that PIL will reduce while decoding."""
    return any(";16" in str(getattr(tile, "args", "")) for tile in (img.tile or []))


def _grey16_to_rgb(values: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """Rescale 16-bit greyscale to 8 bits by rounding v*255/65535 (PIL would clip at 255)."""
    values = values.astype(np.int64)
    if values.min() < 0 or values.max() > 65535:
        raise UserError(f"{path}: mode {mode!r} with values outside 0..65535 is not a 16-bit image")
    grey = ((values * 255 + 32767) // 65535).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _join(first: str, second: str) -> str:
    return f"{first}, {second}" if first else second
