"""ImageNet-C corruptions for any RGB image: faithful to the published generator, seeded,
and vectorized.

Public API (stable; ImageNet-P sequences, transforms and materialization build on it):
- ``names(split=None)``: the 19 corruption names in canonical order ("test" | "validation").
- ``corruption_split(name)``, ``list_corruptions(filter)``, ``register_corruption``.
- ``apply(image, name, severity, seed, params)``: one uint8 HxWx3 array -> same shape.
- ``apply_batch(images, name, severity, seeds, params, backend)``: a uint8 tensor batch
  (NHWC or NCHW, CPU or CUDA) -> same layout, dtype and device; row i equals ``apply`` with
  seeds[i] (bit for bit with the numpy backend; to rounding with the batched torch one,
  which CUDA batches use by default).
- ``image_seed(study_seed, sample, name, severity)``: the per-image seed.

``params`` picks the severity table: "imagenet" (224 px, make_imagenet_c.py), "tiny"
(64 px, make_tinyimagenet_c.py) or "auto" (by image size; see ``params.py``). Outputs
are quantized like the reference (clip to [0, 1], times 255, truncate to uint8).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from shiftlab.corrupt.params import PARAM_CHOICES, PARAM_SETS, resolve_param_set, severity_params
from shiftlab.corrupt.registry import (
    CANONICAL_NAMES,
    TEST_NAMES,
    VALIDATION_NAMES,
    corruption_family,
    corruption_split,
    get_corruption,
    list_corruptions,
    names,
    register_corruption,
)
from shiftlab.corrupt.seeding import image_seed, make_rng
from shiftlab.errors import UserError

if TYPE_CHECKING:
    import torch

__all__ = [
    "CANONICAL_NAMES",
    "MIN_SIZE",
    "PARAM_CHOICES",
    "PARAM_SETS",
    "SEVERITIES",
    "TEST_NAMES",
    "VALIDATION_NAMES",
    "apply",
    "BACKENDS",
    "apply_batch",
    "corruption_family",
    "corruption_split",
    "get_corruption",
    "image_seed",
    "list_corruptions",
    "make_rng",
    "names",
    "register_corruption",
]

SEVERITIES = (1, 2, 3, 4, 5)
MIN_SIZE = 32  # below this several operators (glass sweep, pixelate, fog) degenerate


def check_severity(severity: int) -> int:
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)):
        raise UserError(f"corruption severity must be an integer 1-5, got {severity!r}")
    if int(severity) not in SEVERITIES:
        raise UserError(f"corruption severity must be 1-5, got {severity}")
    return int(severity)


def check_image(image: np.ndarray) -> None:
    """Refuse what the operators cannot take; colour conversion is the caller's job."""
    if not isinstance(image, np.ndarray):
        raise UserError(f"corruptions take a numpy uint8 HxWx3 array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise UserError(
            f"corruptions take RGB images shaped HxWx3, got shape {image.shape}; "
            "convert greyscale/RGBA/palette images to RGB first"
        )
    if image.dtype != np.uint8:
        raise UserError(f"corruptions take uint8 images, got dtype {image.dtype}")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIZE:
        raise UserError(
            f"image of {w}x{h} px is too small to corrupt; ImageNet-C operators need at "
            f"least {MIN_SIZE}x{MIN_SIZE} px"
        )


def apply(
    image: np.ndarray, name: str, severity: int, seed: int, params: str = "imagenet"
) -> np.ndarray:
    """Corrupt one uint8 HxWx3 image; the same (image, name, severity, seed, params) always
    gives the same bytes on CPU."""
    corruption = get_corruption(name)
    severity = check_severity(severity)
    check_image(image)
    pset = resolve_param_set(params, image.shape[0], image.shape[1])
    # deterministic operators never draw: skip building a generator (~7 us per call)
    rng = make_rng(seed) if corruption.stochastic else None
    out = corruption.fn(
        np.ascontiguousarray(image), severity_params(pset, name, severity), pset, rng
    )
    if out.dtype == np.uint8:
        return out
    out = np.clip(out, 0, 1, out=out if out.flags.writeable else None)
    out *= np.float32(255)
    return out.astype(np.uint8)


BACKENDS = ("auto", "numpy", "torch")


def apply_batch(
    images: torch.Tensor,
    name: str,
    severity: int,
    seeds: Sequence[int],
    params: str = "imagenet",
    backend: str = "auto",
) -> torch.Tensor:
    """Corrupt a uint8 batch (N x H x W x 3 or N x 3 x H x W) on its device.

    ``backend``: "numpy" runs ``apply`` per image (row i is bit-identical to
    ``apply(images[i], name, severity, seeds[i], params)``; CUDA batches go through the
    host); "torch" runs the batched torch operator on the batch's device (same random
    draws per image, floating-point rounding apart: >= 40 dB from "numpy"), falling back to
    "numpy" for an operator with no torch version; "auto" is "torch" on CUDA, else "numpy".
    Each image keeps its own random stream, so results never depend on batch composition.
    """
    import torch

    corruption = get_corruption(name)
    severity = check_severity(severity)
    if backend not in BACKENDS:
        raise UserError(f"unknown corruption backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
        raise UserError("apply_batch takes a uint8 tensor shaped NxHxWx3 or Nx3xHxW")
    channels_last = images.shape[-1] == 3
    if not channels_last and images.shape[1] != 3:
        raise UserError(
            f"apply_batch takes NxHxWx3 or Nx3xHxW RGB batches, got {tuple(images.shape)}"
        )
    seeds = [int(s) for s in seeds]
    if len(seeds) != images.shape[0]:
        raise UserError(f"apply_batch got {len(seeds)} seeds for {images.shape[0]} images")
    if not seeds:
        return images.clone()
    if backend == "auto":
        backend = "torch" if images.is_cuda else "numpy"
    op = None
    if backend == "torch":
        from shiftlab.corrupt.torch_ops import get_torch_op

        op = get_torch_op(name)
    if op is not None:
        nchw = images.permute(0, 3, 1, 2) if channels_last else images
        h, w = nchw.shape[-2:]
        if min(h, w) < MIN_SIZE:
            check_image(np.zeros((h, w, 3), np.uint8))  # the same message as apply's
        pset = resolve_param_set(params, h, w)
        rngs = [make_rng(s) for s in seeds] if corruption.stochastic else []
        out = op(nchw.contiguous(), severity_params(pset, name, severity), pset, rngs)
        if out.dtype != torch.uint8:
            out = (out.clamp(0, 1) * 255).to(torch.uint8)
        if channels_last:
            out = out.permute(0, 2, 3, 1)
        return out.contiguous()

    host = images.detach().cpu()
    if not channels_last:
        host = host.permute(0, 2, 3, 1)
    arrays = host.contiguous().numpy()
    out = np.stack([apply(arrays[i], name, severity, seeds[i], params) for i in range(len(seeds))])
    result = torch.from_numpy(out)
    if not channels_last:
        result = result.permute(0, 3, 1, 2).contiguous()
    return result.to(images.device)
