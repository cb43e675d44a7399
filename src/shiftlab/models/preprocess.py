"""Preprocessing comes from the model's own data config, never from a global default.

A data config is a small JSON-able dict stored in every checkpoint, so prediction uses
exactly the resolution, normalisation and crop that the model was built/trained with:
`{"input_size": [3, H, W], "mean": [...], "std": [...], "crop_pct": float, "interpolation": str}`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from shiftlab.models.factory import SPEC_ATTR, ModelSpec, resolve_name

if TYPE_CHECKING:
    from torch import nn

_DEFAULT = {
    "input_size": [3, 224, 224],
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "crop_pct": 0.875,
    "interpolation": "bilinear",
}


def _normalise(cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_size": [int(x) for x in cfg["input_size"]],
        "mean": [float(x) for x in cfg["mean"]],
        "std": [float(x) for x in cfg["std"]],
        "crop_pct": float(cfg.get("crop_pct") or _DEFAULT["crop_pct"]),
        "interpolation": str(cfg.get("interpolation") or "bilinear"),
    }


def _tv_config(spec: ModelSpec) -> dict[str, Any]:
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(spec.arch)
        weights = enum[spec.tag] if spec.tag else enum.DEFAULT
    except (ValueError, KeyError):
        return dict(_DEFAULT)
    t = weights.transforms()
    crop, resize = int(t.crop_size[0]), int(t.resize_size[0])
    return {
        "input_size": [3, crop, crop],
        "mean": list(t.mean),
        "std": list(t.std),
        "crop_pct": crop / resize,
        "interpolation": t.interpolation.value,
    }


def data_config(model_or_name: nn.Module | str, image_size: int | None = None) -> dict[str, Any]:
    """The model's preprocessing config; `image_size` overrides the resolution (e.g. the
    64 px demo) while keeping its normalisation and crop ratio."""
    import timm.data

    if isinstance(model_or_name, str):
        spec = resolve_name(model_or_name)
        if spec.source == "timm":
            from timm.models import get_pretrained_cfg

            full = f"{spec.arch}.{spec.tag}" if spec.tag else spec.arch
            pcfg = get_pretrained_cfg(full)
            raw = timm.data.resolve_data_config({}, pretrained_cfg=pcfg.to_dict() if pcfg else {})
        else:
            raw = _tv_config(spec)
    else:
        spec = getattr(model_or_name, SPEC_ATTR, None)
        if spec is not None and spec.source == "torchvision":
            raw = _tv_config(spec)
        else:
            raw = timm.data.resolve_model_data_config(model_or_name)
    cfg = _normalise(raw)
    if image_size:
        cfg["input_size"] = [cfg["input_size"][0], int(image_size), int(image_size)]
    return cfg


def _interp(name: str) -> Any:
    from torchvision.transforms import InterpolationMode

    return (
        InterpolationMode(name)
        if name in {m.value for m in InterpolationMode}
        else (InterpolationMode.BILINEAR)
    )


def normalize_transform(cfg: dict[str, Any]) -> Any:
    """PIL image -> normalised float tensor (the tail every pipeline shares)."""
    from torchvision import transforms as T

    return T.Compose([T.ToTensor(), T.Normalize(cfg["mean"], cfg["std"])])


def eval_transform(cfg: dict[str, Any]) -> Any:
    """Resize the short side to size/crop_pct, centre-crop `size`, normalise (timm's eval)."""
    from torchvision import transforms as T

    size = int(cfg["input_size"][-1])
    resize = int(math.floor(size / float(cfg["crop_pct"])))
    return T.Compose(
        [
            T.Resize(resize, interpolation=_interp(cfg["interpolation"])),
            T.CenterCrop(size),
            normalize_transform(cfg),
        ]
    )
