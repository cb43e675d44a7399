"""The training input pipeline is sized by the job, and a batch job's log shows progress."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from train_helpers import cli, cli_env

from shiftlab.train.feed import EpochBatches, loader_options


def test_loader_options_follow_the_jobs_cpus_and_device():
    gpu = loader_options(None, 8, "cuda")
    assert gpu == {"num_workers": 7, "pin_memory": True, "persistent_workers": True,
                   "prefetch_factor": 4}  # fmt: skip
    assert loader_options(None, 8, "cpu") == {"num_workers": 4, "pin_memory": False}
    assert loader_options(None, 2, "cpu") == {"num_workers": 0, "pin_memory": False}
    assert loader_options(None, 1, "cuda:0") == {"num_workers": 0, "pin_memory": True}
    assert loader_options(3, 8, "cpu")["num_workers"] == 3  # the recipe's own value wins


def test_epoch_batches_swap_under_one_loader():
    from torch.utils.data import DataLoader

    batches = EpochBatches()
    loader = DataLoader(list(range(10)), batch_sampler=batches)
    batches.current = [[0, 1], [2]]
    assert [b.tolist() for b in loader] == [[0, 1], [2]]
    batches.current = [[9]]
    assert [b.tolist() for b in loader] == [[9]]


def test_progress_lines_with_images_per_s_from_job_sized_workers(world, tmp_path: Path):
    index, labels = world  # 32 images
    recipe = {"base": "baseline", "epochs": 1, "batch_size": 4, "lr": 0.05, "image_size": 32}
    args = cli(
        "train", "--run", "t", "--model-json", json.dumps({"model": "resnet10t"}),
        "--recipe-json", json.dumps(recipe), "--train-index", str(index),
        "--label-space", str(labels), "--seed", "5", "--out", str(tmp_path / "final.pt"),
        "--state-dir", str(tmp_path / "state"), "--history", str(tmp_path / "history.csv"),
        "--log-every", "2", "--threads", "4", "--device", "cpu",
    )  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # 4 threads on the CPU: half decode in workers, the model keeps the other two.
    assert "training loader: 2 workers, pin_memory=False" in proc.stderr
    assert "model threads 2" in proc.stderr
    lines = re.findall(r"step (\d+)/8 global step \d+ .* ([\d.]+) images/s", proc.stderr)
    assert [int(s) for s, _ in lines] == [2, 4, 6, 8]  # 32 images / batch 4, every 2nd step
    assert all(float(rate) > 0 for _, rate in lines)
    assert "\r" not in proc.stderr  # not a terminal: no progress bar in the log
