"""Every shipped study config plans its whole DAG (`snakemake -n`), with empty stand-ins for
the local dataset copies it names, and each has a MiniNet twin with the same analyses."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STUDIES = ["imagenet", "sensitivity", "repeatability", "tiny-imagenet", "texture-shape"]
TWINS = {"imagenet": "test.yaml"}  # the test study is the benchmark family's twin


def _stand_ins(cfg: dict, tmp: Path) -> dict:
    """Point local copies (and a label-space file) at empty stand-ins under tmp."""
    for bid, entry in cfg["benchmarks"].items():
        if entry.get("path"):
            entry["path"] = str(tmp / "datasets" / bid)
            Path(entry["path"]).mkdir(parents=True)
    if cfg["label_space"] not in ("imagenet1k", "mininet"):
        wnids = tmp / "wnids.txt"
        wnids.write_text("".join(f"n{i:08d}\n" for i in range(200)))
        cfg["label_space"] = str(wnids)
    return cfg


@pytest.mark.parametrize("name", STUDIES)
def test_study_config_plans(name, tmp_path):
    cfg = _stand_ins(yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text()), tmp_path)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-n", "--cores", "1", "-s", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "report" in out and "predict" in out


@pytest.mark.parametrize("name", STUDIES)
def test_each_study_has_a_twin_with_its_benchmark_kinds_and_statistics(name):
    real = yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())
    twin_file = TWINS.get(name, f"twins/{name}.yaml")
    twin = yaml.safe_load((ROOT / "config" / twin_file).read_text())
    kinds = {e["kind"] for e in real["benchmarks"].values()}
    twin_kinds = {e["kind"] for e in twin["benchmarks"].values()}
    assert kinds <= twin_kinds, f"{twin_file} lacks {kinds - twin_kinds}"
    assert twin["stats"].get("correction", "holm") == real["stats"]["correction"]
    if name == "imagenet":
        return  # the benchmark family: its recipes are the other twins' (repeatability, tiny)
    real_bases = {r["base"] for r in (real.get("recipes") or {}).values()}
    twin_bases = {r["base"] for r in (twin.get("recipes") or {}).values()}
    used = {real["recipes"][r["recipe"]]["base"] for r in real["runs"].values() if r.get("recipe")}
    assert used <= twin_bases <= real_bases | {"baseline"}, (used, twin_bases)


def test_site_overlay_makes_every_benchmark_local_and_plans(tmp_path):
    """config/site-example.yaml over config/imagenet.yaml: nothing is downloaded, the weights
    files and partition limits apply, and the merged study plans."""
    text = (ROOT / "config" / "site-example.yaml").read_text().replace("/site/", f"{tmp_path}/")
    overlay = yaml.safe_load(text)
    for entry in overlay["benchmarks"].values():
        path = Path(entry["path"])
        if path.suffix == ".json":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("[]")
        else:
            path.mkdir(parents=True)
    for run in overlay["runs"].values():
        Path(run["weights"]).parent.mkdir(parents=True, exist_ok=True)
        Path(run["weights"]).write_bytes(b"")
    (tmp_path / "site.yaml").write_text(text)
    study = yaml.safe_load((ROOT / "config" / "imagenet.yaml").read_text())
    downloaded = {b for b, e in study["benchmarks"].items() if e.get("source") == "download"}
    assert downloaded and downloaded <= set(overlay["benchmarks"])  # a copy for each one
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-n", "-p", "--cores", "1", "-s", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(ROOT / "config" / "imagenet.yaml"),
         str(tmp_path / "site.yaml")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "rule fetch:" not in out and "localrule fetch:" not in out
    weights = overlay["runs"]["resnet50"]["weights"]
    assert f'"model": "tv:resnet50", "weights": "{weights}"' in out
    runtimes = [int(m) for m in re.findall(r"\bruntime=(\d+)", out)]
    assert runtimes and max(runtimes) <= overlay["cluster"]["max_runtime_min"]
