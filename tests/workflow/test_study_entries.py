"""Config settings that must reach the jobs that use them, checked on the planned commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shiftlab import config as study_config
from shiftlab.errors import UserError
from shiftlab.workflow import Study

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _test_config() -> dict:
    return yaml.safe_load((ROOT / "config" / "test.yaml").read_text())


def planned_commands(tmp_path: Path, cfg: dict, target: str) -> str:
    """`snakemake -n -p` of one target of a study config: the commands it would run."""
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-n", "-p", "--cores", "1", "-s", str(ROOT / "Snakefile"),
         target, "--directory", str(tmp_path), "--configfile", str(path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def test_imagenet_p_difficulty_reaches_its_metrics_entry():
    cfg = _test_config()
    cfg["corruptions"]["difficulty"] = 3
    study = Study(study_config.validate(cfg))
    assert study.benchmark_entry("p")["difficulty"] == 3
    assert "difficulty" not in study.benchmark_entry("val")


def test_planned_metrics_command_carries_the_difficulty(tmp_path):
    """Through `snakemake -n -p`: the metrics job of ImageNet-P is told the stride."""
    cfg = _test_config()
    cfg["corruptions"]["difficulty"] = 2
    out = planned_commands(tmp_path, cfg, f"results/{cfg['study']}/metrics/tiny-c/p.csv")
    command = next(line for line in out.splitlines() if "shiftlab metrics --run" in line)
    entry = re.search(r"--benchmark-json '(\{.*?\})'", command)
    assert entry, command
    assert json.loads(entry.group(1))["difficulty"] == 2


def test_local_real_labels_file_is_accepted_and_reaches_the_index_job(tmp_path):
    labels = tmp_path / "real.json"
    labels.write_text("[[0], [], [1, 2]]")
    cfg = _test_config()
    cfg["benchmarks"]["real"] = {"kind": "imagenet_real", "source": "local",
                                 "path": str(labels), "from": "val"}  # fmt: skip
    assert Study(study_config.validate(cfg)).real_json("real") == str(labels)
    out = planned_commands(tmp_path, cfg, f"results/{cfg['study']}/index/real.parquet")
    assert f"--real-json {labels}" in out

    cfg["benchmarks"]["real"]["path"] = str(tmp_path)  # a folder is not the labels file
    with pytest.raises(UserError, match=r"benchmarks\.real\.path: .* is not a file"):
        study_config.validate(cfg)


def test_subset_1000way_adds_a_labelled_full_space_benchmark():
    cfg = _test_config()
    cfg["benchmarks"]["r"]["subset_1000way"] = True
    study = Study(study_config.validate(cfg))
    assert "r-1000way" in study.eval_benchmarks() and "r" in study.eval_benchmarks()
    inputs = study.predict_inputs("tiny-c", "r-1000way")
    assert inputs["index"] == study.index_file("r")  # same images as r
    flags = study.predict_flags(type("I", (), {"keys": lambda self: []})(), "r-1000way")
    assert flags.endswith("--full-1000")
    assert "--full-1000" not in study.predict_flags(type("I", (), {"keys": lambda self: []})(), "r")
    assert "r-1000way" not in study.indexed_benchmarks()


def test_class_test_runs_must_name_runs():
    cfg = _test_config()
    cfg["stats"]["class_test_runs"] = ["tiny-a", "tiny-z"]
    with pytest.raises(UserError, match=r"stats\.class_test_runs: .*tiny-z"):
        study_config.validate(cfg)


def test_report_gets_the_indexes_of_transforms_benchmarks_and_their_sources():
    cfg = _test_config()
    study = Study(study_config.validate(cfg))
    index = f"{study.study_dir}/index"
    assert study.gallery_indexes() == [f"{index}/val.parquet", f"{index}/t.parquet"]
    del cfg["benchmarks"]["t"]
    assert Study(study_config.validate(cfg)).gallery_indexes() == []
