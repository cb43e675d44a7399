"""Recipes: registry and validation, augmentations, and every recipe's loss falls."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shiftlab.errors import UserError
from shiftlab.train.augment import TrainTransform, augmix, patch_gaussian
from shiftlab.train.build import lr_factor
from shiftlab.train.data import MicroBatches
from shiftlab.train.loop import FitConfig, fit
from shiftlab.train.recipes import create_recipe, list_recipes
from shiftlab.train.state import rng_states, set_rng_states

torch.set_num_threads(1)

RECIPES = ["baseline", "imagenet", "corruption_aug", "augmix", "patch_gaussian", "stability"]


def test_registry_and_validation() -> None:
    assert list_recipes() == sorted(RECIPES)
    assert list_recipes("*aug*") == ["augmix", "corruption_aug"]
    r = create_recipe({"base": "imagenet"})
    assert (r["epochs"], r["milestones"], r["augment"]) == (90, [30, 60], "rrc_flip")
    b = create_recipe("baseline")
    assert (b["lr"], b["momentum"], b["epochs"], b["rotation"]) == (0.001, 0.9, 10, 15.0)
    assert create_recipe({"base": "augmix", "lr": 1}).settings["lr"] == 1.0
    with pytest.raises(UserError, match=r"unknown setting 'jsd_weight'.*allowed: .*lr"):
        create_recipe({"base": "baseline", "jsd_weight": 1.0})
    with pytest.raises(UserError, match="unknown recipe 'augmax'"):
        create_recipe({"base": "augmax"})
    with pytest.raises(UserError, match="schedule='linear'; allowed: constant, cosine, step"):
        create_recipe({"base": "baseline", "schedule": "linear"})
    with pytest.raises(UserError, match="epochs must be int"):
        create_recipe({"base": "baseline", "epochs": "ten"})


def test_lr_schedules() -> None:
    s = create_recipe(
        {"base": "baseline", "epochs": 4, "schedule": "cosine", "warmup_epochs": 1}
    ).settings
    f = [lr_factor(i, 10, s) for i in range(40)]
    assert f[0] == pytest.approx(0.1) and f[9] == 1.0 and f[10] == 1.0
    assert f[-1] < 0.01 and all(a >= b for a, b in zip(f[10:], f[11:], strict=False))
    s = create_recipe({"base": "imagenet"}).settings
    assert [lr_factor(e * 5, 5, s) for e in (29, 30, 59, 60)] == pytest.approx([1, 0.1, 0.1, 0.01])


def test_data_order_shards_the_global_batch() -> None:
    one = [i for b in MicroBatches(20, 3, 1, 8, 1, 1, 0) for i, _ in b]
    two = [MicroBatches(20, 3, 1, 8, 2, 2, r) for r in (0, 1)]
    assert len(one) == 16  # 2 full global batches; the last 4 samples are dropped
    sharded = [list(b) for b in zip(*[list(s) for s in two], strict=True)]
    assert sorted(i for bs in sharded for b in bs for i, _ in b) == sorted(one)
    resumed = [i for b in MicroBatches(20, 3, 1, 8, 1, 1, 0, start=1) for i, _ in b]
    assert resumed == one[8:]


def test_rng_state_roundtrip() -> None:
    state = rng_states()
    a = (random.random(), np.random.rand(), torch.rand(3))
    set_rng_states(state)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[:2] == b[:2] and torch.equal(a[2], b[2])


def test_augmentations_are_seeded_and_bounded() -> None:
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8))
    a = augmix(img, np.random.default_rng(1))
    assert np.array_equal(a, augmix(img, np.random.default_rng(1)))
    assert a.shape == (32, 32, 3) and 0 <= a.min() and a.max() <= 1
    x = np.full((32, 32, 3), 0.5, np.float32)
    y = patch_gaussian(x, np.random.default_rng(2), patch_frac=0.25, sigma_max=1.0)
    changed = np.argwhere((y != x).any(-1))
    assert 0 < len(changed) <= 8 * 8 and y.min() >= 0 and y.max() <= 1
    cfg = {"input_size": [3, 48, 48], "mean": [0.5] * 3, "std": [0.25] * 3}
    views = TrainTransform(create_recipe("augmix"), cfg)(img, np.random.default_rng(0))
    assert len(views) == 3 and views[0].shape == (3, 48, 48)
    assert len(TrainTransform(create_recipe("stability"), cfg)(img, np.random.default_rng(0))) == 2


def run_fit(
    world: tuple[Path, Path], tmp: Path, recipe: dict, model: str = "resnet10t", **kw
) -> tuple[list[dict], Path]:
    index, labels = world
    cfg = FitConfig(
        run="t",
        model={"model": model},
        recipe=create_recipe(recipe),
        train_index=index,
        label_space=str(labels),
        seed=0,
        out=tmp / "final.pt",
        state_dir=tmp / "state",
        history=tmp / "history.csv",
        device="cpu",
        progress=False,
        **kw,
    )
    assert fit(cfg) == 0
    with open(tmp / "history.csv") as handle:
        return [
            {k: float(v) if v else None for k, v in r.items()} for r in csv.DictReader(handle)
        ], cfg.out


@pytest.mark.slow
@pytest.mark.parametrize("name", RECIPES)
def test_each_recipe_loss_falls(name: str, world: tuple[Path, Path], tmp_path: Path) -> None:
    if name == "corruption_aug":
        pytest.importorskip("shiftlab.corrupt")
    recipe = {
        "base": name,
        "epochs": 4,
        "batch_size": 8,
        "image_size": 32,
        "lr": 0.02,
        "checkpoint_every": 0,
        "milestones": [],
        "weight_decay": 0.0,
    }
    if name == "corruption_aug":
        recipe |= {
            "severities": [1, 2],
            "corruptions": ["gaussian_noise", "brightness", "contrast"],
        }
    if name == "augmix":
        # the JSD term grows while the model first becomes confident; a weight of 12 needs
        # far more than 16 steps before the total falls
        recipe |= {"jsd_weight": 1.0}
    history, out = run_fit(world, tmp_path, recipe, val_index=world[0])
    assert len(history) == 4
    assert min(r["loss"] for r in history[1:]) < history[0]["loss"], history
    assert history[-1]["acc"] > 0.5  # chance is 0.25
    assert history[-1]["val_acc"] is not None and history[0]["images_per_s"] > 0
    assert not (tmp_path / "state" / "state.pt").exists()  # done: resume state removed
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["model"]["data_config"]["input_size"] == [3, 32, 32]
    assert ckpt["provenance"]["params"]["recipe"] == name


def test_corruption_aug_holds_out_the_test_corruptions_by_default() -> None:
    from shiftlab.metrics.corruption import TEST_CORRUPTIONS, VALIDATION_CORRUPTIONS
    from shiftlab.train.augment import corruption_names

    recipe = create_recipe({"base": "corruption_aug"})
    trained = corruption_names(list(recipe["corruptions"]))
    assert sorted(trained) == sorted(VALIDATION_CORRUPTIONS)
    assert not set(trained) & set(TEST_CORRUPTIONS)
