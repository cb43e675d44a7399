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
    assert cfg["evaluation"] == {"batch_size": 64, "fp32": False, "decode": "auto"}


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


@pytest.mark.parametrize(
    "path,value,words", MALFORMED, ids=[m[0] + "=" + str(m[1])[:12] for m in MALFORMED]
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


@pytest.mark.parametrize(
    "path,value,word",
    [
        ("stats.corection", "holm", "corection"),
        ("seed", "zero", "seed"),
        ("runs.tiny-a.model", "a b", "runs.tiny-a.model"),
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
