"""Input decoding: every odd mode is converted (and logged) or refused naming the file."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from shiftlab.corrupt.imageio import load_rgb
from shiftlab.errors import UserError


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    yy, xx = np.mgrid[0:48, 0:64]
    return np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.uint8)


def test_rgb_passes_through_unchanged(rgb, tmp_path, caplog):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    with caplog.at_level(logging.INFO, logger="shiftlab.corrupt.imageio"):
        decoded = load_rgb(tmp_path / "a.png")
    assert np.array_equal(decoded.pixels, rgb) and decoded.conversion == ""
    assert not caplog.records


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "1", "CMYK"])
def test_modes_convert_like_pil_and_are_logged(rgb, tmp_path, caplog, mode):
    source = Image.fromarray(rgb).convert(mode)
    suffix = "jpg" if mode == "CMYK" else ("tif" if mode == "LA" else "png")
    if mode == "RGBA":
        source.putalpha(Image.fromarray(np.full(rgb.shape[:2], 90, np.uint8)))
    path = tmp_path / f"img.{suffix}"
    source.save(path)
    with caplog.at_level(logging.INFO, logger="shiftlab.corrupt.imageio"):
        decoded = load_rgb(path)
    expected = np.asarray(Image.open(path).convert("RGB"))
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (48, 64, 3)
    assert np.array_equal(decoded.pixels, expected)
    assert decoded.conversion
    assert any(
        str(path) in r.getMessage() and "converted" in r.getMessage() for r in caplog.records
    )


def test_palette_with_transparency(rgb, tmp_path):
    img = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    img.info["transparency"] = 0
    img.save(tmp_path / "t.png", transparency=0)
    decoded = load_rgb(tmp_path / "t.png")
    assert decoded.conversion == "palette"
    assert np.array_equal(
        decoded.pixels, np.asarray(Image.open(tmp_path / "t.png").convert("RGBA").convert("RGB"))
    )


def test_16bit_greyscale_is_rescaled_not_clipped(tmp_path):
    values = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    decoded = load_rgb(tmp_path / "g16.png")
    expected = np.rint(values / 65535.0 * 255).astype(np.uint8)
    assert np.array_equal(decoded.pixels[..., 0], expected)
    assert np.array_equal(decoded.pixels[..., 0], decoded.pixels[..., 2])
    assert "16-bit" in decoded.conversion


def test_16bit_colour_png_is_reduced_and_noted(tmp_path):
    import cv2

    values = (np.arange(48 * 64 * 3, dtype=np.uint32).reshape(48, 64, 3) * 7 % 65536).astype(
        np.uint16
    )
    cv2.imwrite(str(tmp_path / "c16.png"), values[..., ::-1])  # OpenCV writes BGR
    decoded = load_rgb(tmp_path / "c16.png")
    assert np.array_equal(decoded.pixels, (values >> 8).astype(np.uint8))
    assert "16-bit colour" in decoded.conversion


def test_first_frame_of_animation(rgb, tmp_path):
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    decoded = load_rgb(tmp_path / "anim.gif")
    assert "first of 2 frames" in decoded.conversion
    assert np.array_equal(
        decoded.pixels, np.asarray(Image.open(tmp_path / "anim.gif").convert("RGB"))
    )


def test_float_images_are_refused_naming_the_file(tmp_path):
    Image.fromarray(np.zeros((48, 64), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(UserError, match=r"f\.tif.*unsupported image mode 'F'"):
        load_rgb(tmp_path / "f.tif")


def test_tiny_images_get_a_clear_error(tmp_path):
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / "tiny.png")
    with pytest.raises(UserError, match=r"tiny\.png: image is 40x20 px.*at least 32"):
        load_rgb(tmp_path / "tiny.png")


def test_broken_and_missing_files(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with pytest.raises(UserError, match=r"broken\.jpg: cannot decode"):
        load_rgb(tmp_path / "broken.jpg")
    with pytest.raises(UserError, match=r"missing\.png: image file not found"):
        load_rgb(tmp_path / "missing.png")
