"""The built-in sensitivity transforms and shift probes; importing this module registers them.

Registration order is the order of ``transforms.list_transforms`` and of the output
variants: the sensitivity transforms first, then the probes.
"""

from __future__ import annotations

import numpy as np

from shiftlab.corrupt.image_geometry import affine, center_crop, resize, shift_image
from shiftlab.corrupt.transforms import Image, register_transform
from shiftlab.errors import UserError

# ---- sensitivity transforms --------------------------------------------------------------


@register_transform("rotation")
def rotation(image: Image, rng: np.random.Generator, *, degrees: float) -> Image:
    return affine(image, angle=-float(degrees))


def scale_brightness(image: Image, factor: float) -> Image:
    """Multiply RGB by ``factor`` and round, clipped to 0..255."""
    scaled = np.rint(image.astype(np.float32) * np.float32(factor))
    return np.clip(scaled, 0, 255).astype(np.uint8)


@register_transform("brightness")
def brightness(image: Image, rng: np.random.Generator, *, factor: float) -> Image:
    return scale_brightness(image, factor)


def equalize_channel(channel: np.ndarray) -> np.ndarray:
    """OpenCV ``equalizeHist`` semantics on one uint8 channel: the lowest occupied level
    maps to 0, the others to round(255 * (cdf - h_min) / (N - h_min))."""
    hist = np.bincount(channel.ravel(), minlength=256)
    first = int(np.flatnonzero(hist)[0])
    total = channel.size
    if hist[first] == total:
        return np.full_like(channel, first)
    scale = np.float32(255.0 / (total - hist[first]))
    cumulative = np.cumsum(hist) - hist[first]
    lut = np.clip(np.rint(cumulative.astype(np.float32) * scale), 0, 255).astype(np.uint8)
    lut[: first + 1] = 0
    return lut[channel]


def equalize(image: Image) -> Image:
    """Histogram-equalize each RGB channel on its own."""
    return np.stack([equalize_channel(image[..., c]) for c in range(3)], axis=-1)


@register_transform("histeq")
def histeq(image: Image, rng: np.random.Generator) -> Image:
    return equalize(image)


@register_transform("hflip")
def hflip(image: Image, rng: np.random.Generator) -> Image:
    return np.ascontiguousarray(image[:, ::-1])


@register_transform("vflip")
def vflip(image: Image, rng: np.random.Generator) -> Image:
    return np.ascontiguousarray(image[::-1])


@register_transform("translate")
def translate(image: Image, rng: np.random.Generator, *, dx: float, dy: float) -> Image:
    height, width = image.shape[:2]
    return shift_image(image, int(round(dy * height)), int(round(dx * width)))


def zoom_in(image: Image, factor: float) -> Image:
    """Crop the central 1/factor of each side and resize back to the original size."""
    if factor < 1:
        raise UserError(f"transforms.zoom.factor must be >= 1 (zoom in), got {factor}")
    height, width = image.shape[:2]
    crop = center_crop(image, max(1, round(height / factor)), max(1, round(width / factor)))
    return resize(np.ascontiguousarray(crop), height, width)


@register_transform("zoom")
def zoom(image: Image, rng: np.random.Generator, *, factor: float) -> Image:
    return zoom_in(image, factor)


@register_transform("perspective", random=True)
def perspective(image: Image, rng: np.random.Generator, *, distortion: float) -> Image:
    import cv2

    if not 0 <= distortion < 1:
        raise UserError(f"transforms.perspective.distortion must be in [0, 1), got {distortion}")
    height, width = image.shape[:2]
    half_w, half_h = distortion * width / 2, distortion * height / 2
    src = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    inward = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    moves = rng.uniform(0.0, 1.0, size=(4, 2)).astype(np.float32) * np.float32([half_w, half_h])
    dst = src + inward * moves
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(
        image,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


@register_transform("histeq_zoom_brightness")
def histeq_zoom_brightness(
    image: Image, rng: np.random.Generator, *, zoom: float, brightness: float
) -> Image:
    return scale_brightness(zoom_in(equalize(image), zoom), brightness)


# ---- shift probes --------------------------------------------------------------------------


def _axis_offsets(axis: str, step: int) -> tuple[int, int]:
    """(dy, dx) of step k along the probe's axis; an unknown axis is a config error."""
    if axis == "x":
        return 0, step
    if axis == "y":
        return step, 0
    raise UserError(f"shift probe axis must be 'x' or 'y', got {axis!r}")


@register_transform("crop_shift", probe=True)
def crop_shift(
    image: Image, step: int, rng: np.random.Generator, *, max_shift: int, axis: str
) -> Image:
    height, width = image.shape[:2]
    if max_shift >= min(height, width):
        raise UserError(
            f"transforms.crop_shift.max_shift={max_shift} leaves no image at {width}x{height}"
        )
    dy, dx = _axis_offsets(axis, step)
    y0 = dy if axis == "y" else max_shift // 2
    x0 = dx if axis == "x" else max_shift // 2
    return np.ascontiguousarray(image[y0 : y0 + height - max_shift, x0 : x0 + width - max_shift])


def _embed_geometry(
    shape: tuple[int, ...], fraction: float, max_shift: int, axis: str, step: int, name: str
):
    """(inner_h, inner_w, top, left) of the embedded image at one step, checked to fit."""
    height, width = shape[:2]
    inner_h, inner_w = max(1, round(fraction * height)), max(1, round(fraction * width))
    room_h, room_w = height - inner_h, width - inner_w
    if min(room_h, room_w) < 0 or (room_w if axis == "x" else room_h) < max_shift:
        raise UserError(
            f"transforms.{name}: fraction={fraction} leaves no room for max_shift={max_shift} "
            f"in a {width}x{height} image (lower fraction or max_shift)"
        )
    dy, dx = _axis_offsets(axis, step)
    top = (room_h - (max_shift if axis == "y" else 0)) // 2 + dy
    left = (room_w - (max_shift if axis == "x" else 0)) // 2 + dx
    return inner_h, inner_w, top, left


def _embed(image: Image, step: int, fraction: float, max_shift: int, axis: str, name: str):
    """The image embedded in a black canvas, the background mask and the inner box."""
    inner_h, inner_w, top, left = _embed_geometry(
        image.shape, fraction, max_shift, axis, step, name
    )
    canvas = np.zeros_like(image)
    canvas[top : top + inner_h, left : left + inner_w] = resize(image, inner_h, inner_w)
    mask = np.ones(image.shape[:2], dtype=np.uint8)
    mask[top : top + inner_h, left : left + inner_w] = 0
    return canvas, mask, (top, left, inner_h, inner_w)


@register_transform("embed_black", probe=True)
def embed_black(
    image: Image, step: int, rng: np.random.Generator, *, max_shift: int, fraction: float, axis: str
) -> Image:
    return _embed(image, step, fraction, max_shift, axis, "embed_black")[0]


@register_transform("embed_inpaint", probe=True)
def embed_inpaint(
    image: Image,
    step: int,
    rng: np.random.Generator,
    *,
    max_shift: int,
    fraction: float,
    axis: str,
    method: str,
) -> Image:
    import cv2

    canvas, mask, (top, left, inner_h, inner_w) = _embed(
        image, step, fraction, max_shift, axis, "embed_inpaint"
    )
    if method == "edge":
        inner = canvas[top : top + inner_h, left : left + inner_w]
        height, width = image.shape[:2]
        pads = ((top, height - top - inner_h), (left, width - left - inner_w), (0, 0))
        return np.pad(inner, pads, mode="edge")
    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if method not in flags:
        raise UserError(
            f"transforms.embed_inpaint.method must be one of telea, ns, edge; got {method!r}"
        )
    return cv2.inpaint(canvas, mask, 3, flags[method])


@register_transform("scale_embed", probe=True)
def scale_embed(
    image: Image, step: int, rng: np.random.Generator, *, max_shift: int, fraction: float
) -> Image:
    height, width = image.shape[:2]
    inner_h, inner_w = round(fraction * height) + step, round(fraction * width) + step
    if inner_h > height or inner_w > width:
        raise UserError(
            f"transforms.scale_embed: fraction={fraction} + {max_shift} px exceeds the "
            f"{width}x{height} image (lower fraction or max_shift)"
        )
    canvas = np.zeros_like(image)
    top, left = (height - inner_h) // 2, (width - inner_w) // 2
    canvas[top : top + inner_h, left : left + inner_w] = resize(image, inner_h, inner_w)
    return canvas
