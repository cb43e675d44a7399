"""The report's zoo check on a real small study: `shiftlab init-model` with a weights file for
a published timm tag, `predict` and `shiftlab metrics` on a generated world in the
ImageNet-1k label space. A random-weights model is far from timm's published val figure
(flagged, with its hint); ImageNet-A's published figure for the tag is low enough to lie
inside the small study's interval (not flagged); a run at a resolution timm did
not publish says so."""

from __future__ import annotations

import json
from importlib.resources import files

import pandas as pd
import pytest
import torch

from shiftlab.cli import main
from shiftlab.data.index import build_index, write_index
from shiftlab.data.mininet.spec import MiniNetParams
from shiftlab.data.mininet.write import generate
from shiftlab.evaluate import predict
from shiftlab.models import create_model
from shiftlab.report.tables import Results
from shiftlab.report.zoo import TIMM_FILES, zoo_check, zoo_parts

# A published tag whose ImageNet-A figure (6.2 % at 224 px) is in the range a random model
# reaches on this world's 14 A images; its val figure (73.3 %) is far above it.
TAG = "resnet18.fb_swsl_ig1b_ft_in1k"
BENCHES = {"val": ("imagenet_val", "imagenet/val"), "a": ("imagenet_a", "imagenet-a")}
RUNS = {"zoo": "test", "small": 160}  # evaluation.input_size of each run


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp("zoo")
    params = MiniNetParams(seed=5, image_size=32, train_per_class=1, val_per_class=2,
                           shifted_per_class=2)  # fmt: skip
    generate(root / "mininet", params)
    torch.manual_seed(0)
    weights = root / "resnet18.pth"
    torch.save(create_model("resnet18", 1000).state_dict(), weights)
    indexes = {}
    for bid, (kind, sub) in BENCHES.items():
        frame, meta = build_index(kind, root / "mininet" / sub, "imagenet1k", bid)
        indexes[bid] = write_index(frame, meta, root / f"{bid}.parquet")
    results = root / "results"
    frames = []
    for run, size in RUNS.items():
        ckpt = root / f"{run}.pt"
        entry = {"model": TAG, "weights": str(weights), "input_size": size}
        args = ["init-model", "--run", run, "--model-json", json.dumps(entry)]
        assert main([*args, "--label-space", "imagenet1k", "--out", str(ckpt)]) == 0
        for bid, (kind, _) in BENCHES.items():
            out = results / "predictions" / run / f"{bid}.parquet"
            predict(ckpt, indexes[bid], {"kind": kind}, out, batch_size=8)
            csv = root / f"{run}-{bid}.csv"
            assert main(["metrics", "--run", run, "--benchmark", bid, "--benchmark-json",
                         json.dumps({"kind": kind}), "--predictions", str(out),
                         "--out", str(csv)]) == 0  # fmt: skip
            frames.append(pd.read_csv(csv, dtype={"variant": str}).fillna({"variant": ""}))
    metrics = pd.concat(frames, ignore_index=True)
    metrics["row"] = metrics.index
    return results, metrics


def _published(kind: str, size: int) -> float:
    """The figure straight from the shipped results file (independent of the zoo check)."""
    with (files("shiftlab.resources") / "timm_results" / TIMM_FILES[kind][0]).open() as fh:
        table = pd.read_csv(fh)
    return float(table[(table["model"] == TAG) & (table["img_size"] == size)]["top1"].iat[0])


def _row(table: pd.DataFrame, run: str, bench: str) -> pd.Series:
    return table[(table["run"] == run) & (table["benchmark"] == bench)].iloc[0]


def test_far_from_the_published_figure_is_flagged_with_a_hint(study) -> None:
    results, metrics = study
    row = _row(zoo_check(results, metrics), "zoo", "val")
    assert row["geometry"] == "timm test 224px crop 0.875 center bilinear"
    assert row["published"] == _published("imagenet_val", 224)
    assert not row["ci_low"] <= row["published"] <= row["ci_high"]
    assert row["flagged"] and row["note"].startswith("label mapping or weights")


def test_within_the_interval_is_not_flagged(study) -> None:
    results, metrics = study
    row = _row(zoo_check(results, metrics), "zoo", "a")
    figure = _published("imagenet_a", 224)
    assert row["published"] == figure and row["ci_low"] <= figure <= row["ci_high"]
    assert not row["flagged"] and row["note"] == "within the interval"


def test_a_resolution_the_zoo_did_not_publish_is_not_compared(study) -> None:
    results, metrics = study
    row = _row(zoo_check(results, metrics), "small", "val")
    assert row["geometry"].startswith("timm 160 160px")
    assert pd.isna(row["published"]) and not row["flagged"]
    assert "at 224 px, this run is at 160 px: not compared" in row["note"]


def test_report_table_shows_geometry_flag_and_hint(study) -> None:
    results, metrics = study
    html = zoo_parts(Results(results, metrics, {}))[0]
    assert "timm test 224px" in html and "<b>flagged</b>" in html
    assert "label mapping or weights" in html and "not compared" in html
