"""ImageNet-P sequences and their H.264 container: counts, layout names, ramps, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from shiftlab.corrupt import sequences as seq
from shiftlab.corrupt.perturbations import drip
from shiftlab.corrupt.video import encode_video, read_video, write_video
from shiftlab.errors import UserError

TEST_SPLIT = [
    "gaussian_noise",
    "shot_noise",
    "motion_blur",
    "zoom_blur",
    "snow",
    "brightness",
    "translate",
    "rotate",
    "tilt",
    "scale",
]
VALIDATION_SPLIT = ["speckle_noise", "gaussian_blur", "spatter", "shear"]


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 72 x 96 crop of a natural photo (non-square, so geometry is exercised)."""
    from PIL import Image
    from skimage import data

    img = Image.fromarray(data.chelsea()).resize((128, 96), Image.BILINEAR)
    return np.asarray(img)[:72, 16:112].copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_registry_lists_official_split():
    assert seq.list_perturbations(split="test") == TEST_SPLIT
    assert seq.list_perturbations(split="validation") == VALIDATION_SPLIT
    assert seq.list_perturbations("*noise") == ["gaussian_noise", "shot_noise", "speckle_noise"]
    with pytest.raises(UserError, match="valid names: gaussian_noise"):
        seq.get_perturbation("fog")


def test_folder_names_follow_test_py():
    assert seq.folder_name("gaussian_noise", 1) == "gaussian_noise"
    assert seq.folder_name("shot_noise", 3) == "shot_noise_3"
    assert seq.folder_name("rotate", 2) == "rotate"  # difficulty is a frame stride there
    assert seq.parse_folder("speckle_noise_2") == ("speckle_noise", 2)
    assert seq.parse_folder("tilt") == ("tilt", 1)
    with pytest.raises(UserError):
        seq.parse_folder("tilt_2")
    with pytest.raises(UserError, match="difficulty"):
        seq.folder_name("gaussian_noise", 4)


@pytest.mark.parametrize("name", TEST_SPLIT + VALIDATION_SPLIT)
def test_frame_counts_and_shapes(photo, name):
    frames = seq.make_sequence(photo, name, seed=3, params="tiny")
    assert frames.dtype == np.uint8
    assert frames.shape == (31, 64, 64, 3)  # tiny: translate -15..15 -> 31 frames too
    again = seq.make_sequence(photo, name, seed=3, params="tiny")
    assert np.array_equal(frames, again)


def test_imagenet_geometry_and_translate_frames(photo):
    big = np.asarray(
        __import__("PIL.Image", fromlist=["Image"]).fromarray(photo).resize((300, 225))
    )
    frames = seq.make_sequence(big, "translate", params="imagenet")
    assert frames.shape == (41, 224, 224, 3)
    geometry = seq.resolve_geometry("auto", 225, 300)
    assert (geometry.param_set, geometry.resize, geometry.crop) == ("imagenet", 256, 224)
    small = seq.resolve_geometry("auto", 72, 97)
    assert (small.param_set, small.resize, small.crop) == ("tiny", None, 72)
    with pytest.raises(UserError, match="even"):
        seq.resolve_geometry("tiny", 64, 64, crop=63)


def test_translate_moves_content_one_pixel_per_frame(photo):
    frames = seq.make_sequence(photo, "translate", params="auto").astype(int)
    # frame i shows the image shifted right by i - 15 px: consecutive frames differ by 1 px
    for i in range(30):
        assert np.array_equal(frames[i + 1][:, 20:-20], frames[i][:, 19:-21])


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "speckle_noise"])
def test_noise_frame_zero_is_clean_and_frames_independent(photo, name):
    clean = seq.make_sequence(photo, "rotate", params="tiny")[15]  # angle 0 is the clean crop
    frames = seq.make_sequence(photo, name, difficulty=1, seed=5, params="tiny")
    assert np.array_equal(frames[0], clean)
    assert not np.array_equal(frames[1], frames[2])
    deviation = [
        np.abs(
            seq.make_sequence(photo, name, d, seed=5, params="tiny")[1:].astype(int) - clean
        ).mean()
        for d in (1, 2, 3)
    ]
    assert deviation[0] < deviation[1] < deviation[2]


def test_gaussian_noise_magnitudes_match_published_sigmas():
    flat = np.full((64, 64, 3), 128, np.uint8)
    for difficulty, sigma in zip((1, 2, 3), (0.03, 0.05, 0.08), strict=True):
        frames = seq.make_sequence(
            flat, "gaussian_noise", difficulty, seed=1, params="imagenet", resize=64, crop=64
        )
        noise = frames[1:].astype(np.float64) - 128 + 0.5  # +0.5: truncation bias
        assert abs(noise.std() / 255 - sigma) < 0.05 * sigma
    shot = seq.make_sequence(flat, "shot_noise", 1, seed=1, params="imagenet", resize=64, crop=64)
    variance = (shot[1:].astype(np.float64) / 255).var()
    assert abs(variance - (128 / 255) / 300) < 0.05 * (128 / 255) / 300  # Poisson: var = x / c


def test_smooth_ramps_pass_through_the_clean_frame(photo):
    crop = seq.make_sequence(photo, "rotate", params="tiny")[15]
    assert np.array_equal(seq.make_sequence(photo, "scale", params="tiny")[24], crop)  # 100 %
    assert np.array_equal(seq.make_sequence(photo, "shear", params="tiny")[15], crop)
    assert np.array_equal(seq.make_sequence(photo, "zoom_blur", params="tiny")[0], crop)
    bright = seq.make_sequence(photo, "brightness", params="tiny").astype(int)
    assert np.abs(bright[15] - crop).max() <= 1  # HSV round trip, truncated
    means = bright.reshape(31, -1).mean(1)
    assert np.all(np.diff(means) > 0)


def test_gaussian_blur_matches_scikit_image(photo):
    from skimage.filters import gaussian

    frames = seq.make_sequence(photo, "gaussian_blur", params="tiny")
    crop = seq.make_sequence(photo, "rotate", params="tiny")[15] / 255.0
    for i in (0, 17, 30):
        ref = gaussian(crop, sigma=0.35 + 0.014 * i, channel_axis=-1, truncate=7.0, mode="nearest")
        assert np.abs(frames[i].astype(int) - (ref * 255).astype(np.uint8)).max() <= 1


def test_spatter_drip_equals_numpy_convolve():
    rng = np.random.default_rng(0)
    layer = rng.random((23, 7))
    for kernel in ((0.05, 0.1, 0.15, 0.7), (0.2, 0.8)):
        ref = np.apply_along_axis(
            lambda col, k=kernel: np.convolve(col, np.array(k), mode="same"), 0, layer
        )
        assert np.allclose(drip(layer, kernel), ref)


@pytest.mark.parametrize("name", ["gaussian_noise", "snow", "spatter"])
def test_random_sequences_depend_on_seed(photo, name):
    a = seq.make_sequence(photo, name, seed=1, params="tiny")
    b = seq.make_sequence(photo, name, seed=2, params="tiny")
    assert not np.array_equal(a, b)


def test_unknown_inputs_are_refused(photo):
    with pytest.raises(UserError, match="difficulty"):
        seq.make_sequence(photo, "gaussian_noise", difficulty=0)
    with pytest.raises(UserError, match="parameter set"):
        seq.make_sequence(photo, "rotate", params="huge")


# ---- H.264 container -------------------------------------------------------------------------


def test_mp4_round_trip_psnr_and_deterministic_bytes(photo, tmp_path):
    frames = seq.make_sequence(photo, "rotate", params="tiny")
    data = write_video(tmp_path / "rotate.mp4", frames, noise=False)
    assert data == encode_video(frames, noise=False)  # same input -> same bytes
    decoded = read_video(tmp_path / "rotate.mp4")
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert psnr(decoded, frames) > 30  # crf 20 at 64 px


def test_noise_mp4_uses_grain_tuning_and_reads_back(photo, tmp_path):
    frames = seq.make_sequence(photo, "gaussian_noise", seed=1, params="tiny")
    write_video(tmp_path / "noise.mp4", frames, noise=True)
    decoded = read_video(tmp_path / "noise.mp4")
    assert decoded.shape == frames.shape
    assert psnr(decoded, frames) > 30
    # x264 writes its settings into the stream: the grain tuning is visible there
    assert b"psy_rd=1.00:0.25" in (tmp_path / "noise.mp4").read_bytes()  # tune grain's psy-trellis


def test_opencv_reads_our_mp4_like_the_official_loader(photo, tmp_path):
    import cv2

    frames = seq.make_sequence(photo, "scale", params="tiny")
    write_video(tmp_path / "scale.mp4", frames, noise=False)
    capture = cv2.VideoCapture(str(tmp_path / "scale.mp4"))
    decoded = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        decoded.append(frame[..., ::-1])  # BGR -> RGB, as ImageNet-P's video_loader does
    capture.release()
    ours = read_video(tmp_path / "scale.mp4")
    assert len(decoded) == 31
    assert np.abs(np.stack(decoded).astype(int) - ours).max() <= 2


def test_reader_decodes_444_streams_of_any_size(photo, tmp_path):
    # ffmpeg picks yuv444p for RGB PNG input without -pix_fmt (the published command line)
    frames = seq.make_sequence(photo, "rotate", params="auto", crop=70)[:, :, :69]
    write_video(tmp_path / "444.mp4", frames, noise=False, pix_fmt="yuv444p")
    decoded = read_video(tmp_path / "444.mp4")
    assert decoded.shape == (31, 70, 69, 3)
    assert psnr(decoded, frames) > 35


def test_odd_frame_size_is_refused():
    with pytest.raises(ValueError, match="even frame size"):
        encode_video(np.zeros((2, 63, 64, 3), np.uint8), noise=False)
