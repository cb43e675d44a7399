"""Registry of corruption operators, shaped like timm's model registry.

An operator is registered with ``@register_corruption(name, split=..., family=...)`` and
looked up by name; ``names()`` keeps the canonical ImageNet-C order (15 test corruptions,
then the 4 validation ones), which is the order of the published tables and of mCE.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shiftlab.errors import UserError

# Signature of an operator: (uint8 HxWx3 image, severity parameters, param set, rng) ->
# float image in [0, 1] (quantized by the caller) or a final uint8 image.
Operator = Callable[[np.ndarray, Any, Any, np.random.Generator], np.ndarray]

TEST_NAMES: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
VALIDATION_NAMES: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
CANONICAL_NAMES: tuple[str, ...] = TEST_NAMES + VALIDATION_NAMES
SPLITS = ("test", "validation")


@dataclass(frozen=True)
class Corruption:
    name: str
    split: str  # "test" (in mCE) or "validation"
    family: str  # noise | blur | weather | digital (the tar the official files ship in)
    fn: Operator
    stochastic: bool


_REGISTRY: dict[str, Corruption] = {}


def register_corruption(
    name: str, *, family: str, stochastic: bool
) -> Callable[[Operator], Operator]:
    """Decorator registering an operator under ``name`` (a duplicate replaces it, with a warning)."""

    def wrap(fn: Operator) -> Operator:
        if name in _REGISTRY:
            warnings.warn(
                f"corruption {name!r} registered twice; keeping the later one", stacklevel=2
            )
        split = "validation" if name in VALIDATION_NAMES else "test"
        _REGISTRY[name] = Corruption(name, split, family, fn, stochastic)
        return fn

    return wrap


def _ensure_loaded() -> None:
    import shiftlab.corrupt.ops  # noqa: F401  (registers the built-in operators)


def names(split: str | None = None) -> list[str]:
    """Registered corruption names, canonical ImageNet-C order first; ``split`` filters."""
    _ensure_loaded()
    if split is not None and split not in SPLITS:
        raise UserError(f"unknown corruption split {split!r}; allowed: {', '.join(SPLITS)}")
    ordered = [n for n in CANONICAL_NAMES if n in _REGISTRY]
    ordered += sorted(n for n in _REGISTRY if n not in CANONICAL_NAMES)
    return [n for n in ordered if split is None or _REGISTRY[n].split == split]


def list_corruptions(filter: str = "*", split: str | None = None) -> list[str]:
    """Names matching a shell-style wildcard (``"*noise*"``), in canonical order."""
    return [n for n in names(split) if fnmatch.fnmatchcase(n, filter)]


def get_corruption(name: str) -> Corruption:
    """The registry entry for ``name``; an unknown name lists the valid ones."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UserError(f"unknown corruption {name!r}; valid names: {', '.join(names())}") from None


def corruption_split(name: str) -> str:
    """ "test" for the 15 mCE corruptions, "validation" for the 4 held-out ones."""
    return get_corruption(name).split


def corruption_family(name: str) -> str:
    return get_corruption(name).family
