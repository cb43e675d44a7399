"""Parameter tables against docs/benchmarks.md section 2.7 (make_imagenet_c.py) and spot values
of make_tinyimagenet_c.py; plus the size rule and a few operator building blocks."""

from __future__ import annotations

import numpy as np
import pytest

import shiftlab.corrupt as corrupt
from shiftlab.corrupt.ops.filters import gaussian
from shiftlab.corrupt.ops.geometry import clipped_zoom
from shiftlab.corrupt.ops.plasma import plasma_fractal
from shiftlab.corrupt.seeding import make_rng

IMAGENET = corrupt.PARAM_SETS["imagenet"].table
TINY = corrupt.PARAM_SETS["tiny"].table

# docs/benchmarks.md §2.7, severity 1 -> 5
PUBLISHED = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
    "shot_noise": (60, 25, 12, 5, 3),
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
    "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),
    "gaussian_blur": (1, 2, 3, 4, 6),
    "glass_blur": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
    "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
    "fog": ((1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    "saturate": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
    "jpeg_compression": (25, 18, 15, 10, 7),
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),
}


def test_tables_cover_every_corruption():
    assert set(IMAGENET) == set(corrupt.names()) == set(TINY)
    assert all(len(v) == 5 for v in (*IMAGENET.values(), *TINY.values()))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_imagenet_parameters_match_benchmarks_md(name):
    assert IMAGENET[name] == PUBLISHED[name]


def test_zoom_factors_match_published_ranges():
    # docs/benchmarks.md: arange(1,1.11,.01) ... arange(1,1.31,.03)
    counts = [len(np.arange(*IMAGENET["zoom_blur"][s])) for s in range(5)]
    assert counts == [12, 16, 11, 13, 11]  # float steps: the first range includes 1.11
    assert np.isclose(np.arange(*IMAGENET["zoom_blur"][4])[-1], 1.30)


def test_tiny_spot_values():
    # make_tinyimagenet_c.py
    assert TINY["gaussian_noise"] == (0.04, 0.08, 0.12, 0.15, 0.18)
    assert TINY["jpeg_compression"] == (65, 58, 50, 40, 25)
    assert TINY["saturate"][4] == (30, 0.2)
    assert TINY["motion_blur"][4] == (12, 3)
    assert corrupt.PARAM_SETS["tiny"].frost_texture_scale == 0.3


def test_tiny_set_is_milder_on_64px(photo):
    small = np.asarray(
        __import__("PIL.Image", fromlist=["Image"]).fromarray(photo).resize((64, 64))
    )
    for name in ("gaussian_noise", "gaussian_blur", "motion_blur"):
        tiny = corrupt.apply(small, name, 5, 0, params="tiny")
        big = corrupt.apply(small, name, 5, 0, params="imagenet")
        assert np.abs(tiny.astype(int) - small).mean() < np.abs(big.astype(int) - small).mean()
        assert np.array_equal(tiny, corrupt.apply(small, name, 5, 0, params="auto"))


def test_gaussian_matches_scipy():
    from scipy.ndimage import gaussian_filter

    field = make_rng(0).random((50, 60)).astype(np.float32)
    for sigma, mode in ((1.5, "nearest"), (3, "reflect"), (40, "reflect")):
        ours = gaussian(field, sigma, mode=mode, truncate=3)
        theirs = gaussian_filter(field.astype(np.float64), sigma, mode=mode, truncate=3)
        assert np.abs(ours - theirs).max() < 1e-5


def test_clipped_zoom_matches_scipy_zoom():
    from scipy.ndimage import zoom

    img = make_rng(1).random((224, 224, 3)).astype(np.float32)
    for factor in (1.01, 1.13, 1.3, 4.5):
        ch = int(np.ceil(224 / factor))
        top = (224 - ch) // 2
        big = zoom(img[top : top + ch, top : top + ch], (factor, factor, 1), order=1)
        trim = (big.shape[0] - 224) // 2
        expected = big[trim : trim + 224, trim : trim + 224]
        assert np.abs(clipped_zoom(img, factor) - expected).max() < 0.04  # 1/32-px grid


def test_plasma_fractal_range_and_determinism():
    a = plasma_fractal(256, 2.0, make_rng(3))
    b = plasma_fractal(256, 2.0, make_rng(3))
    assert a.shape == (256, 256) and a.min() == 0 and a.max() == 1
    assert np.array_equal(a, b)
    with pytest.raises(ValueError):
        plasma_fractal(200, 2.0, make_rng(3))
