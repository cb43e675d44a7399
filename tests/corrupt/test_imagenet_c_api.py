"""The public API: names, validation errors, seeding and batch == per-image determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import shiftlab.corrupt as corrupt
from shiftlab.errors import UserError

ALL = corrupt.names()


def test_canonical_names_and_splits():
    assert len(ALL) == 19
    assert ALL[:15] == [
        "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
        "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
        "elastic_transform", "pixelate", "jpeg_compression",
    ]  # fmt: skip
    assert corrupt.names("validation") == ["speckle_noise", "gaussian_blur", "spatter", "saturate"]
    assert corrupt.names("test") == ALL[:15]
    assert corrupt.corruption_split("spatter") == "validation"
    assert corrupt.corruption_split("fog") == "test"
    assert corrupt.list_corruptions("*noise*") == [
        "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise",
    ]  # fmt: skip
    with pytest.raises(UserError, match="allowed: test, validation"):
        corrupt.names("train")


def test_bad_inputs_give_clear_errors(photo):
    with pytest.raises(UserError, match="valid names: gaussian_noise, shot_noise"):
        corrupt.apply(photo, "gaussian_noize", 1, 0)
    for severity in (0, 6, 2.5, True):
        with pytest.raises(UserError, match="severity"):
            corrupt.apply(photo, "fog", severity, 0)
    with pytest.raises(UserError, match="too small.*32x32"):
        corrupt.apply(photo[:31, :40], "fog", 1, 0)
    with pytest.raises(UserError, match="HxWx3"):
        corrupt.apply(photo[..., 0], "fog", 1, 0)
    with pytest.raises(UserError, match="HxWx3"):
        corrupt.apply(np.dstack([photo, photo[..., :1]]), "fog", 1, 0)
    with pytest.raises(UserError, match="uint8"):
        corrupt.apply(photo.astype(np.float32), "fog", 1, 0)
    with pytest.raises(UserError, match="allowed: imagenet, tiny, auto"):
        corrupt.apply(photo, "fog", 1, 0, params="cifar")


def test_image_seed_is_stable_and_sensitive_to_every_part():
    seed = corrupt.image_seed(0, "n01440764/ILSVRC2012_val_00000293.JPEG", "fog", 3)
    # a pinned value: changing the derivation would silently change every derived dataset
    assert seed == 6247085086023654802
    assert 0 <= seed < 2**64
    variants = {
        corrupt.image_seed(1, "a.png", "fog", 3),
        corrupt.image_seed(0, "b.png", "fog", 3),
        corrupt.image_seed(0, "a.png", "snow", 3),
        corrupt.image_seed(0, "a.png", "fog", 4),
        corrupt.image_seed(0, "a.png", "fog", 3),
    }
    assert len(variants) == 5


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_bytes_and_shape(name, photo):
    image = photo[:96, :80].copy()  # small and non-square: covers odd sizes cheaply
    a = corrupt.apply(image, name, 3, 123, params="auto")
    b = corrupt.apply(image, name, 3, 123, params="auto")
    assert a.shape == image.shape and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()
    assert not np.shares_memory(a, image)
    if corrupt.get_corruption(name).stochastic:
        c = corrupt.apply(image, name, 3, 124, params="auto")
        assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("name", ["gaussian_noise", "glass_blur", "frost", "zoom_blur"])
def test_batch_equals_per_image_in_any_order(name, layout, photos):
    images = np.stack([p[:64, :64] for p in photos.values()])
    seeds = [7, 8, 9]
    expected = [
        corrupt.apply(img, name, 2, s, params="tiny") for img, s in zip(images, seeds, strict=True)
    ]
    batch = torch.from_numpy(images)
    if layout == "nchw":
        batch = batch.permute(0, 3, 1, 2).contiguous()
    out = corrupt.apply_batch(batch, name, 2, seeds, params="tiny")
    assert out.dtype == torch.uint8 and out.shape == batch.shape
    if layout == "nchw":
        out = out.permute(0, 2, 3, 1)
    for i in range(3):
        assert np.array_equal(out[i].numpy(), expected[i])
    order = [2, 0, 1]
    reordered = corrupt.apply_batch(
        torch.from_numpy(images[order]), name, 2, [seeds[i] for i in order], params="tiny"
    )
    for j, i in enumerate(order):
        assert np.array_equal(reordered[j].numpy(), expected[i])


def test_batch_rejects_mismatched_seeds(photo):
    batch = torch.from_numpy(np.stack([photo, photo]))
    with pytest.raises(UserError, match="2 images"):
        corrupt.apply_batch(batch, "fog", 1, [1])
    with pytest.raises(UserError, match="NxHxWx3"):
        corrupt.apply_batch(batch.float(), "fog", 1, [1, 2])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batch_on_cuda_matches_cpu(photos):
    images = torch.from_numpy(np.stack(list(photos.values())))
    cpu = corrupt.apply_batch(images, "shot_noise", 3, [1, 2, 3])
    gpu = corrupt.apply_batch(images.cuda(), "shot_noise", 3, [1, 2, 3])
    assert gpu.device.type == "cuda"
    assert (gpu.cpu().int() - cpu.int()).abs().max() <= 1


def test_auto_params_pick_by_size():
    from shiftlab.corrupt.params import resolve_param_set

    assert resolve_param_set("auto", 64, 64).name == "tiny"
    assert resolve_param_set("auto", 119, 500).name == "tiny"
    assert resolve_param_set("auto", 120, 120).name == "imagenet"
    assert resolve_param_set("auto", 224, 224).name == "imagenet"
    assert resolve_param_set("auto", 512, 384).name == "imagenet"


@pytest.mark.parametrize("shape", [(224, 224), (97, 301), (4200, 4100)])
def test_contrast_table_equals_the_elementwise_formula(shape, photo):
    """contrast runs as a per-channel lookup table built from histogram means; its bytes
    must equal the reference formula evaluated pixel by pixel (x = u/255 in float32,
    float64 channel means, (x - m) * c + m, clip, * 255, truncate). The largest shape
    exceeds 2**24 pixels, where the float32 histogram would no longer count exactly."""
    rng = np.random.default_rng(shape[0])
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    h, w = min(shape[0], photo.shape[0]), min(shape[1], photo.shape[1])
    image[:h, :w] = photo[:h, :w]  # natural content beside the noise
    x = image.astype(np.float32) * np.float32(1 / 255)
    means = x.mean(axis=(0, 1), dtype=np.float64, keepdims=True).astype(np.float32)
    for severity, factor in enumerate((0.4, 0.3, 0.2, 0.1, 0.05), start=1):
        expected = (
            np.clip((x - means) * np.float32(factor) + means, 0, 1) * np.float32(255)
        ).astype(np.uint8)
        assert np.array_equal(corrupt.apply(image, "contrast", severity, 0), expected)
