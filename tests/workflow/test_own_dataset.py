"""config/own-dataset.yaml through the real workflow on a generated 5-class dataset of
repeated captures (class names, PNG, non-square and greyscale images, one folder per part).

Only the sizes are made tiny (1 epoch, 2 severities, a small model) and the pretrained
weights are a local 1000-way file (nothing can be downloaded here): the fine-tune must
replace its head and keep its backbone. The repeatability numbers are recomputed from the
predictions files by counting agreeing capture pairs, independently of the metrics code.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests" / "data"))
from own_data import CLASSES, make_dataset  # noqa: E402

pytestmark = pytest.mark.slow
MODEL = "resnet10t"


def _weights(path: Path) -> Path:
    """A stand-in for downloaded ImageNet weights: a seeded 1000-way model's state dict."""
    import timm
    import torch

    torch.manual_seed(1)
    torch.save(timm.create_model(MODEL, num_classes=1000).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("own") / "project"
    project.mkdir()
    for name in ("Snakefile", "workflow", "config", "envs", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, project / name)
    make_dataset(project / "data" / "own")
    cfg = yaml.safe_load((ROOT / "config" / "own-dataset.yaml").read_text())
    weights = _weights(project / "pretrained.pt")
    for run in cfg["runs"].values():
        run.update(model=MODEL, weights=str(weights))
    for recipe in cfg["recipes"].values():
        recipe.update(epochs=1)
    cfg["corruptions"].update(severities=[1, 3], x264_preset="ultrafast", perturbations=["translate"])  # fmt: skip
    cfg["stats"]["bootstrap"] = 100
    (project / "config" / "own-tiny.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    proc = subprocess.run(
        ["snakemake", "--cores", "2", "--configfile", "config/own-tiny.yaml"],
        cwd=project, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        logs = "".join(f"\n--- {p}\n{p.read_text(errors='replace')[-1500:]}"
                       for p in sorted((project / "logs").rglob("*.log"))
                       if "Error" in p.read_text(errors="replace"))  # fmt: skip
        pytest.fail(f"own-dataset study failed:\n{proc.stderr[-3000:]}{logs}", pytrace=False)
    return project / "results" / "own"


def _summary(results: Path) -> pd.DataFrame:
    summary = pd.read_csv(results / "summary.csv", keep_default_na=False)
    summary["value"] = pd.to_numeric(summary["value"])
    return summary


def test_split_manifest_and_classes_by_name(study):
    from shiftlab.data.index import read_index

    manifest = pd.read_csv(study / "index" / "own-test.split.csv")
    assert list(manifest.columns) == ["path", "class", "split", "group"]
    assert set(manifest["class"]) == set(CLASSES)
    assert (manifest.groupby("group")["split"].nunique() == 1).all()  # parts never straddle
    test, meta = read_index(study / "index" / "own-test.parquet")
    assert set(test["sample"]) == set(manifest.loc[manifest["split"] == "test", "path"])
    assert meta["split"]["counts"] == manifest["split"].value_counts().to_dict()
    assert (test["target"] == test["wnid"].map(list(CLASSES).index)).all()


def test_head_replaced_backbone_kept(study):
    import torch

    from shiftlab.models.checkpoint import read_checkpoint

    pretrained = torch.load(study.parents[1] / "pretrained.pt", weights_only=True)
    init = read_checkpoint(study / "checkpoints" / "r18" / "init.pt")
    state = init["state_dict"]
    assert list(init["model"]["wnids"]) == list(CLASSES)
    assert torch.equal(state["conv1.0.weight"], pretrained["conv1.0.weight"])
    assert state["fc.weight"].shape == (len(CLASSES), pretrained["fc.weight"].shape[1])


def _pairs_agreeing(top1: list[int]) -> float:
    pairs = list(itertools.combinations(top1, 2))
    return sum(a == b for a, b in pairs) / len(pairs)


def test_repeatability_numbers_recomputed_from_predictions(study):
    summary = _summary(study)
    for run in ("r18", "r18-repeat", "r18-augmix"):
        preds = pd.read_parquet(study / "predictions" / run / "own-test.parquet")
        preds["top1"] = preds["topk"].map(lambda k: int(k[0]))
        per_group = preds.groupby("group")["top1"].apply(list)
        expected = 100 * per_group.map(_pairs_agreeing).mean()
        disagree = 100 * per_group.map(lambda t: len(set(t)) > 1).mean()
        rows = summary[(summary["run"] == run) & (summary["benchmark"] == "own-test")]
        got = rows.set_index("metric")["value"]
        assert got["repeat_agreement"] == pytest.approx(expected)
        assert got["repeat_groups_disagree"] == pytest.approx(disagree)
        assert {f"repeat_agreement/{c}" for c in CLASSES} <= set(got.index)
    a = pd.read_parquet(study / "predictions" / "r18" / "own-test.parquet")
    b = pd.read_parquet(study / "predictions" / "r18-repeat" / "own-test.parquet")
    same = (a["topk"].map(lambda k: k[0]) == b.set_index("sample").loc[a["sample"], "topk"].map(lambda k: k[0]).to_numpy())  # fmt: skip
    row = summary[(summary["run"] == "r18-repeat") & (summary["metric"] == "run_agreement_vs/r18")]
    assert row["value"].iloc[0] == pytest.approx(100 * same.mean())


def test_mce_against_the_baseline_run_and_the_report(study):
    summary = _summary(study)
    assert not summary["metric"].str.contains("alexnet").any()
    mce = summary[(summary["metric"] == "mce_baseline") & (summary["benchmark"] == "own-c")]
    assert set(mce["run"]) == {"r18", "r18-repeat", "r18-augmix"}
    assert mce.set_index("run")["value"]["r18"] == pytest.approx(100.0)  # the baseline itself
    assert {"mfr", "mt5d", "shift_flip_prob", "shift_flip_prob_consecutive"} <= set(summary["metric"])  # fmt: skip
    page = (study / "report.html").read_text()
    section = page[page.index('<section id="repeatability">') :]
    assert "Least repeatable groups" in section and "Reproducibility" in section
    assert (study / "figures" / "least_repeatable.png").is_file()
    groups = pd.read_csv(study / "stats" / "repeatability_groups.csv")
    assert set(groups["run"]) == {"r18", "r18-repeat", "r18-augmix"}


def test_a_corrupt_png_stops_snakemake_n_with_one_line(study, tmp_path):
    """The plan-time checks run where a user meets them: `snakemake -n` exits before any job."""
    project = study.parents[1]
    broken = tmp_path / "parts"
    shutil.copytree(project / "data" / "own" / "parts", broken)
    bad = sorted(broken.rglob("*.png"))[3]
    bad.write_bytes(bad.read_bytes()[:50])
    cfg = yaml.safe_load((project / "config" / "own-tiny.yaml").read_text())
    for entry in cfg["benchmarks"].values():
        if entry["kind"] == "folder":
            entry["path"] = str(broken)
    (project / "config" / "own-broken.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    proc = subprocess.run(
        ["snakemake", "-n", "--cores", "1", "--configfile", "config/own-broken.yaml"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if bad.name in ln]
    assert lines and "cannot decode image" in lines[0] and "benchmarks.own-train.path" in lines[0]
