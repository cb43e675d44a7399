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


def did_you_mean(name: Any, allowed: Any) -> str:
    """` (did you mean 'fog'?)` when a close allowed name exists, else ''."""
    close = difflib.get_close_matches(str(name), [str(a) for a in allowed], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_names(names: Any, allowed: Any, what: str = "") -> str | None:
    """`unknown 'fogg' (did you mean 'fog'?); allowed: ...` for the names not allowed, else None."""
    allowed = [str(a) for a in allowed]
    bad = [n for n in names if n not in allowed]
    if not bad:
        return None
    hints = ", ".join(f"{name!r}{did_you_mean(name, allowed)}" for name in bad)
    return f"unknown {what + ' ' if what else ''}{hints}; allowed: {', '.join(allowed)}"


def _describe(error: Any, sch: dict[str, Any]) -> str:
    """Turn a jsonschema error into one actionable line."""
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hints = ", ".join(f"{key!r}{did_you_mean(key, allowed)}" for key in extra)
        return f"{where}: unknown key {hints}; allowed keys: {', '.join(allowed)}"
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


def _default_filler() -> Any:
    """A jsonschema validator that writes each property's `default` into the instance.

    Objects whose schema says `x-defaults-from` (recipes) are skipped: a key left out there
    takes the value of the entry it names, not the schema's default.
    """
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def fill(validator: Any, properties: dict, instance: Any, sch: dict) -> Any:
        if isinstance(instance, dict) and "x-defaults-from" not in sch:
            for key, sub in properties.items():
                if key not in instance and "default" in sub:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, properties, instance, sch)

    return validators.extend(Draft202012Validator, {"properties": fill})


def validate(config: dict[str, Any], check_paths: bool = True) -> dict[str, Any]:
    """Validate against the schema, fill defaults, then check cross-references and paths.

    Returns the completed config; raises UserError listing every problem found.
    """
    from jsonschema import Draft202012Validator

    from shiftlab.config_checks import cross_check

    sch = schema()
    errors = sorted(
        Draft202012Validator(sch).iter_errors(config),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if errors:
        raise UserError("invalid config:\n  " + "\n  ".join(_describe(e, sch) for e in errors))
    # Defaults go in only after the plain check, so a default never hides a missing key.
    config = copy.deepcopy(config)
    for _ in _default_filler()(sch).iter_errors(config):
        pass
    problems = cross_check(config, check_paths=check_paths)
    if problems:
        raise UserError("invalid config:\n  " + "\n  ".join(problems))
    return config


def setting(path: str) -> dict[str, Any]:
    """The schema of one setting by dotted key path (`evaluation.batch_size`; `recipe.lr`
    for a recipe setting), for commands and code that must agree with the config."""
    sch = schema()
    node: dict[str, Any] = sch
    for i, key in enumerate(path.split(".")):
        props = node.get("properties", {})
        if key in props:
            node = props[key]
        elif i == 0 and key in sch["$defs"]:
            node = sch["$defs"][key]
        else:
            raise KeyError(f"{path}: no such setting in the config schema")
        if "$ref" in node:
            node = sch["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def default(path: str) -> Any:
    """The schema's default of a setting: the one place a default value is written."""
    return copy.deepcopy(setting(path)["default"])


def choices(path: str) -> list[Any]:
    """The allowed values (`enum`) of a setting."""
    return list(setting(path)["enum"])


def cross_check(config: dict[str, Any], check_paths: bool = True) -> list[str]:
    """Problems a schema cannot see (see `shiftlab.config_checks`)."""
    from shiftlab.config_checks import cross_check as check

    return check(config, check_paths=check_paths)


def baseline_run(config: dict[str, Any]) -> str:
    """The run that normalises CE/FR/T5D when published AlexNet constants do not apply."""
    return config["stats"].get("baseline_run") or next(iter(config["runs"]))


def slice_sha256(obj: Any) -> str:
    """Stable hash of a config slice (canonical JSON), recorded beside every number."""
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
