"""Datasets over a benchmark index: still images, ImageNet-P videos as frames, and clean
images kept as uint8 for on-the-fly corruption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


def _uint8_to_tensor(pixels: np.ndarray, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """HxWx3 uint8 -> normalised 3xHxW float (ToTensor + Normalize, without PIL round trips)."""
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).float().div_(255.0)
    return (x - mean[:, None, None]) / std[:, None, None]


class Normalizer:
    """Mean/std normalisation of uint8 batches (NHWC) into model input (NCHW float)."""

    def __init__(self, data_config: dict[str, Any]):
        self.mean = torch.tensor(data_config["mean"], dtype=torch.float32)
        self.std = torch.tensor(data_config["std"], dtype=torch.float32)
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def one(self, pixels: np.ndarray) -> torch.Tensor:
        return _uint8_to_tensor(pixels, self.mean, self.std)

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float().div_(255.0)
        mean, std = self._on(x.device)
        return (x - mean) / std

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """mean/std shaped for NCHW on ``device``, copied there once."""
        if device not in self._on_device:
            self._on_device[device] = (
                self.mean.to(device)[None, :, None, None],
                self.std.to(device)[None, :, None, None],
            )
        return self._on_device[device]


# Modules the datasets import lazily, imported up front by their constructors: a loader
# thread importing them while the main thread imports timm can see a half-initialised
# torchvision (circular imports are only safe in one thread).
_RESIZE_MODULES = ("torchvision.transforms.functional", "timm.data")


def _import_now(*modules: str) -> None:
    import importlib

    for name in modules:
        importlib.import_module(name)


class ImageRows(Dataset):
    """Index rows as model-ready tensors. With `resize`, the zoo's eval geometry for the
    model (its crop mode, at the configured size); without, only normalisation (ImageNet-C)."""

    def __init__(
        self,
        root: str,
        samples: list[str],
        data_config: dict[str, Any],
        resize: bool,
        raw: bool = False,
    ):
        self.root = Path(root)
        self.samples = samples
        self.cfg = data_config
        self.resize = resize
        self.raw = raw
        self.norm = Normalizer(data_config)
        _import_now("shiftlab.corrupt.imageio", "PIL.Image", *(_RESIZE_MODULES if resize else ()))
        self.geometry = None
        if resize:
            from shiftlab.models.preprocess import geometry

            self.geometry = geometry(data_config)

    def __len__(self) -> int:
        return len(self.samples)

    def pixels(self, i: int) -> np.ndarray:
        from shiftlab.corrupt.imageio import load_rgb

        pixels = load_rgb(self.root / self.samples[i], min_side=1).pixels
        if self.resize:
            pixels = resize_center_crop(pixels, self.cfg, self.geometry)
        return pixels

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        pixels = self.pixels(i)
        if self.raw:
            return torch.from_numpy(np.ascontiguousarray(pixels)), i
        return self.norm.one(pixels), i


JPEG_MAGIC = b"\xff\xd8\xff"


class EncodedRows(Dataset):
    """Index rows as their JPEG files' bytes, for batched decoding on the GPU (nvJPEG):
    the loader processes only read files, which keeps a GPU fed where CPU decoding cannot.
    A file that is not a JPEG comes back decoded on the CPU (HWC uint8) instead."""

    def __init__(self, root: str, samples: list[str]):
        self.root = Path(root)
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[bytes | torch.Tensor, int, bool]:
        # bytes, not tensors: one shared-memory segment per small tensor would cost more
        # than reading the file
        path = self.root / self.samples[i]
        data = path.read_bytes()
        if data[:3] == JPEG_MAGIC:
            return data, i, True
        from shiftlab.corrupt.imageio import load_rgb

        return torch.from_numpy(np.ascontiguousarray(load_rgb(path, min_side=1).pixels)), i, False


def decode_on_device(
    items: list[tuple[bytes | torch.Tensor, int, bool]], root: Path, samples: list[str], device
) -> list[tuple[torch.Tensor, int]]:
    """(3xHxW uint8 on ``device``, row) for EncodedRows items: JPEGs in one nvJPEG batch;
    if that batch fails, each file is decoded on the CPU so a broken one is named."""
    from torchvision.io import ImageReadMode, decode_jpeg

    jpegs = [
        (torch.frombuffer(bytearray(data), dtype=torch.uint8), row)
        for data, row, is_jpeg in items
        if is_jpeg
    ]
    out = [(data.to(device).permute(2, 0, 1), row) for data, row, is_jpeg in items if not is_jpeg]
    if jpegs:
        try:
            decoded = decode_jpeg([d for d, _ in jpegs], mode=ImageReadMode.RGB, device=device)
        except RuntimeError:
            from shiftlab.corrupt.imageio import load_rgb

            decoded = [
                torch.from_numpy(load_rgb(root / samples[row], min_side=1).pixels)
                .to(device)
                .permute(2, 0, 1)
                for _, row in jpegs
            ]
        out += [(img, row) for img, (_, row) in zip(decoded, jpegs, strict=True)]
    return out


def resize_center_crop(
    pixels: np.ndarray, cfg: dict[str, Any], geometry: Any | None = None
) -> np.ndarray:
    """The zoo's eval geometry (models.preprocess.geometry: timm's crop modes, torchvision's
    weights.transforms()) on uint8. Images already at the model's input size are taken as
    they are (a generated world's images, or a recipe's training resolution)."""
    from PIL import Image

    h, w = pixels.shape[:2]
    if [h, w] == [int(x) for x in cfg["input_size"][1:]]:
        return pixels
    if geometry is None:
        from shiftlab.models.preprocess import geometry as zoo_geometry

        geometry = zoo_geometry(cfg)
    img = geometry(Image.fromarray(pixels))
    return np.array(img.convert("RGB"), dtype=np.uint8)  # writable: from_numpy warns on views


class CleanImages(Dataset):
    """Clean images as uint8 with the corruption materializer's geometry (on-the-fly C)."""

    def __init__(self, root: str, samples: list[str], settings: Any):
        self.root = Path(root)
        self.samples = samples
        self.settings = settings
        _import_now(
            "shiftlab.corrupt.imageio",
            "shiftlab.corrupt.cells",
            "shiftlab.corrupt.image_geometry",
            "PIL.Image",
        )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        from shiftlab.corrupt.cells import prepare_image
        from shiftlab.corrupt.imageio import load_rgb

        return prepare_image(load_rgb(self.root / self.samples[i]).pixels, "c", self.settings), i


class VideoRows(Dataset):
    """ImageNet-P sequences: each item is all frames of one mp4, normalised, no resize."""

    def __init__(self, root: str, samples: list[str], data_config: dict[str, Any]):
        self.root = Path(root)
        self.samples = samples
        self.norm = Normalizer(data_config)
        _import_now("shiftlab.corrupt.video", "av")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from shiftlab.corrupt.video import read_video

        frames = read_video(self.root / self.samples[i])
        return self.norm.batch(torch.from_numpy(frames)), i


def collate_videos(
    items: list[tuple[torch.Tensor, int]],
) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """Concatenate the frames of several videos; remember (row, frame) of each."""
    tensors, where = [], []
    for frames, row in items:
        tensors.append(frames)
        where += [(row, f) for f in range(frames.shape[0])]
    return torch.cat(tensors), where
