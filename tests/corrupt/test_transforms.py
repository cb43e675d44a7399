"""Sensitivity transforms and shift probes against hand-computed or independent references."""

from __future__ import annotations

import numpy as np
import pytest

from shiftlab.corrupt import transforms as T
from shiftlab.corrupt.image_geometry import affine
from shiftlab.corrupt.transform_ops import equalize_channel
from shiftlab.errors import UserError


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """64 x 64 natural photo with no pure-black pixels (so embeddings are measurable)."""
    from PIL import Image
    from skimage import data

    img = np.asarray(Image.fromarray(data.astronaut()).resize((64, 64), Image.BILINEAR))
    return np.maximum(img, 1).copy()


def test_flips_equal_numpy(photo):
    assert np.array_equal(T.apply_transform(photo, "hflip", 0), np.flip(photo, axis=1))
    assert np.array_equal(T.apply_transform(photo, "vflip", 0), np.flip(photo, axis=0))


def test_translate_moves_by_rounded_fraction(photo):
    out = T.apply_transform(photo, "translate", 0, {"translate": {"dx": 0.1, "dy": -0.05}})
    dx, dy = round(0.1 * 64), round(-0.05 * 64)  # 6 right, 3 up
    assert np.array_equal(out[: 64 + dy, dx:], photo[-dy:, : 64 - dx])
    assert not out[:, :dx].any() and not out[64 + dy :].any()


def test_histeq_matches_opencv_and_hand_computed(photo):
    import cv2

    out = T.apply_transform(photo, "histeq", 0)
    reference = np.stack(
        [cv2.equalizeHist(np.ascontiguousarray(photo[..., c])) for c in range(3)], -1
    )
    assert np.array_equal(out, reference)
    # levels 10, 10, 20, 30: lowest -> 0, then round(255 * (cdf - 2) / (4 - 2))
    channel = np.array([[10, 10], [20, 30]], np.uint8)
    assert equalize_channel(channel).tolist() == [[0, 0], [128, 255]]
    assert equalize_channel(np.full((3, 3), 7, np.uint8)).tolist() == [[7] * 3] * 3  # one level


def test_brightness_matches_pil_enhance(photo):
    from PIL import Image, ImageEnhance

    out = T.apply_transform(photo, "brightness", 0, {"brightness": {"factor": 1.5}})
    reference = np.asarray(ImageEnhance.Brightness(Image.fromarray(photo)).enhance(1.5))
    assert np.abs(out.astype(int) - reference).max() <= 1


def test_affine_matches_torchvision():
    import torchvision.transforms.functional as F
    from PIL import Image
    from torchvision.transforms import InterpolationMode

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    for angle, translate, scale, shear in [
        (7, (0, 0), 1.0, 0),
        (-15, (3, -2), 1.0, 0),
        (0, (0, 0), 0.4, 0),
        (0, (0, 0), 1.0, 10),
        (20, (1, 1), 1.1, 5),
    ]:
        ref = F.affine(
            Image.fromarray(image),
            angle=angle,
            translate=list(translate),
            scale=scale,
            shear=[shear, 0.0],
            interpolation=InterpolationMode.BILINEAR,
        )
        ours = affine(image, angle=angle, translate=translate, scale=scale, shear=shear)
        assert np.array_equal(ours, np.asarray(ref))


def test_rotation_is_counter_clockwise(photo):
    square = np.zeros((64, 64, 3), np.uint8)
    square[4:12, 28:36] = 255  # a block above the centre
    out = T.apply_transform(square, "rotation", 0, {"rotation": {"degrees": 90}})
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert xs.mean() < 32 and abs(ys.mean() - 32) < 2  # moved to the left of the centre


def test_zoom_and_combination(photo):
    from PIL import Image

    zoomed = T.apply_transform(photo, "zoom", 0, {"zoom": {"factor": 2.0}})
    reference = np.asarray(Image.fromarray(photo[16:48, 16:48]).resize((64, 64), Image.BILINEAR))
    assert np.array_equal(zoomed, reference)
    combo = T.apply_transform(
        photo,
        "histeq_zoom_brightness",
        0,
        {"histeq_zoom_brightness": {"zoom": 2.0, "brightness": 1.5}},
    )
    step = T.apply_transform(photo, "histeq", 0)
    step = T.apply_transform(step, "zoom", 0, {"zoom": {"factor": 2.0}})
    step = T.apply_transform(step, "brightness", 0, {"brightness": {"factor": 1.5}})
    assert np.array_equal(combo, step)


def test_perspective_is_seeded(photo):
    a = T.apply_transform(photo, "perspective", 11)
    assert np.array_equal(a, T.apply_transform(photo, "perspective", 11))
    assert not np.array_equal(a, T.apply_transform(photo, "perspective", 12))
    identity = T.apply_transform(photo, "perspective", 11, {"perspective": {"distortion": 0.0}})
    assert np.array_equal(identity, photo)


@pytest.mark.parametrize("axis", ["x", "y"])
def test_crop_shift_moves_content_by_k_pixels(photo, axis):
    config = {"crop_shift": {"max_shift": 4, "axis": axis}}
    base = T.apply_transform(photo, "crop_shift_0", 0, config)
    assert base.shape == (60, 60, 3)
    for k in range(1, 5):
        out = T.apply_transform(photo, f"crop_shift_{k}", 0, config)
        if axis == "x":
            assert np.array_equal(out[:, :-k], base[:, k:])
        else:
            assert np.array_equal(out[:-k], base[k:])


def test_embed_black_shifts_a_fixed_embedding(photo):
    config = {"embed_black": {"max_shift": 4, "fraction": 0.5, "axis": "x"}}
    base = T.apply_transform(photo, "embed_black_0", 0, config)
    assert base.shape == photo.shape
    rows, cols = np.nonzero(base.any(axis=2))
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (32, 32)
    for k in range(1, 5):
        out = T.apply_transform(photo, f"embed_black_{k}", 0, config)
        assert np.array_equal(out[:, k:], base[:, :-k])
        assert not out[:, :k].any()


@pytest.mark.parametrize("method", ["telea", "ns", "edge"])
def test_embed_inpaint_keeps_image_and_fills_background(photo, method):
    config = {
        "embed_inpaint": {"max_shift": 2, "fraction": 0.5, "axis": "x", "method": method},
        "embed_black": {"max_shift": 2, "fraction": 0.5, "axis": "x"},
    }
    black = T.apply_transform(photo, "embed_black_1", 0, config)
    filled = T.apply_transform(photo, "embed_inpaint_1", 0, config)
    inside = black.any(axis=2)
    assert np.array_equal(filled[inside], black[inside])
    assert filled[~inside].min(axis=1).mean() > 0  # background no longer black
    if method == "edge":
        rows, cols = np.nonzero(inside)
        inner = black[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        pads = ((rows.min(), 63 - rows.max()), (cols.min(), 63 - cols.max()), (0, 0))
        assert np.array_equal(filled, np.pad(inner, pads, mode="edge"))


def test_scale_embed_grows_one_pixel_per_step(photo):
    config = {"scale_embed": {"max_shift": 3, "fraction": 0.5}}
    sizes = []
    for k in range(4):
        out = T.apply_transform(photo, f"scale_embed_{k}", 0, config)
        rows, cols = np.nonzero(out.any(axis=2))
        sizes.append((rows.max() - rows.min() + 1, cols.max() - cols.min() + 1))
    assert sizes == [(32 + k, 32 + k) for k in range(4)]


def test_variants_and_config_errors():
    assert T.transform_variants(["hflip", "crop_shift"])[:2] == ["hflip", "crop_shift_0"]
    assert len(T.transform_variants({"embed_black": {"max_shift": 3}})) == 4
    assert T.parse_variant("embed_inpaint_12") == ("embed_inpaint", 12)
    assert set(T.list_transforms(probes=False)) == {
        "rotation",
        "brightness",
        "histeq",
        "hflip",
        "vflip",
        "translate",
        "zoom",
        "perspective",
        "histeq_zoom_brightness",
    }
    with pytest.raises(UserError, match="valid names: rotation"):
        T.transform_variants({"sharpen": {}})
    with pytest.raises(UserError, match="transforms.rotation: unknown parameter"):
        T.transform_variants({"rotation": {"angle": 3}})
    with pytest.raises(UserError, match="unknown transform variant"):
        T.parse_variant("hflip_2")
    with pytest.raises(UserError, match="0..2"):
        T.apply_transform(
            np.zeros((64, 64, 3), np.uint8), "crop_shift_3", 0, {"crop_shift": {"max_shift": 2}}
        )
