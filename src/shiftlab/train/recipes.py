"""Fine-tuning recipes: a registry of named defaults that a config entry overrides.

A config entry is `{"base": "<registered name>", <setting>: <value>, ...}`. Every key must be
a setting the recipe knows, with a value of the default's type; anything else is an error
that names the key and the allowed ones (a typo must never silently train the wrong thing).
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shiftlab.errors import UserError

# Settings every recipe has. Values are the defaults of the seed studies' baseline:
# SGD lr 0.001 momentum 0.9, 10 epochs, hflip + ±15° rotation, upsample to the model input.
COMMON: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 32,  # effective (global) batch: world_size * micro-batch * grad_accum
    "grad_accum": 1,  # micro-batches per optimizer step (fits a big effective batch in memory)
    "optimizer": "sgd",  # sgd | adamw
    "lr": 0.001,
    "momentum": 0.9,
    "nesterov": False,
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "schedule": "constant",  # constant | cosine | step (per optimizer step, after warm-up)
    "warmup_epochs": 0.0,
    "milestones": [],  # epochs at which `step` multiplies the lr by gamma
    "gamma": 0.1,
    "image_size": None,  # None = the model's own input size (upsampling smaller images)
    "augment": "flip_rotate",  # flip_rotate | rrc_flip | resize (geometric base of every view)
    "rotation": 15.0,  # degrees, for flip_rotate
    "bf16": False,  # bf16 autocast where the device supports it
    "channels_last": False,
    "sync_bn": False,  # SyncBatchNorm under multi-GPU DDP (CUDA only)
    "checkpoint_every": 100,  # optimizer steps between resumable-state saves (0 = epoch ends only)
    "num_workers": 0,
    "eval_batch_size": 0,  # 0 = 2 * micro-batch
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": ("sgd", "adamw"),
    "schedule": ("constant", "cosine", "step"),
    "augment": ("flip_rotate", "rrc_flip", "resize"),
}


@dataclass(frozen=True)
class Recipe:
    """A resolved recipe. `views` says what the dataset yields per image; `loss` how the
    engine combines the model's outputs on those views."""

    name: str
    views: str  # plain | augmix | stability
    loss: str  # ce | jsd | stability
    transform: str  # none | corruption | patch_gaussian | augmix (applied per view)
    settings: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]


_REGISTRY: dict[str, Callable[[], Recipe]] = {}


def register_recipe(fn: Callable[[], Recipe]) -> Callable[[], Recipe]:
    """Register a recipe factory under its function name (a duplicate replaces, with a warning)."""
    if fn.__name__ in _REGISTRY:
        warnings.warn(f"recipe {fn.__name__!r} registered twice; the later one wins", stacklevel=2)
    _REGISTRY[fn.__name__] = fn
    return fn


def list_recipes(pattern: str = "*") -> list[str]:
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def _check(name: str, key: str, value: Any, default: Any) -> Any:
    if key in _CHOICES and value not in _CHOICES[key]:
        raise UserError(f"recipe {name}: {key}={value!r}; allowed: {', '.join(_CHOICES[key])}")
    if value is None and default is None:
        return value
    if default is None:  # optional int (image_size)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default)) and not isinstance(value, bool)
    if not ok:
        raise UserError(f"recipe {name}: {key} must be {type(default).__name__}, got {value!r}")
    return value


def create_recipe(entry: dict[str, Any] | str) -> Recipe:
    """Resolve a config entry (or a bare registered name) into a Recipe with all settings."""
    entry = {"base": entry} if isinstance(entry, str) else dict(entry)
    base = entry.pop("base", "baseline")
    if base not in _REGISTRY:
        raise UserError(f"unknown recipe {base!r}; registered: {', '.join(list_recipes())}")
    recipe = _REGISTRY[base]()
    settings = dict(recipe.settings)
    for key, value in entry.items():
        if key not in settings:
            raise UserError(
                f"recipe {base}: unknown setting {key!r}; allowed: {', '.join(sorted(settings))}"
            )
        settings[key] = _check(base, key, value, settings[key])
    if settings["grad_accum"] < 1 or settings["batch_size"] < 1 or settings["epochs"] < 1:
        raise UserError(f"recipe {base}: epochs, batch_size and grad_accum must be >= 1")
    return Recipe(recipe.name, recipe.views, recipe.loss, recipe.transform, settings)


def _recipe(
    name: str, views: str = "plain", loss: str = "ce", transform: str = "none", **overrides: Any
) -> Recipe:
    own = {k: v for k, v in overrides.items() if k not in COMMON}
    return Recipe(name, views, loss, transform, {**COMMON, **overrides, **own})


@register_recipe
def baseline() -> Recipe:
    """The seed studies' fine-tuning recipe."""
    return _recipe("baseline")


@register_recipe
def imagenet() -> Recipe:
    """Standard ImageNet training from scratch: 90 epochs, lr/10 at 30 and 60, RRC + flip."""
    return _recipe(
        "imagenet",
        epochs=90,
        batch_size=256,
        lr=0.1,
        weight_decay=1e-4,
        schedule="step",
        milestones=[30, 60],
        augment="rrc_flip",
    )


@register_recipe
def corruption_aug() -> Recipe:
    """Train on ImageNet-C corruptions: each image gets a random corruption and severity.

    By default only the 4 validation ("extra") corruptions, so that the run's mCE over the 15
    test corruptions stays a held-out number; `corruptions: [test]`, `[all]` or a list of
    names trains on others, and the report then flags the run."""
    return _recipe(
        "corruption_aug",
        transform="corruption",
        corruptions=["validation"],
        severities=[1, 2, 3, 4, 5],
        corruption_prob=1.0,
    )


@register_recipe
def augmix() -> Recipe:
    """AugMix (Hendrycks et al. 2020): two augmented views + Jensen-Shannon consistency."""
    return _recipe(
        "augmix",
        views="augmix",
        loss="jsd",
        transform="augmix",
        mixture_width=3,
        mixture_depth=-1,
        aug_severity=3,
        alpha=1.0,
        jsd_weight=12.0,
    )


@register_recipe
def patch_gaussian() -> Recipe:
    """Patch Gaussian (Lopes et al. 2019): Gaussian noise inside one random square patch."""
    return _recipe("patch_gaussian", transform="patch_gaussian", patch_frac=0.5, sigma_max=1.0)


@register_recipe
def stability() -> Recipe:
    """Stability training (Zheng et al. 2016): CE + KL(clean || noised) predictions."""
    return _recipe(
        "stability", views="stability", loss="stability", noise_std=0.04, stability_weight=0.01
    )
