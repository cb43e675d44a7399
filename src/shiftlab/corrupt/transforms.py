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

The transforms themselves live in ``transform_ops`` (registered when first needed), and
the geometry they share with the ImageNet-P sequences in ``image_geometry``.
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from shiftlab.corrupt.image_geometry import Image
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

TransformFn = Callable[..., Image]


@dataclass(frozen=True)
class Transform:
    """A registered transform and how to call it."""

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


def _ensure_loaded() -> None:
    import shiftlab.corrupt.transform_ops  # noqa: F401  (registers the built-in transforms)


def list_transforms(filter: str = "*", probes: bool | None = None) -> list[str]:
    """Registered names matching a shell wildcard, in registration order; ``probes`` filters."""
    _ensure_loaded()
    return [
        n
        for n, t in _REGISTRY.items()
        if fnmatch.fnmatchcase(n, filter) and (probes is None or t.probe == probes)
    ]


def _get(name: str) -> Transform:
    _ensure_loaded()
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
    _ensure_loaded()
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
    _ensure_loaded()
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
    """The overrides for one transform (a list of names carries none)."""
    if isinstance(config, Mapping):
        return dict(config.get(name) or {})
    return {}
