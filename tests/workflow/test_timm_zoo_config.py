"""The shipped timm study: valid, spans families, crop modes and test sizes, and plans."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from shiftlab import config as study_config
from shiftlab.models import data_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "timm-zoo.yaml"


def test_tags_span_families_crop_modes_and_test_sizes() -> None:
    cfg = study_config.validate(study_config.load(CONFIG), check_paths=False)
    timm_tags = [r["model"] for r in cfg["runs"].values() if not r["model"].startswith("tv:")]
    assert len(timm_tags) >= 15 and all(r["weights"] == "imagenet" for r in cfg["runs"].values())
    assert len({t.split("_")[0] for t in timm_tags}) >= 12
    modes = {data_config(t)["crop_mode"] for t in timm_tags}
    assert modes >= {"center", "squash"}
    bigger = [
        t
        for t in timm_tags
        if data_config(t)["input_size"] != data_config(t, input_size="train")["input_size"]
    ]
    assert len(bigger) >= 3


def test_dry_run_plans_every_run(tmp_path) -> None:
    cfg = yaml.safe_load(CONFIG.read_text())
    for bid, bench in cfg["benchmarks"].items():
        if bench.get("path"):  # local copies: empty stand-ins are enough to plan
            bench["path"] = str(tmp_path / "datasets" / bid)
            Path(bench["path"]).mkdir(parents=True)
    config = tmp_path / "timm-zoo.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(snakemake), "-s", str(ROOT / "Snakefile"), "--configfile", str(config), "-n",
         "--directory", str(tmp_path), "--cores", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    stats = dict(line.split()[:2] for line in out.split("Job stats:")[1].splitlines()[3:]
                 if len(line.split()) == 2)  # fmt: skip
    assert int(stats["init_model"]) == len(cfg["runs"])


def test_evaluation_input_size_reaches_init_model() -> None:
    """A non-default size travels in the run entry `init-model` builds the data config from."""
    from shiftlab.workflow import Study

    cfg = study_config.validate(study_config.load(CONFIG), check_paths=False)
    assert "input_size" not in Study(cfg).model_entry("resnet50-a1")
    cfg["evaluation"]["input_size"] = "train"
    entry = Study(cfg).model_entry("resnet50-a1")
    assert entry["input_size"] == "train"
    size = data_config(entry["model"], input_size=entry["input_size"])["input_size"]
    assert size == [3, 224, 224]
