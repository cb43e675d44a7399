"""Fine-tuning recipes: a registry of named defaults that a config entry overrides.

A config entry is `{"base": "<registered name>", <setting>: <value>, ...}`. Every key must be
a setting the recipe knows, with a value of the default's type; anything else is an error
that names the key and the allowed ones (a typo must never silently train the wrong thing).
"""

from __future__ import annotations

import copy
import fnmatch
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shiftlab import config as study_config
from shiftlab.errors import UserError

# Every setting, its type, range and default is declared once, in the config schema
# ($defs.recipe); a recipe factory names only the values it changes.
_PYTHON_TYPES = {"integer": "int", "number": "float", "boolean": "bool", "string": "str",
                 "array": "list"}  # fmt: skip


def _schema_settings() -> dict[str, dict[str, Any]]:
    props = study_config.setting("recipe")["properties"]
    return {key: sub for key, sub in props.items() if key != "base"}


def _own_settings(recipe: str) -> dict[str, Any]:
    """The defaults of the settings every recipe has, plus those only `recipe` takes."""
    return {
        key: copy.deepcopy(sub["default"])
        for key, sub in _schema_settings().items()
        if recipe in sub.get("x-recipes", [recipe])
    }


COMMON: dict[str, Any] = {k: v["default"] for k, v in _schema_settings().items()
                          if "x-recipes" not in v}  # fmt: skip


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


def _check(name: str, key: str, value: Any) -> Any:
    """One setting against its schema: the allowed values, the type, then the range."""
    sub = _schema_settings()[key]
    if "enum" in sub and value not in sub["enum"]:
        raise UserError(f"recipe {name}: {key}={value!r}; allowed: {', '.join(sub['enum'])}")
    types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
    if value is None and "null" in types:
        return value
    kind = next(t for t in types if t != "null")
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
    }[kind]
    if not ok:
        raise UserError(f"recipe {name}: {key} must be {_PYTHON_TYPES[kind]}, got {value!r}")
    from jsonschema import Draft202012Validator

    for error in Draft202012Validator(sub).iter_errors(value):
        raise UserError(f"recipe {name}: {key}={value!r}: {error.message}")
    return float(value) if kind == "number" else value


def allowed_settings(base: str) -> list[str]:
    """The settings a registered recipe takes (what a config entry may override)."""
    return sorted(_REGISTRY[base]().settings)


def setting_problems(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, why) for combinations a training job would refuse, found before it starts."""
    problems = []
    if settings["batch_size"] % settings["grad_accum"]:
        problems.append(("batch_size", f"{settings['batch_size']} is not a multiple of "
                         f"grad_accum {settings['grad_accum']}"))  # fmt: skip
    if settings["nesterov"] and settings["optimizer"] == "sgd" and settings["momentum"] <= 0:
        problems.append(("nesterov", "Nesterov momentum needs momentum > 0"))
    if "corruptions" in settings and settings["corruptions"] not in (
        ["all"],
        ["test"],
        ["validation"],
    ):
        from shiftlab.config_checks import unknown_corruptions

        bad = unknown_corruptions(settings["corruptions"])
        if bad:
            problems.append(("corruptions", f"{bad}, or one of: all, test, validation"))
    return problems


def create_recipe(entry: dict[str, Any] | str, check_combinations: bool = True) -> Recipe:
    """Resolve a config entry (or a bare registered name) into a Recipe with all settings."""
    entry = {"base": entry} if isinstance(entry, str) else dict(entry)
    base = entry.pop("base", study_config.default("recipe.base"))
    if base not in _REGISTRY:
        raise UserError(f"unknown recipe {base!r}; registered: {', '.join(list_recipes())}")
    recipe = _REGISTRY[base]()
    settings = dict(recipe.settings)
    for key, value in entry.items():
        if key not in settings:
            raise UserError(
                f"recipe {base}: unknown setting {key!r}; allowed: {', '.join(sorted(settings))}"
            )
        settings[key] = _check(base, key, value)
    for key, why in setting_problems(settings) if check_combinations else []:
        raise UserError(f"recipe {base}: {key}: {why}")
    return Recipe(recipe.name, recipe.views, recipe.loss, recipe.transform, settings)


def _recipe(
    name: str, views: str = "plain", loss: str = "ce", transform: str = "none", **overrides: Any
) -> Recipe:
    settings = _own_settings(name)
    unknown = sorted(set(overrides) - set(settings))
    if unknown:  # a programming error: declare the setting in the config schema first
        raise KeyError(f"recipe {name}: settings {unknown} are not in the config schema")
    return Recipe(name, views, loss, transform, {**settings, **overrides})


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
    return _recipe("corruption_aug", transform="corruption")


@register_recipe
def augmix() -> Recipe:
    """AugMix (Hendrycks et al. 2020): two augmented views + Jensen-Shannon consistency."""
    return _recipe("augmix", views="augmix", loss="jsd", transform="augmix")


@register_recipe
def patch_gaussian() -> Recipe:
    """Patch Gaussian (Lopes et al. 2019): Gaussian noise inside one random square patch."""
    return _recipe("patch_gaussian", transform="patch_gaussian")


@register_recipe
def stability() -> Recipe:
    """Stability training (Zheng et al. 2016): CE + KL(clean || noised) predictions."""
    return _recipe("stability", views="stability", loss="stability")
