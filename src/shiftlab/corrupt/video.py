"""H.264 MP4 sequences in the ImageNet-P format, written and read with PyAV.

The official ImageNet-P files were made by ffmpeg's libx264 at 1 frame per second,
`-preset veryslow`, with `-tune grain` for the noise sequences and `-crf 20` for the
others (make_imagenet_p.py). We use the same encoder through PyAV's bundled FFmpeg, so no
system ffmpeg is needed, and one reader serves both our files and the official ones.

Pixel format defaults to yuv420p (what players and OpenCV expect everywhere); 4:2:0 chroma
needs an even width and height, so odd frame sizes are refused rather than silently padded.
``yuv444p`` is available too: ffmpeg itself picks 4:4:4 for RGB PNG input when no
``-pix_fmt`` is given, as in the published command line, so the official files may well be
4:4:4; ``read_video`` decodes either.

Reproducible bytes: x264 runs single-threaded (its output changes with the thread count)
and with ``cpu-independent=1``: without it, x264 0.165's SIMD lookahead/macroblock-tree
code gave different streams for the same frames from run to run in one process (11 of 20
runs differed here), and the option also pins the arithmetic across CPU generations.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from shiftlab.atomic import write_bytes

# Encoder settings per sequence family (make_imagenet_p.py): noise keeps its grain.
NOISE_OPTIONS: dict[str, str] = {"tune": "grain"}
SMOOTH_OPTIONS: dict[str, str] = {"crf": "20"}
DEFAULT_PRESET = "veryslow"
PIXEL_FORMATS = ("yuv420p", "yuv444p")


def encoder_options(noise: bool, preset: str = DEFAULT_PRESET) -> dict[str, str]:
    """libx264 options for a noise (grain) or smooth (crf 20) sequence."""
    options = dict(NOISE_OPTIONS if noise else SMOOTH_OPTIONS)
    options["preset"] = preset
    # One x264 thread: identical bytes on every machine (frame threads change decisions).
    options["threads"] = "1"
    options["x264-params"] = "cpu-independent=1"
    return options


def encode_video(
    frames: np.ndarray, *, noise: bool, preset: str = DEFAULT_PRESET, pix_fmt: str = "yuv420p"
) -> bytes:
    """Encode uint8 frames (T, H, W, 3) RGB as an H.264 MP4 and return the file bytes."""
    import io

    import av

    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    count, height, width, _ = frames.shape
    if count < 1:
        raise ValueError("a sequence needs at least one frame")
    if pix_fmt not in PIXEL_FORMATS:
        raise ValueError(f"pix_fmt {pix_fmt!r}; allowed: {', '.join(PIXEL_FORMATS)}")
    if pix_fmt == "yuv420p" and (height % 2 or width % 2):
        raise ValueError(
            f"H.264 yuv420p needs an even frame size, got {width}x{height}; "
            "crop one row/column before encoding"
        )
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=Fraction(1, 1), options=encoder_options(noise, preset)
        )
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for index in range(count):
            rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[index]), format="rgb24")
            frame = rgb.reformat(format=pix_fmt)  # BT.601 limited range, as ffmpeg's default
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def write_video(
    path: str | Path,
    frames: np.ndarray,
    *,
    noise: bool,
    preset: str = DEFAULT_PRESET,
    pix_fmt: str = "yuv420p",
) -> bytes:
    """Encode and write atomically (temp file + rename); returns the bytes written."""
    data = encode_video(frames, noise=noise, preset=preset, pix_fmt=pix_fmt)
    write_bytes(path, data)
    return data


def read_video(path: str | Path) -> np.ndarray:
    """Decode every frame of an MP4 (ours or the official ImageNet-P files) to uint8 (T, H, W, 3) RGB."""
    import av

    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
    if not frames:
        raise ValueError(f"{path}: no video frames")
    return np.stack(frames)
