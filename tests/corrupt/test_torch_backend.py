"""The batched torch operators (the GPU path of ``apply_batch``) against the numpy ones.

Both consume each image's random stream identically, so on the CPU the torch backend must
reproduce ``apply`` to floating-point rounding: >= 40 dB PSNR for every ported corruption
and severity, at 224 px ("imagenet") and 64 px ("tiny"). The shared filters are checked
against their numpy/OpenCV counterparts directly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import _photo, psnr

import shiftlab.corrupt as corrupt
from shiftlab.corrupt.ops import filters as np_filters
from shiftlab.corrupt.ops.geometry import clipped_zoom as np_clipped_zoom
from shiftlab.corrupt.torch_ops import filters, torch_op_names
from shiftlab.errors import UserError

PORTED = torch_op_names()
SEEDS = [11, 2024]


@pytest.fixture(scope="module")
def batches() -> dict[str, tuple[np.ndarray, str]]:
    return {
        "imagenet": np.stack([_photo("astronaut"), _photo("coffee")]),
        "tiny": np.stack([_photo("chelsea", 64), _photo("coffee", 64)]),
    }


def test_most_corruptions_have_a_torch_operator():
    assert set(PORTED) <= set(corrupt.names())
    assert len(PORTED) >= 1


@pytest.mark.parametrize("name", PORTED)
@pytest.mark.parametrize("pset", ["imagenet", "tiny"])
def test_torch_backend_matches_numpy(name, pset, batches):
    images = batches[pset]
    for severity in corrupt.SEVERITIES:
        out = corrupt.apply_batch(
            torch.from_numpy(images), name, severity, SEEDS, params=pset, backend="torch"
        ).numpy()
        for i, seed in enumerate(SEEDS):
            expected = corrupt.apply(images[i], name, severity, seed, params=pset)
            assert out[i].shape == expected.shape
            assert psnr(out[i], expected) >= 40, (severity, i, psnr(out[i], expected))


@pytest.mark.parametrize("name", PORTED[:3])
def test_torch_backend_keeps_the_layout_and_is_deterministic(name, batches):
    images = torch.from_numpy(batches["imagenet"])
    nhwc = corrupt.apply_batch(images, name, 3, SEEDS, backend="torch")
    nchw = corrupt.apply_batch(images.permute(0, 3, 1, 2), name, 3, SEEDS, backend="torch")
    assert nhwc.dtype == torch.uint8 and nhwc.shape == images.shape
    assert torch.equal(nchw.permute(0, 2, 3, 1), nhwc)
    again = corrupt.apply_batch(images, name, 3, SEEDS, backend="torch")
    assert torch.equal(again, nhwc)
    # a row does not depend on its neighbours
    single = corrupt.apply_batch(images[1:], name, 3, SEEDS[1:], backend="torch")
    assert torch.equal(single[0], nhwc[1])


def test_unknown_backend_names_the_choices(batches):
    with pytest.raises(UserError) as err:
        corrupt.apply_batch(torch.from_numpy(batches["tiny"]), "fog", 1, SEEDS, backend="cuda")
    assert "auto, numpy, torch" in str(err.value)


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror"])
@pytest.mark.parametrize("n,pad", [(7, 3), (5, 9), (224, 24)])
def test_border_index_follows_numpy_pad(mode, n, pad):
    numpy_mode = {"nearest": "edge", "reflect": "symmetric", "mirror": "reflect"}[mode]
    expected = np.pad(np.arange(n), pad, mode=numpy_mode)
    assert np.array_equal(filters.border_index(n, pad, mode), expected)


@pytest.mark.parametrize("sigma,mode", [(1, "nearest"), (6, "nearest"), (2.5, "reflect")])
def test_gaussian_matches_the_numpy_filter(sigma, mode, batches):
    x = batches["imagenet"][0].astype(np.float32) / 255
    expected = np_filters.gaussian(x, sigma, mode=mode)
    got = filters.gaussian(torch.from_numpy(x).permute(2, 0, 1)[None], sigma, mode=mode)
    assert np.abs(got[0].permute(1, 2, 0).numpy() - expected).max() < 1e-5


def test_wide_gaussian_uses_scipys_matrix(batches):
    x = batches["tiny"][0].astype(np.float32) / 255
    expected = np_filters.gaussian(x, 40.0, mode="reflect", truncate=3)
    got = filters.gaussian(torch.from_numpy(x).permute(2, 0, 1)[None], 40.0, "reflect", 3)
    assert np.abs(got[0].permute(1, 2, 0).numpy() - expected).max() < 1e-5


@pytest.mark.parametrize("zoom", [1.06, 1.3, 2.0, 4.5])
def test_clipped_zoom_matches_opencv(zoom, batches):
    x = batches["imagenet"][1].astype(np.float32) / 255
    expected = np_clipped_zoom(x, zoom)
    got = filters.clipped_zoom(torch.from_numpy(x).permute(2, 0, 1)[None], zoom)
    # OpenCV interpolates on a 1/32-pixel grid: well under one grey level apart
    assert np.abs(got[0].permute(1, 2, 0).numpy() - expected).max() < 0.5 / 255


def test_motion_blur_matches_the_numpy_taps(batches):
    x = batches["imagenet"].astype(np.float32)
    angles = [-30.0, 41.5]
    got = filters.motion_blur(torch.from_numpy(x).permute(0, 3, 1, 2), 15, 8, angles)
    for i, angle in enumerate(angles):
        expected = np_filters.motion_blur(x[i], 15, 8, angle)
        assert np.abs(got[i].permute(1, 2, 0).numpy() - expected).max() < 1e-3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", PORTED)
def test_cuda_batch_matches_cpu(name, batches):
    images = torch.from_numpy(batches["imagenet"])
    cpu = corrupt.apply_batch(images, name, 3, SEEDS, backend="torch")
    gpu = corrupt.apply_batch(images.cuda(), name, 3, SEEDS).cpu()
    for i in range(len(SEEDS)):
        assert psnr(gpu[i].numpy(), cpu[i].numpy()) >= 40
