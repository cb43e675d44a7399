"""Config checks a schema cannot express, run by `config.validate` before any job starts.

References between sections, names checked against the code's registries (models,
corruptions, perturbations, transforms, recipe settings, benchmark variants), the label
space against the benchmarks, and local paths. Each message reads `<key path>: <what is
wrong>; <what is allowed>`, so a config a job would refuse fails at `snakemake -n` instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shiftlab.config import did_you_mean, unknown_names
from shiftlab.errors import UserError

DERIVED_KINDS = ("imagenet_c", "imagenet_p", "transforms", "tiny_imagenet_c")


def cross_check(config: dict[str, Any], check_paths: bool = True) -> list[str]:
    """Every problem found, as one line each (empty: the config can run)."""
    problems = _benchmarks(config, check_paths)
    problems += _runs(config, check_paths)
    problems += _recipes(config["recipes"])
    problems += _corruptions(config["corruptions"])
    problems += _stats(config)
    problems += _label_space(config)
    if not problems:  # reading a folder tree is worth it only for an otherwise valid config
        from shiftlab.data.own_checks import own_dataset_problems

        problems += own_dataset_problems(config, check_paths)
    if check_paths:
        for key in ("results_dir", "data_dir"):
            problem = _unwritable(config[key])
            if problem:
                problems.append(f"{key}: {problem}")
    return problems


def _defined(value: str, names: Any, what: str) -> str:
    """`'x' is not a run (did you mean 'y'?); defined: ...`."""
    return f"{value!r} is not {what}{did_you_mean(value, names)}; defined: {', '.join(names) or '(none)'}"


def _sources(kind: str) -> list[str]:
    """The sources a benchmark kind can come from."""
    from shiftlab.data.registry import get_benchmark
    from shiftlab.workflow import MININET_ROOTS

    allowed = (
        ["mininet"] if kind in MININET_ROOTS or kind in ("imagenet_v2", "tiny_imagenet") else []
    )
    allowed += ["download"] if get_benchmark(kind).sources else []
    allowed += ["local"]
    allowed += ["derived"] if kind in DERIVED_KINDS else []
    return allowed + (["on_the_fly"] if kind == "imagenet_c" else [])


def _benchmarks(config: dict[str, Any], check_paths: bool) -> list[str]:
    from shiftlab.data.registry import get_benchmark

    problems: list[str] = []
    benches = config["benchmarks"]
    for bid, entry in benches.items():
        where = f"benchmarks.{bid}"
        src, kind = entry["source"], entry["kind"]
        if src not in _sources(kind):
            problems.append(
                f"{where}.source: {src!r} does not apply to kind {kind!r}; "
                f"allowed for it: {', '.join(_sources(kind))}"
            )
        if src in ("derived", "on_the_fly") or kind == "imagenet_real":
            ref = entry.get("from")
            if not ref:
                problems.append(
                    f"{where}.from: required for source {src!r} / kind {kind!r}; name the clean benchmark"
                )
            elif ref not in benches:
                problems.append(f"{where}.from: {_defined(ref, benches, 'a benchmark')}")
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
        variant, info = entry.get("variant"), get_benchmark(kind)
        try:
            if kind == "imagenet_v2" and not variant:
                raise UserError(f"required; allowed: {', '.join(info.variants)}")
            info.check_variant(variant)
        except UserError as exc:
            problems.append(f"{where}.variant: {exc}")
    return problems


def _runs(config: dict[str, Any], check_paths: bool) -> list[str]:
    from shiftlab.models.factory import check_pretrained, resolve_name

    problems: list[str] = []
    benches, recipes = config["benchmarks"], config["recipes"]
    for run, entry in config["runs"].items():
        where = f"runs.{run}"
        recipe = entry.get("recipe")
        if recipe is not None and recipe not in recipes:
            problems.append(f"{where}.recipe: {recipe!r} is not defined under recipes"
                            f"{did_you_mean(recipe, recipes)}; defined: {', '.join(recipes) or '(none)'}")  # fmt: skip
        if recipe is not None and entry["train_data"] not in benches:
            problems.append(
                f"{where}.train_data: {_defined(entry['train_data'], benches, 'a benchmark')}"
            )
        weights = entry.get("weights")
        if check_paths and weights not in (None, "imagenet") and not Path(weights).is_file():
            problems.append(
                f"{where}.weights: file {weights!r} does not exist (use null, 'imagenet' or a path)"
            )
        try:
            spec = resolve_name(entry["model"])
        except UserError as exc:
            problems.append(f"{where}.model: {exc}")
            continue
        if weights == "imagenet":
            try:
                check_pretrained(spec)
            except UserError as exc:  # a bad tag is the model's fault, no weights at all not
                problems.append(f"{where}.{'model' if spec.tag else 'weights'}: {exc}")
    return problems


def _recipes(recipes: dict[str, Any]) -> list[str]:
    from shiftlab.train.recipes import allowed_settings, create_recipe, setting_problems

    problems: list[str] = []
    for name, entry in recipes.items():
        where = f"recipes.{name}"
        allowed = allowed_settings(entry["base"])
        foreign = sorted(set(entry) - set(allowed) - {"base"})
        for key in foreign:
            problems.append(f"{where}.{key}: not a setting of base {entry['base']!r}; "
                            f"allowed: {', '.join(allowed)}")  # fmt: skip
        if foreign:
            continue
        try:
            recipe = create_recipe(entry, check_combinations=False)
        except UserError as exc:
            problems.append(f"{where}: {exc}")
            continue
        problems += [f"{where}.{key}: {why}" for key, why in setting_problems(recipe.settings)]
    return problems


def unknown_corruptions(requested: list[str]) -> str | None:
    """`unknown_names` against the registered corruptions; the canonical 19 are checked
    first, so a valid config never imports the operators (and torch) at plan time."""
    from shiftlab.corrupt.registry import CANONICAL_NAMES

    if not unknown_names(requested, CANONICAL_NAMES):
        return None
    from shiftlab.corrupt import names

    return unknown_names(requested, names())


def _corruptions(c: dict[str, Any]) -> list[str]:
    from shiftlab.corrupt.sequences import list_perturbations
    from shiftlab.corrupt.transforms import DEFAULTS, list_transforms

    problems: list[str] = []
    for key, bad in (
        ("names", unknown_corruptions(c["names"] or [])),
        ("perturbations", unknown_names(c["perturbations"] or [], list_perturbations())),
    ):
        if bad:
            problems.append(f"corruptions.{key}: {bad}")
    transforms = c["transforms"] or {}
    bad = unknown_names(list(transforms), list_transforms())
    if bad:
        return [*problems, f"corruptions.transforms: {bad}"]
    for name, params in transforms.items():
        where = f"corruptions.transforms.{name}"
        if params is not None and not isinstance(params, dict):
            problems.append(f"{where}: {params!r} is not a mapping of parameters")
            continue
        params = {**DEFAULTS[name], **(params or {})}
        bad = unknown_names(list(params), list(DEFAULTS[name]), "parameter")
        shift = params.get("max_shift", 1)  # probes only: how many shift steps
        if bad:
            problems.append(f"{where}: {bad}")
        elif isinstance(shift, bool) or not isinstance(shift, int) or shift < 1:
            problems.append(
                f"{where}.max_shift: {shift!r} is not allowed; allowed: an integer >= 1"
            )
    return problems


def _stats(config: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    stats, runs, benches = config["stats"], config["runs"], config["benchmarks"]
    baseline = stats.get("baseline_run")
    if baseline is not None and baseline not in runs:
        problems.append(f"stats.baseline_run: {_defined(baseline, runs, 'a run')}")
    clean = stats["clean_benchmark"]
    if benches and clean not in benches:
        problems.append(f"stats.clean_benchmark: {_defined(clean, benches, 'a benchmark')}")
    for key in ("fit_runs", "class_test_runs"):
        bad = unknown_names(stats[key] or [], list(runs), "run")
        if bad:
            problems.append(f"stats.{key}: {bad}")
    return problems


def _label_space(config: dict[str, Any]) -> list[str]:
    """The label space must exist and share classes with every benchmark of known classes
    (a job would find no sample to train on, or no class to score, otherwise)."""
    from shiftlab.labels import label_space

    spec = config["label_space"]
    if spec not in ("imagenet1k", "mininet") and not Path(spec).is_file():
        return [f"label_space: {spec!r} is not allowed; use imagenet1k, mininet or a path to a class-per-line file"]  # fmt: skip
    try:
        space = None if spec in ("imagenet1k", "mininet") else set(label_space(spec).wnids)
    except UserError as exc:
        return [f"label_space: {exc}"]
    problems: list[str] = []
    for bid, entry in config["benchmarks"].items():
        classes = _classes(entry, config["benchmarks"], spec)
        if classes is not None and space is None:
            space = set(label_space(spec).wnids)
        if classes is not None and not space & classes:
            problems.append(
                f"benchmarks.{bid}: no class of kind {entry['kind']!r} is in label_space {spec!r}; "
                f"its classes include: {', '.join(sorted(classes)[:5])}"
            )
    return problems


def _classes(entry: dict[str, Any], benches: dict[str, Any], spec: str) -> set[str] | None:
    """The wnids a benchmark can hold, where the code knows them (None: any, or surely
    inside the label space, so that checking costs nothing)."""
    from shiftlab.data.registry import get_benchmark
    from shiftlab.data.subsets import SUBSETS, subset_wnids
    from shiftlab.labels import MININET_WNIDS, imagenet1k_wnids

    kind, source = entry["kind"], entry["source"]
    if kind == "imagenet_o":  # out-of-distribution images: outside the label space by design
        return None
    if source in ("derived", "on_the_fly"):  # the classes of the set it is made from
        parent = benches.get(entry.get("from"))
        return _classes(parent, benches, spec) if parent and kind in DERIVED_KINDS else None
    if source == "mininet":
        return None if spec in ("imagenet1k", "mininet") else set(MININET_WNIDS)
    if spec == "imagenet1k" and get_benchmark(kind).classes != "tiny":
        return None
    if kind in SUBSETS:
        return set(subset_wnids(kind))
    return set(imagenet1k_wnids()) if get_benchmark(kind).classes == "imagenet1k" else None


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
