"""Image geometry shared by the sensitivity transforms and the ImageNet-P sequences.

The same resize, crop, affine warp and shift serve both, so a transform and a sequence
frame that ask for the same change give the same pixels.
"""

from __future__ import annotations

import math

import numpy as np

Image = np.ndarray  # uint8 (H, W, 3)


def affine(
    image: Image,
    angle: float = 0.0,
    translate: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    shear: float | tuple[float, float] = 0.0,
    bilinear: bool = True,
) -> Image:
    """torchvision ``F.affine`` on a PIL image (the ImageNet-P generator's primitive), without
    importing torchvision: angle is clockwise in degrees, centre at (W/2, H/2), black fill.

    PIL's AFFINE transform maps output to input pixels, so we build the inverse of
    centre . translate . rotate . scale . shear (x-shear then y-shear).
    """
    from PIL import Image as PILImage

    height, width = image.shape[:2]
    cx, cy = width * 0.5, height * 0.5
    tx, ty = translate
    sx_deg, sy_deg = (shear, 0.0) if np.isscalar(shear) else shear
    rot, sx, sy = math.radians(angle), math.radians(sx_deg), math.radians(sy_deg)
    # inverse of R(rot) S(scale) SHy(sy) SHx(sx)
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] = m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] = m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    resample = PILImage.Resampling.BILINEAR if bilinear else PILImage.Resampling.NEAREST
    out = PILImage.fromarray(image).transform(
        (width, height), PILImage.Transform.AFFINE, m, resample, fillcolor=(0, 0, 0)
    )
    return np.asarray(out)


def resize_short_side(image: Image, size: int) -> Image:
    """torchvision ``Resize(size)`` on a PIL image: short side -> size, bilinear (antialiased)."""
    from PIL import Image as PILImage

    height, width = image.shape[:2]
    if min(height, width) == size:
        return image
    if width <= height:
        new_w, new_h = size, int(size * height / width)
    else:
        new_w, new_h = int(size * width / height), size
    return np.asarray(
        PILImage.fromarray(image).resize((new_w, new_h), PILImage.Resampling.BILINEAR)
    )


def center_crop(image: Image, height: int, width: int | None = None) -> Image:
    """torchvision ``CenterCrop`` offsets (rounded half the margin); the crop must fit."""
    width = height if width is None else width
    full_h, full_w = image.shape[:2]
    if height > full_h or width > full_w:
        raise ValueError(f"cannot crop {width}x{height} from a {full_w}x{full_h} image")
    top = int(round((full_h - height) / 2.0))
    left = int(round((full_w - width) / 2.0))
    return image[top : top + height, left : left + width]


def resize(image: Image, height: int, width: int) -> Image:
    """Bilinear resize to exactly ``height`` x ``width`` (PIL, as torchvision on PIL images)."""
    from PIL import Image as PILImage

    return np.asarray(
        PILImage.fromarray(image).resize((width, height), PILImage.Resampling.BILINEAR)
    )


def shift_image(image: Image, dy: int, dx: int) -> Image:
    """Move content down by dy and right by dx whole pixels; uncovered pixels are black."""
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    ys, yd = (
        (slice(0, height - dy), slice(dy, height))
        if dy >= 0
        else (slice(-dy, height), slice(0, height + dy))
    )
    xs, xd = (
        (slice(0, width - dx), slice(dx, width))
        if dx >= 0
        else (slice(-dx, width), slice(0, width + dx))
    )
    out[yd, xd] = image[ys, xs]
    return out
