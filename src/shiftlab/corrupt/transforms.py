"""Sensitivity transforms and shift probes: single, named changes to an image.

Two families, one registry (timm-shaped: ``@register_transform``, ``list_transforms``,
``create_transform``):

* **Sensitivity transforms** (one output per image): rotation, brightness, histogram
  equalization, horizontal/vertical flip, translate, zoom, perspective and the
  combination histeq + zoom + brightness.
* **Shift probes** (one output per step k = 0..K, named ``<probe>_<k>``), after Azulay &
  Weiss (2019, "Why do deep convolutional networks generalize so poorly to small image
  transformations?"): crop-shift, embedding in a black canvas, embedding in an inpainted
  canvas, and scale-embedding that grows the embedded image one pixel per step. Step 0 is
  the probe's own reference image, so "did the prediction change between consecutive
  steps" is answerable from the outputs alone.

Parameters come from the study config (``corruptions.transforms``): a mapping from name to
overrides of ``DEFAULTS`` below (or a list of names to use them as they are). Only the
perspective transform is random; it draws from the image's seeded stream.

Geometry helpers shared with the ImageNet-P sequences (``affine``, ``resize_short_side``,
``center_crop``) live here too: they are the same image transforms.
"""

from __future__ import annotations

import fnmatch
import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from shiftlab.errors import UserError

# ---- defaults (documented in one place; every key is overridable per transform) ------
DEFAULTS: dict[str, dict[str, Any]] = {
    # counter-clockwise degrees about the image centre, bilinear, black corners
    "rotation": {"degrees": 15.0},
    # multiply RGB by `factor` (PIL ImageEnhance.Brightness semantics), clip to 0..255
    "brightness": {"factor": 1.5},
    # per-channel global histogram equalization (OpenCV equalizeHist on each channel)
    "histeq": {},
    "hflip": {},
    "vflip": {},
    # shift right/down by a fraction of width/height (rounded to whole pixels), black fill
    "translate": {"dx": 0.1, "dy": 0.1},
    # crop the central 1/factor of each side and resize back (bilinear)
    "zoom": {"factor": 1.2},
    # move each corner inwards by up to `distortion` x half the side, uniformly at random
    "perspective": {"distortion": 0.2},
    # histeq, then zoom, then brightness, each with the parameters given here
    "histeq_zoom_brightness": {"zoom": 1.2, "brightness": 1.5},
    # shift probes: steps 0..max_shift; `axis` x (columns) or y (rows)
    # crop of (H - max_shift) x (W - max_shift) whose origin moves by k px along the axis
    "crop_shift": {"max_shift": 8, "axis": "x"},
    # image resized to `fraction` of each side, pasted into a black canvas of the original
    # size, centred at k = max_shift / 2 and moved k px along the axis
    "embed_black": {"max_shift": 8, "fraction": 0.75, "axis": "x"},
    # as embed_black, background filled by inpainting: telea | ns (OpenCV) | edge (replicate)
    "embed_inpaint": {"max_shift": 8, "fraction": 0.75, "axis": "x", "method": "telea"},
    # image resized to round(fraction * side) + k px, centred in a black canvas
    "scale_embed": {"max_shift": 8, "fraction": 0.75},
}
COMBINATIONS = ("histeq_zoom_brightness",)

Image = np.ndarray  # uint8 (H, W, 3)
TransformFn = Callable[..., Image]


@dataclass(frozen=True)
class Transform:
    name: str
    fn: TransformFn  # fn(image, rng, **params) or, for probes, fn(image, step, rng, **params)
    probe: bool
    random: bool


_REGISTRY: dict[str, Transform] = {}


def register_transform(name: str, *, probe: bool = False, random: bool = False):
    """Decorator registering a transform (a duplicate name replaces the old one, with a warning)."""

    def wrap(fn: TransformFn) -> TransformFn:
        if name in _REGISTRY:
            warnings.warn(
                f"transform {name!r} registered twice; keeping the later one", stacklevel=2
            )
        _REGISTRY[name] = Transform(name, fn, probe, random)
        return fn

    return wrap


def list_transforms(filter: str = "*", probes: bool | None = None) -> list[str]:
    """Registered names matching a shell wildcard, in registration order; ``probes`` filters."""
    return [
        n
        for n, t in _REGISTRY.items()
        if fnmatch.fnmatchcase(n, filter) and (probes is None or t.probe == probes)
    ]


def _get(name: str) -> Transform:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown transform {name!r}; valid names: {', '.join(_REGISTRY)}"
        ) from None


def resolve_config(config: Mapping[str, Any] | Iterable[str] | None) -> dict[str, dict[str, Any]]:
    """Normalize the config's ``transforms`` entry to {name: full params}, validating keys.

    ``None`` or ``{}`` selects every transform with its defaults; a list selects names.
    """
    if not config:
        chosen: dict[str, Any] = {name: {} for name in _REGISTRY}
    elif isinstance(config, Mapping):
        chosen = dict(config)
    else:
        chosen = {name: {} for name in config}
    resolved = {}
    for name, overrides in chosen.items():
        _get(name)
        overrides = overrides or {}
        if not isinstance(overrides, Mapping):
            raise UserError(
                f"transforms.{name}: expected a mapping of parameters, got {overrides!r}"
            )
        unknown = sorted(set(overrides) - set(DEFAULTS[name]))
        if unknown:
            allowed = ", ".join(DEFAULTS[name]) or "(none)"
            raise UserError(
                f"transforms.{name}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}"
            )
        resolved[name] = {**DEFAULTS[name], **overrides}
    return resolved


def transform_variants(config: Mapping[str, Any] | Iterable[str] | None = None) -> list[str]:
    """Output variant names: a transform's own name, or ``<probe>_<k>`` for each probe step."""
    variants = []
    for name, params in resolve_config(config).items():
        if _get(name).probe:
            steps = int(params["max_shift"])
            if steps < 1:
                raise UserError(f"transforms.{name}.max_shift must be >= 1, got {steps}")
            variants += [f"{name}_{k}" for k in range(steps + 1)]
        else:
            variants.append(name)
    return variants


_PROBE_VARIANT = re.compile(r"^(?P<name>.+)_(?P<step>\d+)$")


def parse_variant(variant: str) -> tuple[str, int | None]:
    """``"crop_shift_3"`` -> ("crop_shift", 3); ``"hflip"`` -> ("hflip", None)."""
    if variant in _REGISTRY and not _REGISTRY[variant].probe:
        return variant, None
    match = _PROBE_VARIANT.match(variant)
    if match and match["name"] in _REGISTRY and _REGISTRY[match["name"]].probe:
        return match["name"], int(match["step"])
    raise UserError(
        f"unknown transform variant {variant!r}; use a transform name "
        f"({', '.join(list_transforms(probes=False))}) or <probe>_<step> with probe one of "
        f"{', '.join(list_transforms(probes=True))}"
    )


def apply_transform(
    image: Image, variant: str, seed: int, config: Mapping[str, Any] | Iterable[str] | None = None
) -> Image:
    """Apply one variant (e.g. ``"rotation"`` or ``"crop_shift_2"``) to a uint8 RGB image."""
    from shiftlab.corrupt.seeding import make_rng

    name, step = parse_variant(variant)
    params = resolve_config({name: _select(config, name)})[name]
    transform = _REGISTRY[name]
    rng = make_rng(seed)
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if transform.probe:
        limit = int(params["max_shift"])
        if step is None or not 0 <= step <= limit:
            raise UserError(
                f"{variant}: step must be within 0..{limit} (transforms.{name}.max_shift)"
            )
        return transform.fn(image, step, rng, **params)
    return transform.fn(image, rng, **params)


def create_transform(name: str, **params: Any) -> Callable[[Image, int], Image]:
    """A callable ``f(image, seed)`` for a non-probe transform with parameter overrides."""
    if _get(name).probe:
        raise UserError(f"{name!r} is a shift probe; use apply_transform(image, '{name}_<k>', ...)")
    config = {name: params}
    return lambda image, seed: apply_transform(image, name, seed, config)


def _select(config: Mapping[str, Any] | Iterable[str] | None, name: str) -> dict[str, Any]:
    if isinstance(config, Mapping):
        return dict(config.get(name) or {})
    return {}


# ---- geometry shared with the ImageNet-P sequences --------------------------------------


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


def _resize(image: Image, height: int, width: int) -> Image:
    from PIL import Image as PILImage

    return np.asarray(
        PILImage.fromarray(image).resize((width, height), PILImage.Resampling.BILINEAR)
    )


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
    return _resize(np.ascontiguousarray(crop), height, width)


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
    inner_h, inner_w, top, left = _embed_geometry(
        image.shape, fraction, max_shift, axis, step, name
    )
    canvas = np.zeros_like(image)
    canvas[top : top + inner_h, left : left + inner_w] = _resize(image, inner_h, inner_w)
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
    canvas[top : top + inner_h, left : left + inner_w] = _resize(image, inner_h, inner_w)
    return canvas
