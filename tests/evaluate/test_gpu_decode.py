"""The GPU-decode loader for benchmarks read without resizing (ImageNet-C files): workers
read bytes, decoding happens in one batch on the device. Checked on the CPU device here
(same libjpeg as PIL, so identical pixels); on CUDA where one is present."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from shiftlab.corrupt.imageio import load_rgb
from shiftlab.errors import UserError
from shiftlab.evaluate.loaders import EncodedRows, decode_on_device


@pytest.fixture
def folder(tmp_path):
    # smooth photographs-like content (random noise would magnify decoder differences)
    yy, xx = np.mgrid[0:40, 0:48].astype(np.float32)
    for k, (name, fmt) in enumerate((("a.JPEG", "JPEG"), ("b.png", "PNG"), ("c.JPEG", "JPEG"))):
        pixels = np.stack(
            [127 + 100 * np.sin(xx / (5 + k) + c) * np.cos(yy / 7 - c) for c in range(3)], -1
        ).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / name, fmt, quality=85)
    Image.fromarray((xx * 5).astype(np.uint8), "L").save(tmp_path / "grey.JPEG", "JPEG")
    return tmp_path


def _decoded(folder, samples, device):
    data = EncodedRows(str(folder), samples)
    items = [data[i] for i in range(len(data))]
    return dict((row, img) for img, row in decode_on_device(items, folder, samples, device))


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
        ),
    ],
)
def test_decoded_pixels_equal_the_cpu_reader(folder, device):
    samples = ["a.JPEG", "b.png", "grey.JPEG", "c.JPEG"]
    out = _decoded(folder, samples, torch.device(device))
    assert sorted(out) == [0, 1, 2, 3]
    for row, name in enumerate(samples):
        expected = load_rgb(folder / name, min_side=1).pixels
        got = out[row].permute(1, 2, 0).cpu().numpy()
        assert got.shape == expected.shape == (40, 48, 3)
        if device == "cpu":  # the same libjpeg as PIL
            assert np.array_equal(got, expected), name
        else:  # nvJPEG's IDCT and chroma upsampling differ (34.8 dB measured on an H100)
            mse = np.mean((got.astype(float) - expected.astype(float)) ** 2)
            assert mse == 0 or 10 * np.log10(255**2 / mse) >= 30, (name, mse)


def test_png_is_decoded_on_the_cpu_by_the_worker(folder):
    data = EncodedRows(str(folder), ["b.png", "a.JPEG"])
    assert data[0][2] is False and data[0][0].shape == (40, 48, 3)
    assert data[1][2] is True and isinstance(data[1][0], bytes)


def test_broken_jpeg_is_named(folder):
    good = (folder / "a.JPEG").read_bytes()
    (folder / "broken.JPEG").write_bytes(good[: len(good) // 3])
    with pytest.raises(UserError, match="broken.JPEG"):
        _decoded(folder, ["a.JPEG", "broken.JPEG"], torch.device("cpu"))
