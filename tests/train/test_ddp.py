"""2-process DDP (gloo, CPU) gives the same weights as 1 process with the same global batch."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from train_helpers import cli, cli_env

from shiftlab.train.loop import FitConfig, fit
from shiftlab.train.recipes import create_recipe

torch.set_num_threads(1)

# A LayerNorm model: with BatchNorm each DDP process normalises its own half-batch, so
# 2x4 equals 1x8 only with grad_accum=2 on the single process (or SyncBatchNorm on GPUs).
MODEL = {"model": "test_convnext"}
RECIPE = {
    "base": "baseline",
    "epochs": 1,
    "batch_size": 8,
    "lr": 0.05,
    "image_size": 32,
    "checkpoint_every": 0,
}


@pytest.mark.slow
def test_two_gloo_processes_match_one(world: tuple[Path, Path], tmp_path: Path) -> None:
    index, labels = world
    single = FitConfig(
        run="t",
        model=MODEL,
        recipe=create_recipe(RECIPE),
        train_index=index,
        label_space=str(labels),
        seed=3,
        out=tmp_path / "one" / "final.pt",
        state_dir=tmp_path / "one" / "state",
        history=tmp_path / "one" / "history.csv",
        device="cpu",
        progress=False,
    )
    assert fit(single) == 0

    two = tmp_path / "two"
    args = cli(
        "train",
        "--run",
        "t",
        "--model-json",
        json.dumps(MODEL),
        "--recipe-json",
        json.dumps(RECIPE),
        "--train-index",
        str(index),
        "--label-space",
        str(labels),
        "--seed",
        "3",
        "--out",
        str(two / "final.pt"),
        "--state-dir",
        str(two / "state"),
        "--history",
        str(two / "history.csv"),
        "--nproc",
        "2",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--no-progress",
    )
    done = subprocess.run(args, capture_output=True, text=True, env=cli_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    a = torch.load(single.out, weights_only=True)
    b = torch.load(two / "final.pt", weights_only=True)
    assert b["provenance"]["params"]["world_size"] == 2
    worst = 0.0
    for key, value in a["state_dict"].items():
        if value.is_floating_point():
            worst = max(worst, float((value - b["state_dict"][key]).abs().max()))
            torch.testing.assert_close(b["state_dict"][key], value, rtol=1e-5, atol=1e-6)
    print(f"max |w_ddp - w_single| = {worst:.2e}")
    # the epoch's summed loss over both ranks equals the single process's (float tolerance)
    la = a["provenance"]["history"][0]["loss"]
    lb = b["provenance"]["history"][0]["loss"]
    assert abs(la - lb) < 1e-4 * abs(la)
