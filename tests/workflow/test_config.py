"""Config validation: every malformed config is rejected with a message naming the key."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shiftlab import config as study_config
from shiftlab.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def good() -> dict:
    return study_config.load(ROOT / "config" / "test.yaml")


def mutate(cfg: dict, path: str, value) -> dict:
    cfg = copy.deepcopy(cfg)
    node = cfg
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return cfg


def test_shipped_configs_validate():
    for name in ("config.yaml", "test.yaml"):
        cfg = study_config.validate(study_config.load(ROOT / "config" / name))
        assert cfg["runs"], name
    # The full study names cluster paths that do not exist here: schema and references only.
    full = study_config.validate(
        study_config.load(ROOT / "config" / "imagenet.yaml"), check_paths=False
    )
    assert "alexnet" in full["runs"] and full["stats"]["baseline_run"] == "alexnet"
    assert {e["kind"] for e in full["benchmarks"].values()} >= {
        "imagenet_v2",
        "imagenet_sketch",
        "imagenet_a",
        "imagenet_r",
        "imagenet_o",
        "imagenet_c",
        "imagenet_p",
        "imagenet_real",
        "cue_conflict",
        "transforms",
    }


def test_defaults_are_filled(good):
    cfg = study_config.validate(good)
    assert cfg["stats"]["correction"] == "holm"
    assert cfg["corruptions"]["jpeg_quality"] == 85
    assert cfg["runs"]["tiny-c"]["recipe"] is None
    assert cfg["benchmarks"]["val"]["subset_1000way"] is False
    assert cfg["evaluation"] == {"batch_size": 64, "fp32": False, "decode": "auto",
                                 "input_size": "test"}  # fmt: skip


def test_evaluation_settings_reach_the_predict_command(good):
    """`evaluation` turns into predict's flags (the rule's params, so a change re-runs it)."""
    from types import SimpleNamespace

    from shiftlab.workflow import Study

    class Inputs(SimpleNamespace):
        def keys(self):
            return vars(self).keys()

    cfg = study_config.validate(good)
    assert Study(cfg).predict_flags(Inputs()) == "--batch-size 64 --decode auto"
    cfg["evaluation"] = {"batch_size": 256, "fp32": True, "decode": "cpu"}
    flags = Study(cfg).predict_flags(Inputs(clean_index="idx/val.parquet"))
    assert flags == "--batch-size 256 --decode cpu --fp32 --clean-index idx/val.parquet"


MALFORMED = [
    # (mutation path, value, words the message must contain)
    ("stats.corection", "holm", ["stats", "corection", "did you mean 'correction'"]),
    ("seed", "zero", ["seed", "'zero'", "integer"]),
    ("seed", -1, ["seed", "minimum"]),
    (
        "benchmarks.val.kind",
        "imagenet_vall",
        ["benchmarks.val.kind", "imagenet_vall", "imagenet_val"],
    ),
    ("benchmarks.val.source", "ftp", ["benchmarks.val.source", "'ftp'", "download"]),
    ("stats.correction", "bonferonni", ["stats.correction", "holm", "bh"]),
    ("corruptions.severities", [0, 6], ["corruptions.severities", "minimum"]),
    ("corruptions.params", "huge", ["corruptions.params", "tiny", "imagenet"]),
    ("mininet.image_size", 8, ["mininet.image_size", "32"]),
    ("runs.tiny-a.recipe", "nope", ["runs.tiny-a.recipe", "'nope'", "quick"]),
    ("runs.tiny-a.model", "resnet; rm -rf /", ["runs.tiny-a.model"]),
    ("runs.tiny-a.tpyo", 1, ["runs.tiny-a", "tpyo", "allowed keys"]),
    ("benchmarks.c.from", "nowhere", ["benchmarks.c.from", "'nowhere'", "val"]),
    ("benchmarks.v2-mf.variant", "matched", ["benchmarks.v2-mf.variant", "matched-frequency"]),
    ("stats.baseline_run", "ghost", ["stats.baseline_run", "'ghost'", "tiny-a"]),
    ("recipes.quick.base", "sgd", ["recipes.quick.base", "augmix"]),
    ("label_space", "imagenet22k", ["label_space", "imagenet1k", "mininet"]),
    ("evaluation.decode", "pil", ["evaluation.decode", "'pil'", "nvjpeg"]),
    ("evaluation.batch_size", 0, ["evaluation.batch_size", "minimum"]),
    ("evaluation.bacth_size", 8, ["evaluation", "bacth_size", "did you mean 'batch_size'"]),
    (
        "benchmarks.mine",
        {"kind": "folder", "source": "local"},
        ["benchmarks.mine.path", "required"],
    ),
    (
        "benchmarks.mine",
        {"kind": "folder", "source": "local", "path": "/no/such/dir"},
        ["benchmarks.mine.path", "/no/such/dir"],
    ),
]


# Configs a job would refuse later: `snakemake -n` refuses them first, with the same words.
QUICK = {"base": "baseline", "epochs": 1, "lr": 0.05, "batch_size": 16, "image_size": 32}
PLAN_TIME = [
    ("runs.tiny-a.model", "a b", ["runs.tiny-a.model", "'a b'", "not a safe name"]),
    ("runs.tiny-a.model", "resnet1o", ["runs.tiny-a.model", "'resnet1o'", "did you mean", "resnet18"]),
    ("runs.tiny-a.model", "tv:resnt50", ["runs.tiny-a.model", "did you mean", "tv:resnet50"]),
    ("runs.tiny-c.model", "resnet50.a1_in1kk",
     ["runs.tiny-c.model", "'a1_in1kk'", "did you mean: a1_in1k", "allowed:"]),
    ("runs.tiny-c", {"model": "tv:resnet50.IMAGENET1K_V3", "weights": "imagenet"},
     ["runs.tiny-c.model", "'IMAGENET1K_V3'", "did you mean: IMAGENET1K_V2", "allowed: IMAGENET1K_V1"]),
    ("runs.tiny-c", {"model": "botnet50ts_256", "weights": "imagenet"},
     ["runs.tiny-c.weights", "no pretrained weights", "botnet50ts_256"]),
    ("runs.tiny-a.train_data", "trian", ["runs.tiny-a.train_data", "'trian'", "did you mean 'train'"]),
    ("stats.baseline_run", "tiny-aa", ["stats.baseline_run", "did you mean 'tiny-a'", "tiny-c"]),
    ("recipes.quick.wieght_decay", 0.1,
     ["recipes.quick", "'wieght_decay'", "did you mean 'weight_decay'", "epochs"]),
    ("recipes.quick.optimizer", "adam", ["recipes.quick.optimizer", "'adam'", "sgd, adamw"]),
    ("recipes.quick.schedule", "linear", ["recipes.quick.schedule", "constant, cosine, step"]),
    ("recipes.quick.augment", "autoaugment", ["recipes.quick.augment", "flip_rotate, rrc_flip"]),
    ("recipes.quick.epochs", 0, ["recipes.quick.epochs", "minimum of 1"]),
    ("recipes.quick.lr", "fast", ["recipes.quick.lr", "'fast'", "number"]),
    ("recipes.quick.label_smoothing", 1.5, ["recipes.quick.label_smoothing", "maximum of 1"]),
    ("recipes.quick.image_size", 8, ["recipes.quick.image_size", "minimum of 16"]),
    ("recipes.quick.jsd_weight", 1.0,
     ["recipes.quick.jsd_weight", "not a setting of base 'baseline'", "allowed:", "warmup_epochs"]),
    ("recipes.quick", QUICK | {"batch_size": 10, "grad_accum": 4},
     ["recipes.quick.batch_size", "10 is not a multiple of grad_accum 4"]),
    ("recipes.quick", QUICK | {"nesterov": True, "momentum": 0},
     ["recipes.quick.nesterov", "needs momentum > 0"]),
    ("recipes.quick", {"base": "corruption_aug", "corruptions": ["fogg", "snow"]},
     ["recipes.quick.corruptions", "'fogg' (did you mean 'fog'?)", "gaussian_noise", "all, test, validation"]),
    ("corruptions.names", ["gaussian_nosie"],
     ["corruptions.names", "'gaussian_nosie' (did you mean 'gaussian_noise'?)", "allowed: gaussian_noise"]),
    ("corruptions.names", [], ["corruptions.names", "non-empty"]),
    ("corruptions.perturbations", ["rotation"],
     ["corruptions.perturbations", "(did you mean 'rotate'?)", "translate"]),
    ("corruptions.transforms", {"rotaton": {}},
     ["corruptions.transforms", "'rotaton' (did you mean 'rotation'?)", "hflip"]),
    ("corruptions.transforms", {"rotation": {"angle": 10}},
     ["corruptions.transforms.rotation", "unknown parameter 'angle'", "allowed: degrees"]),
    ("corruptions.transforms", {"crop_shift": {"max_shift": 0}},
     ["corruptions.transforms.crop_shift.max_shift", "an integer >= 1"]),
    ("stats.fit_runs", ["tiny-a", "tiny-z"],
     ["stats.fit_runs", "unknown run 'tiny-z'", "allowed: tiny-a, tiny-b, tiny-c"]),
    ("stats.reliability_bins", 0, ["stats.reliability_bins", "minimum of 1"]),
    ("stats.c_per_severity", "yes", ["stats.c_per_severity", "'yes'", "boolean"]),
    ("benchmarks.c.source", "mininet",
     ["benchmarks.c.source", "'mininet' does not apply to kind 'imagenet_c'", "derived, on_the_fly"]),
    ("benchmarks.sketch.source", "download",
     ["benchmarks.sketch.source", "'download'", "allowed for it: mininet, local"]),
    ("benchmarks.c.variant", "fog/9", ["benchmarks.c.variant", "'fog/9'", "[a-z_]+(/[1-5])?"]),
    ("benchmarks.v2-mf.variant", None,
     ["benchmarks.v2-mf.variant", "required", "matched-frequency, threshold0.7, top-images"]),
]  # fmt: skip
CASES = MALFORMED + PLAN_TIME


@pytest.mark.parametrize("value", ["tset", 8, True])
def test_bad_evaluation_input_size_names_the_key(good, value):
    with pytest.raises(UserError) as info:
        study_config.validate(mutate(good, "evaluation.input_size", value))
    assert "evaluation.input_size" in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "path,value,words", CASES, ids=[m[0] + "=" + str(m[1])[:12] for m in CASES]
)
def test_malformed_config_names_the_key(good, path, value, words):
    with pytest.raises(UserError) as info:
        study_config.validate(mutate(good, path, value))
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_unsafe_run_name_is_rejected(good):
    cfg = copy.deepcopy(good)
    cfg["runs"]["../escape"] = {"model": "resnet10t"}
    with pytest.raises(UserError, match="not a safe name"):
        study_config.validate(cfg)


def test_unwritable_results_folder(good, tmp_path):
    # A folder under a regular file can be created by no one, root included.
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="results_dir: .* not a folder"):
        study_config.validate(mutate(good, "results_dir", str(tmp_path / "file" / "results")))
    if os.geteuid() != 0:  # mode bits only bind non-root users
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(UserError, match="not writable"):
            study_config.validate(mutate(good, "results_dir", str(locked / "results")))


def _snakemake(cfg: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    cfg_file = tmp_path / "bad.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(cfg_file),
            "--cores",
            "1",
            "-n",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_at_least_25_distinct_bad_configs():
    assert len({(path, repr(value)) for path, value, _ in CASES}) >= 25


@pytest.mark.parametrize(
    "lines,words",
    [
        (["n00000001", "n00000002"], ["benchmarks.train", "no class of kind 'imagenet_train'", "n01514859"]),
        (["n01514859", "n01514859"], ["label_space", "lists a class twice"]),
    ],
)  # fmt: skip
def test_label_space_must_fit_the_benchmarks(good, tmp_path, lines, words):
    wnids = tmp_path / "classes.txt"
    wnids.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as info:
        study_config.validate(mutate(good, "label_space", str(wnids)))
    for word in words:
        assert word in str(info.value), f"{word!r} missing from: {info.value}"


def test_every_setting_is_declared_with_a_description_and_default():
    from jsonschema import Draft202012Validator

    sch = study_config.schema()
    Draft202012Validator.check_schema(sch)
    missing = []

    def walk(node: dict, where: str) -> None:
        for key, sub in node.get("properties", {}).items():
            if "description" not in sub or "default" not in sub:
                missing.append(f"{where}{key}")
            walk(sub, f"{where}{key}.")

    walk(sch, "")
    for name, node in sch["$defs"].items():
        walk(node, f"$defs.{name}.")
    assert not missing


def test_recipes_are_the_schema_settings():
    from shiftlab.train.recipes import allowed_settings, create_recipe, list_recipes

    recipe = study_config.setting("recipe")
    assert study_config.choices("recipe.base") == [
        "baseline", "imagenet", "corruption_aug", "augmix", "patch_gaussian", "stability"
    ]  # fmt: skip
    assert sorted(recipe["properties"]["base"]["enum"]) == list_recipes()
    declared = set(recipe["properties"]) - {"base"}
    assert len(declared - {k for k, v in recipe["properties"].items() if "x-recipes" in v}) == 22
    for base in list_recipes():
        assert set(allowed_settings(base)) <= declared, base
    augmix = create_recipe("augmix")
    assert augmix["jsd_weight"] == study_config.default("recipe.jsd_weight") == 12.0
    assert augmix["epochs"] == study_config.default("recipe.epochs")
    assert create_recipe("imagenet")["epochs"] == 90  # a base's own value beats the schema's
    # a recipe entry keeps only what the user wrote: the base fills the rest at train time
    cfg = study_config.validate(study_config.load(ROOT / "config" / "test.yaml"))
    assert "momentum" not in cfg["recipes"]["quick"]


def test_new_stats_settings_reach_the_aggregate_command(good):
    import json

    from shiftlab.stats.summary import StatsConfig
    from shiftlab.workflow import Study

    cfg = study_config.validate(good)
    stats = StatsConfig.from_json(json.dumps(Study(cfg).stats_settings()))
    assert (stats.fit_runs, stats.c_per_severity, stats.reliability_bins) == (None, False, 15)
    cfg["stats"] |= {
        "fit_runs": ["tiny-a", "tiny-b"],
        "c_per_severity": True,
        "reliability_bins": 10,
    }
    stats = StatsConfig.from_json(json.dumps(Study(cfg).stats_settings()))
    assert (stats.fit_runs, stats.c_per_severity, stats.reliability_bins) == (
        ["tiny-a", "tiny-b"], True, 10,
    )  # fmt: skip


def test_command_defaults_are_the_schema_defaults():
    from shiftlab.cli import build_parser

    parser = build_parser()
    predict = parser.parse_args(
        ["predict", "--checkpoint", "c", "--index", "i", "--benchmark-json", "{}", "--out", "o"]
    )
    assert (predict.batch_size, predict.decode) == (64, "auto")
    assert predict.batch_size == study_config.default("evaluation.batch_size")
    mini = vars(parser.parse_args(["mininet", "--out", "o"]))
    props = study_config.setting("mininet")["properties"]
    assert {k: mini[k] for k in props} == {k: v["default"] for k, v in props.items()}
    assert mini["image_size"] == 64
    metrics = parser.parse_args(
        ["metrics", "--run", "r", "--benchmark", "b", "--benchmark-json", "{}"]
        + ["--predictions", "p", "--out", "o"]
    )
    assert (metrics.bootstrap, metrics.alpha) == (1000, 0.05)


@pytest.mark.parametrize(
    "path,value,word",
    [
        ("stats.corection", "holm", "corection"),
        ("seed", "zero", "seed"),
        (
            "runs.tiny-a.model",
            "resnet1o",
            "runs.tiny-a.model: unknown model 'resnet1o'; did you mean",
        ),
        (
            "benchmarks.mine",
            {"kind": "folder", "source": "local", "path": "/no/such/dir"},
            "/no/such/dir",
        ),
    ],
)
def test_snakemake_rejects_bad_config_before_any_job(good, tmp_path, path, value, word):
    before = set(tmp_path.iterdir())
    proc = _snakemake(mutate(good, path, value), tmp_path)
    assert proc.returncode != 0
    assert word in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    created = {p.name for p in set(tmp_path.iterdir()) - before} - {"bad.yaml"}
    assert not created, f"written for a bad config: {created}"
