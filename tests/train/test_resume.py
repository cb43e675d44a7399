"""Preemption safety: killed and resumed runs end bit-identical to an uninterrupted run."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
from pathlib import Path

import pytest
import torch
from train_helpers import cli, cli_env

from shiftlab.errors import UserError
from shiftlab.train.loop import EXIT_PREEMPTED, FitConfig, fit
from shiftlab.train.recipes import create_recipe

torch.set_num_threads(1)

# 32 images, global batch 4 -> 8 steps/epoch, 16 in all; state every 3 steps, so kills land
# both right after a save and several steps past one (work that must be redone).
RECIPE = {
    "base": "baseline",
    "epochs": 2,
    "batch_size": 4,
    "lr": 0.05,
    "image_size": 32,
    "checkpoint_every": 3,
}
TOTAL_STEPS = 16
STEP_LINE = re.compile(r"global step (\d+)")


def train_args(world: tuple[Path, Path], d: Path, **recipe_overrides: object) -> list[str]:
    index, labels = world
    return cli(
        "train",
        "--run",
        "t",
        "--model-json",
        json.dumps({"model": "resnet10t"}),
        "--recipe-json",
        json.dumps(RECIPE | recipe_overrides),
        "--train-index",
        str(index),
        "--label-space",
        str(labels),
        "--seed",
        "5",
        "--out",
        str(d / "out" / "final.pt"),
        "--state-dir",
        str(d / "state"),
        "--history",
        str(d / "out" / "history.csv"),
        "--log-every",
        "1",
        "--no-progress",
        "--threads",
        "1",
    )


@pytest.fixture(scope="module")
def reference(world: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Uninterrupted run, in this process, with no data workers."""
    d = tmp_path_factory.mktemp("reference")
    index, labels = world
    cfg = FitConfig(
        run="t",
        model={"model": "resnet10t"},
        recipe=create_recipe(RECIPE),
        train_index=index,
        label_space=str(labels),
        seed=5,
        out=d / "final.pt",
        state_dir=d / "state",
        history=d / "history.csv",
        device="cpu",
        progress=False,
    )
    assert fit(cfg) == 0
    return torch.load(d / "final.pt", weights_only=True)


def run_until(args: list[str], step: int, sig: int) -> tuple[int, int]:
    """Start the CLI, send `sig` once it logs global step >= `step`: (exit code, step seen)."""
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=cli_env())
    seen = -1
    assert proc.stderr is not None
    for line in proc.stderr:
        m = STEP_LINE.search(line)
        if m and int(m.group(1)) >= step:
            seen = int(m.group(1))
            proc.send_signal(sig)
            break
    proc.stderr.read()
    return proc.wait(timeout=300), seen


def assert_same_weights(path: Path, reference: dict) -> None:
    got = torch.load(path, weights_only=True)
    assert got["state_dict"].keys() == reference["state_dict"].keys()
    for key, value in reference["state_dict"].items():
        assert torch.equal(got["state_dict"][key], value), f"{key} differs"
    assert (
        got["provenance"]["history"][-1]["loss"] == reference["provenance"]["history"][-1]["loss"]
    )


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_is_bit_identical(
    world: tuple[Path, Path], tmp_path: Path, reference: dict
) -> None:
    rng = random.Random(2024)
    targets = sorted(rng.sample(range(2, TOTAL_STEPS - 1), 3))
    args = train_args(world, tmp_path, num_workers=1)  # workers must not change the result
    for target in targets:
        code, seen = run_until(args, target, signal.SIGKILL)
        assert code == -signal.SIGKILL and seen >= target
        assert (tmp_path / "state" / "state.pt").exists()
        assert not (tmp_path / "out" / "final.pt").exists()
    done = subprocess.run(args, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resumed t at epoch" in done.stderr
    assert_same_weights(tmp_path / "out" / "final.pt", reference)
    ckpt = torch.load(tmp_path / "out" / "final.pt", weights_only=True)
    assert ckpt["provenance"]["resumes"] == 3
    assert not (tmp_path / "state" / "state.pt").exists()


@pytest.mark.slow
def test_sigterm_saves_state_exits_99_then_resumes(
    world: tuple[Path, Path], tmp_path: Path, reference: dict
) -> None:
    args = train_args(world, tmp_path)
    code, seen = run_until(args, 10, signal.SIGTERM)
    assert code == EXIT_PREEMPTED
    state = torch.load(tmp_path / "state" / "state.pt", weights_only=True)
    assert state["epoch"] * 8 + state["step"] >= seen  # saved at (or after) the signal step
    done = subprocess.run(args, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_weights(tmp_path / "out" / "final.pt", reference)


def test_corrupt_state_is_an_error_not_a_restart(world: tuple[Path, Path], tmp_path: Path) -> None:
    index, labels = world
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.pt").write_bytes(b"PK\x03\x04 truncated")
    cfg = FitConfig(
        run="t",
        model={"model": "resnet10t"},
        recipe=create_recipe(RECIPE),
        train_index=index,
        label_space=str(labels),
        seed=5,
        out=tmp_path / "final.pt",
        state_dir=tmp_path / "state",
        history=tmp_path / "history.csv",
        device="cpu",
        progress=False,
    )
    with pytest.raises(UserError, match="resume state .* is corrupt.*delete"):
        fit(cfg)
    assert not cfg.out.exists()


def test_cli_errors_are_one_line(world: tuple[Path, Path], tmp_path: Path) -> None:
    args = train_args(world, tmp_path, jsd_weight=3.0)
    out = subprocess.run(args, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert out.returncode == 2
    assert "unknown setting 'jsd_weight'" in out.stderr and "Traceback" not in out.stderr
