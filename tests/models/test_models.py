"""Model factory, head slicing, data configs and the checkpoint contract (real torch/timm)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from shiftlab.errors import UserError
from shiftlab.labels import MININET_WNIDS, imagenet1k_index, imagenet1k_wnids
from shiftlab.models import (
    create_model,
    data_config,
    eval_transform,
    head_keys,
    list_models,
    load_checkpoint,
    model_meta,
    num_outputs,
    read_checkpoint,
    resolve_name,
    safe_name,
    save_checkpoint,
)

torch.set_num_threads(1)


def test_resolve_names() -> None:
    assert resolve_name("resnet18").source == "timm"
    assert resolve_name("resnet50.a1_in1k").tag == "a1_in1k"
    assert resolve_name("alexnet").source == "torchvision"  # timm has no alexnet
    spec = resolve_name("tv:resnet50.IMAGENET1K_V2")
    assert (spec.source, spec.arch, spec.tag) == ("torchvision", "resnet50", "IMAGENET1K_V2")
    assert resolve_name("resnet18", source="torchvision").name == "tv:resnet18"
    assert safe_name("tv:resnet50.IMAGENET1K_V2") == "tv_resnet50.IMAGENET1K_V2"
    assert "tv:squeezenet1_1" in list_models("tv:squeeze*")
    assert "resnet10t" in list_models("resnet1*")


def test_unknown_model_lists_close_matches() -> None:
    with pytest.raises(UserError, match=r"unknown model 'efficentnet_b0'.*efficientnet_b0"):
        resolve_name("efficentnet_b0")
    with pytest.raises(UserError, match=r"tv:resnet18"):
        create_model("tv:resnet19", 3)
    with pytest.raises(UserError, match="allowed: timm, torchvision"):
        resolve_name("resnet18", source="keras")


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("resnet10t", "fc"),
        ("test_convnext", "head.fc"),
        ("tv:squeezenet1_1", "classifier.1"),
        ("tv:mobilenet_v2", "classifier.1"),
    ],
)
def test_create_model_heads(name: str, head: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, 4)
    assert head_keys(model) == [head]
    assert num_outputs(model) == 4
    out = model.eval()(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 4)


def test_random_init_is_seeded() -> None:
    a = (torch.manual_seed(3), create_model("resnet10t", 3))[1]
    b = (torch.manual_seed(3), create_model("resnet10t", 3))[1]
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), k


def test_data_config_from_model() -> None:
    cfg = data_config("tv:efficientnet_b1")
    assert cfg["input_size"] == [3, 240, 240] and cfg["interpolation"] == "bilinear"
    assert abs(cfg["crop_pct"] - 240 / 255) < 1e-9
    cfg = data_config("resnet50.a1_in1k", image_size=64)
    assert cfg["input_size"] == [3, 64, 64] and cfg["interpolation"] == "bicubic"
    assert cfg["crop_pct"] == 0.95
    from PIL import Image

    x = eval_transform(cfg)(Image.new("RGB", (80, 100)))
    assert x.shape == (3, 64, 64)


def _fake_imagenet_weights(path: Path, name: str = "resnet10t") -> dict[str, torch.Tensor]:
    torch.manual_seed(11)
    state = create_model(name, 1000).state_dict()
    torch.save(state, path)
    return state


def test_local_weights_slice_head_rows(tmp_path: Path) -> None:
    state = _fake_imagenet_weights(tmp_path / "w.pth")
    wnids = sorted(MININET_WNIDS)
    model = create_model("resnet10t", len(wnids), str(tmp_path / "w.pth"), wnids=wnids)
    rows = [imagenet1k_index(w) for w in wnids]
    assert torch.equal(model.fc.weight, state["fc.weight"][rows])
    assert torch.equal(model.fc.bias, state["fc.bias"][rows])
    assert torch.equal(model.conv1[0].weight, state["conv1.0.weight"])


def test_imagenet_weights_from_prefilled_torch_cache(tmp_path: Path, monkeypatch) -> None:
    """`pretrained="imagenet"` reads TORCH_HOME's hub cache without the network."""
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url = torchvision.models.get_model_weights("squeezenet1_1").DEFAULT.url
    ckdir = tmp_path / "hub" / "checkpoints"
    ckdir.mkdir(parents=True)
    torch.manual_seed(5)
    state = torchvision.models.squeezenet1_1().state_dict()
    torch.save(state, ckdir / os.path.basename(url))
    # torchvision verifies the file's hash prefix only on download, so a stand-in loads
    wnids = list(imagenet1k_wnids()[5:8])
    model = create_model("tv:squeezenet1_1", 3, "imagenet", wnids=wnids)
    assert torch.equal(model.classifier[1].weight, state["classifier.1.weight"][5:8])
    model = create_model("tv:squeezenet1_1", 7, "imagenet")  # not a subset: fresh head
    assert num_outputs(model) == 7


def test_missing_cache_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(UserError, match="not in the local cache"):
        create_model("tv:resnet18", 10, "imagenet")


def test_checkpoint_roundtrip_and_corruption(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("tv:squeezenet1_1", 3)
    meta = model_meta(model, ["a", "b", "c"], None, data_config(model, 64))
    path = tmp_path / "final.pt"
    save_checkpoint(path, model, meta, {"rule": "test"})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "shiftlab-checkpoint/1" and raw["model"]["source"] == "torchvision"
    loaded, got = load_checkpoint(path)
    assert not loaded.training and got["wnids"] == ["a", "b", "c"]
    assert got["provenance"] == {"rule": "test"} and got["data_config"]["input_size"] == [3, 64, 64]
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(loaded(x), model.eval()(x))

    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(tmp_path / "trunc.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="corrupt"):
        read_checkpoint(tmp_path / "junk.pt")
    torch.save({"x": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="not a shiftlab-checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_import_is_light() -> None:
    """The CLI imports shiftlab.models at parse time; that must not pull in torch."""
    code = "import sys, shiftlab.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_init_model_cli_slices_and_seeds(tmp_path: Path) -> None:
    from shiftlab.cli import main

    state = _fake_imagenet_weights(tmp_path / "w.pth")
    entry = {"model": "resnet10t", "weights": str(tmp_path / "w.pth"), "image_size": 64}
    args = [
        "init-model",
        "--run",
        "r",
        "--model-json",
        json.dumps(entry),
        "--label-space",
        "mininet",
    ]
    assert main([*args, "--out", str(tmp_path / "a.pt")]) == 0
    model, meta = load_checkpoint(tmp_path / "a.pt")
    rows = [imagenet1k_index(w) for w in meta["wnids"]]
    assert meta["wnids"] == sorted(MININET_WNIDS) and meta["pretrained"] == entry["weights"]
    assert torch.equal(model.fc.weight, state["fc.weight"][rows])
    assert meta["data_config"]["input_size"] == [3, 64, 64]
    assert meta["provenance"]["inputs"]["weights"]["sha256"]

    rand = [
        "init-model",
        "--run",
        "r",
        "--model-json",
        '{"model": "tv:squeezenet1_1"}',
        "--label-space",
        "mininet",
        "--seed",
        "4",
    ]
    assert main([*rand, "--out", str(tmp_path / "b.pt")]) == 0
    assert main([*rand, "--out", str(tmp_path / "c.pt")]) == 0
    b, c = (torch.load(tmp_path / n, weights_only=True)["state_dict"] for n in ("b.pt", "c.pt"))
    assert all(torch.equal(b[k], c[k]) for k in b)
    assert (
        main(
            [
                "init-model",
                "--run",
                "r",
                "--model-json",
                '{"model": "resnet181"}',
                "--label-space",
                "mininet",
                "--out",
                str(tmp_path / "d.pt"),
            ]
        )
        == 2
    )
