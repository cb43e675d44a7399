"""Study configuration: load, validate against the JSON schema, fill defaults, cross-check.

Validation runs before any job starts (from the Snakefile and `shiftlab check-config`), so a
bad config costs one clear message and writes nothing. Messages name the key path, the bad
value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from shiftlab.errors import UserError


@cache
def schema() -> dict[str, Any]:
    """The config schema (workflow/schemas/config.schema.yaml; a packaged copy when installed)."""
    path = (
        Path(__file__).parent / "resources" / "config.schema.yaml"
    )  # symlink to the workflow copy
    return yaml.safe_load(path.read_text())


def load(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file safely; a missing or malformed file is a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(
            f"config file {path} must contain a mapping of keys, got {type(data).__name__}"
        )
    return data


def _key_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _describe(error: Any, sch: dict[str, Any]) -> str:
    """Turn a jsonschema error into one actionable line."""
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"{where}: unknown key {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; allowed values: {', '.join(map(str, error.validator_value))}"
    if error.validator == "pattern":
        return (
            f"{where}: {error.instance!r} is not a safe name (letters, digits, and _ . + - only, "
            "starting with a letter or digit; it becomes a path and a shell argument)"
        )
    if error.validator == "propertyNames":
        return f"{where}: {error.message}; names may use letters, digits, and _ . + - only"
    if error.validator == "type":
        return f"{where}: {error.instance!r} has the wrong type; expected {error.validator_value}"
    if error.validator in ("oneOf", "anyOf"):
        return f"{where}: {error.instance!r} is not valid here ({error.schema.get('description', error.message)})"
    return f"{where}: {error.message}"


def _fill_defaults(instance: Any, sch: dict[str, Any], root: dict[str, Any]) -> Any:
    """Fill `default`s from the schema, recursively (the config stays self-describing)."""
    if "$ref" in sch:
        sch = _resolve(sch["$ref"], root)
    if not isinstance(instance, dict) or sch.get("type") not in ("object", None):
        return instance
    for key, sub in sch.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            instance[key] = _fill_defaults(instance[key], sub, root)
    extra = sch.get("additionalProperties")
    if isinstance(extra, dict):
        for key in instance:
            if key not in sch.get("properties", {}):
                instance[key] = _fill_defaults(instance[key], extra, root)
    return instance


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def validate(config: dict[str, Any], check_paths: bool = True) -> dict[str, Any]:
    """Validate against the schema, fill defaults, then check cross-references and paths.

    Returns the completed config; raises UserError listing every problem found.
    """
    from jsonschema import Draft202012Validator

    sch = schema()
    validator = Draft202012Validator(sch)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise UserError("invalid config:\n  " + "\n  ".join(_describe(e, sch) for e in errors))
    config = _fill_defaults(copy.deepcopy(config), sch, sch)
    problems = cross_check(config, check_paths=check_paths)
    if problems:
        raise UserError("invalid config:\n  " + "\n  ".join(problems))
    return config


def cross_check(config: dict[str, Any], check_paths: bool = True) -> list[str]:
    """Problems a schema cannot see: dangling references, missing paths, unwritable folders."""
    problems: list[str] = []
    benches = config["benchmarks"]
    recipes = config["recipes"]
    for bid, entry in benches.items():
        where = f"benchmarks.{bid}"
        src, kind = entry["source"], entry["kind"]
        if src in ("derived", "on_the_fly") or kind == "imagenet_real":
            ref = entry.get("from")
            if not ref:
                problems.append(
                    f"{where}.from: required for source {src!r} / kind {kind!r}; name the clean benchmark"
                )
            elif ref not in benches:
                problems.append(
                    f"{where}.from: {ref!r} is not a benchmark; defined: {', '.join(benches)}"
                )
        if src == "derived" and kind not in (
            "imagenet_c",
            "imagenet_p",
            "transforms",
            "tiny_imagenet_c",
        ):
            problems.append(
                f"{where}.source: 'derived' only applies to imagenet_c, imagenet_p, transforms, tiny_imagenet_c (got kind {kind!r})"
            )
        if src == "on_the_fly" and kind != "imagenet_c":
            problems.append(
                f"{where}.source: 'on_the_fly' only applies to kind imagenet_c (got {kind!r})"
            )
        if src == "local":
            path = entry.get("path")
            if not path:
                problems.append(f"{where}.path: required for source 'local'")
            elif check_paths and kind == "imagenet_real" and not Path(path).is_file():
                problems.append(
                    f"{where}.path: {path!r} is not a file; a local ReaL copy is the labels file "
                    "real.json (its images are those of the `from` benchmark)"
                )
            elif check_paths and kind != "imagenet_real" and not Path(path).is_dir():
                problems.append(f"{where}.path: {path!r} does not exist or is not a folder")
        if kind == "imagenet_v2" and entry.get("variant") not in (
            "matched-frequency",
            "threshold0.7",
            "top-images",
        ):
            problems.append(
                f"{where}.variant: {entry.get('variant')!r} is not allowed; allowed values: matched-frequency, threshold0.7, top-images"
            )
    for run, entry in config["runs"].items():
        where = f"runs.{run}"
        recipe = entry.get("recipe")
        if recipe is not None and recipe not in recipes:
            problems.append(
                f"{where}.recipe: {recipe!r} is not defined under recipes; defined: {', '.join(recipes) or '(none)'}"
            )
        if recipe is not None and entry["train_data"] not in benches:
            problems.append(
                f"{where}.train_data: {entry['train_data']!r} is not a benchmark; defined: {', '.join(benches)}"
            )
        weights = entry.get("weights")
        if check_paths and weights not in (None, "imagenet") and not Path(weights).is_file():
            problems.append(
                f"{where}.weights: file {weights!r} does not exist (use null, 'imagenet' or a path)"
            )
    baseline = config["stats"].get("baseline_run")
    if baseline is not None and baseline not in config["runs"]:
        problems.append(
            f"stats.baseline_run: {baseline!r} is not a run; defined: {', '.join(config['runs'])}"
        )
    clean = config["stats"]["clean_benchmark"]
    if benches and clean not in benches:
        problems.append(
            f"stats.clean_benchmark: {clean!r} is not a benchmark; defined: {', '.join(benches)}"
        )
    spec = config["label_space"]
    if spec not in ("imagenet1k", "mininet") and not Path(spec).is_file():
        problems.append(
            f"label_space: {spec!r} is not allowed; use imagenet1k, mininet or a path to a wnid-per-line file"
        )
    if check_paths:
        for key in ("results_dir", "data_dir"):
            problem = _unwritable(config[key])
            if problem:
                problems.append(f"{key}: {problem}")
    return problems


def _unwritable(folder: str) -> str | None:
    """Why `folder` cannot be written (checked without creating it), or None."""
    path = Path(folder).resolve()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return f"{folder!r} is under {str(probe)!r}, which is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{str(probe)!r} is not writable (needed for {folder!r})"
    return None


def baseline_run(config: dict[str, Any]) -> str:
    """The run that normalises CE/FR/T5D when published AlexNet constants do not apply."""
    return config["stats"].get("baseline_run") or next(iter(config["runs"]))


def slice_sha256(obj: Any) -> str:
    """Stable hash of a config slice (canonical JSON), recorded beside every number."""
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
