"""Severity parameter tables for the ImageNet-C corruptions, one table per resolution set.

Sources (hendrycks/robustness, ``ImageNet-C/create_c/``):
- ``imagenet``: ``make_imagenet_c.py`` (224-px ImageNet-C, the published files).
- ``tiny``: ``make_tinyimagenet_c.py`` (64-px Tiny-ImageNet-C).
The values are copied as facts, keyed by corruption name; each entry lists severity 1..5.
Tuple fields are named in the comment above each entry (the reference used bare tuples).

Other image sizes (``params="auto"``): the set whose reference size is nearest to the image's
shorter side on a log scale (threshold sqrt(64 * 224) ~ 119.7 px), used as is. Operators that
depend on the image size already adapt (glass-blur sweep, fog map size, frost crop, zoom crop),
so only pixel-length parameters (blur sigmas, motion radius) stay at the chosen set's values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shiftlab.errors import UserError


@dataclass(frozen=True)
class ParamSet:
    """One resolution set: severity tables plus the few constants outside the tables."""

    name: str
    reference_size: int
    table: dict[str, tuple[Any, ...]]
    frost_texture_scale: float  # the tiny script shrinks the frost photos by 0.3 first


# zoom_blur factors are stored as np.arange(start, stop, step) arguments so the float
# accumulation (and hence the number of layers) is exactly the reference's.
IMAGENET = ParamSet(
    name="imagenet",
    reference_size=224,
    frost_texture_scale=1.0,
    table={
        "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),  # sigma on [0, 1]
        "shot_noise": (60, 25, 12, 5, 3),  # poisson(x * c) / c
        "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),  # salt & pepper amount
        "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),  # x + x * N(0, sigma)
        "gaussian_blur": (1, 2, 3, 4, 6),  # sigma (px)
        # (sigma, max_delta, iterations)
        "glass_blur": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
        # (radius, alias_blur)
        "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
        # (radius, sigma) of ImageMagick -motion-blur
        "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
        "zoom_blur": (
            (1, 1.11, 0.01),
            (1, 1.16, 0.01),
            (1, 1.21, 0.02),
            (1, 1.26, 0.02),
            (1, 1.31, 0.03),
        ),
        # (loc, scale, zoom, threshold, blur radius, blur sigma, blend)
        "snow": (
            (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
            (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
            (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
            (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
            (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
        ),
        # (image weight, frost weight)
        "frost": ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
        # (fog strength, wibble decay)
        "fog": ((1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)),
        "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),  # added to V in HSV
        "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
        # (alpha, sigma, affine jitter); 244 is the reference's own typo for 224, kept as published
        "elastic_transform": (
            (244 * 2, 244 * 0.7, 244 * 0.1),
            (244 * 2, 244 * 0.08, 244 * 0.2),
            (244 * 0.05, 244 * 0.01, 244 * 0.02),
            (244 * 0.07, 244 * 0.01, 244 * 0.02),
            (244 * 0.12, 244 * 0.01, 244 * 0.02),
        ),
        "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),  # BOX down-scale factor, then BOX back up
        "jpeg_compression": (25, 18, 15, 10, 7),  # PIL quality
        # (loc, scale, sigma, threshold, intensity, mud?)
        "spatter": (
            (0.65, 0.3, 4, 0.69, 0.6, 0),
            (0.65, 0.3, 3, 0.68, 0.6, 0),
            (0.65, 0.3, 2, 0.68, 0.5, 0),
            (0.65, 0.3, 1, 0.65, 1.5, 1),
            (0.67, 0.4, 1, 0.65, 1.5, 1),
        ),
        # (scale, shift) of S in HSV
        "saturate": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
    },
)

TINY = ParamSet(
    name="tiny",
    reference_size=64,
    frost_texture_scale=0.3,
    table={
        "gaussian_noise": (0.04, 0.08, 0.12, 0.15, 0.18),
        "shot_noise": (250, 100, 50, 30, 15),
        "impulse_noise": (0.01, 0.02, 0.05, 0.08, 0.14),
        "speckle_noise": (0.15, 0.2, 0.25, 0.3, 0.35),
        "gaussian_blur": (0.5, 0.75, 1, 1.25, 1.5),
        "glass_blur": ((0.1, 1, 1), (0.5, 1, 1), (0.6, 1, 2), (0.7, 2, 1), (0.9, 2, 2)),
        "defocus_blur": ((0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)),
        "motion_blur": ((10, 1), (10, 1.5), (10, 2), (10, 2.5), (12, 3)),
        "zoom_blur": (
            (1, 1.06, 0.01),
            (1, 1.11, 0.01),
            (1, 1.16, 0.01),
            (1, 1.21, 0.01),
            (1, 1.26, 0.01),
        ),
        "snow": (
            (0.1, 0.2, 1, 0.6, 8, 3, 0.8),
            (0.1, 0.2, 1, 0.5, 10, 4, 0.8),
            (0.15, 0.3, 1.75, 0.55, 10, 4, 0.7),
            (0.25, 0.3, 2.25, 0.6, 12, 6, 0.65),
            (0.3, 0.3, 1.25, 0.65, 14, 12, 0.6),
        ),
        "frost": ((1, 0.3), (0.9, 0.4), (0.8, 0.45), (0.75, 0.5), (0.7, 0.55)),
        "fog": ((0.4, 3), (0.7, 3), (1, 2.5), (1.5, 2), (2, 1.75)),
        "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
        "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
        "elastic_transform": (
            (64 * 0, 64 * 0, 64 * 0.08),
            (64 * 0.05, 64 * 0.3, 64 * 0.06),
            (64 * 0.1, 64 * 0.08, 64 * 0.06),
            (64 * 0.1, 64 * 0.03, 64 * 0.03),
            (64 * 0.16, 64 * 0.03, 64 * 0.02),
        ),
        "pixelate": (0.9, 0.8, 0.7, 0.6, 0.5),
        "jpeg_compression": (65, 58, 50, 40, 25),
        "spatter": (
            (0.62, 0.1, 0.7, 0.7, 0.6, 0),
            (0.65, 0.1, 0.8, 0.7, 0.6, 0),
            (0.65, 0.3, 1, 0.69, 0.6, 0),
            (0.65, 0.1, 0.7, 0.68, 0.6, 1),
            (0.65, 0.1, 0.5, 0.67, 0.6, 1),
        ),
        "saturate": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (30, 0.2)),
    },
)

PARAM_SETS: dict[str, ParamSet] = {s.name: s for s in (IMAGENET, TINY)}
PARAM_CHOICES = (*PARAM_SETS, "auto")
_AUTO_THRESHOLD = math.sqrt(IMAGENET.reference_size * TINY.reference_size)


def resolve_param_set(params: str, height: int, width: int) -> ParamSet:
    """The parameter set for ``params`` ("imagenet" | "tiny" | "auto") and an image size."""
    if params == "auto":
        return TINY if min(height, width) < _AUTO_THRESHOLD else IMAGENET
    try:
        return PARAM_SETS[params]
    except KeyError:
        raise UserError(
            f"unknown corruption parameter set {params!r}; allowed: {', '.join(PARAM_CHOICES)}"
        ) from None


def severity_params(param_set: ParamSet, name: str, severity: int) -> Any:
    """The published parameter entry for ``name`` at ``severity`` (1..5)."""
    return param_set.table[name][severity - 1]
