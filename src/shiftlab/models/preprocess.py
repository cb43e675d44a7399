"""Preprocessing comes from the model zoo's own definition, never from a global default.

A data config is a small JSON-able dict stored in every checkpoint, so prediction uses
exactly the geometry and normalisation the zoo evaluates the model with:
`{"input_size": [3, H, W], "mean", "std", "crop_pct", "interpolation", "crop_mode", "zoo",
"size"}` and, for torchvision, `resize_size`/`antialias` of `weights.transforms()`.

timm: `timm.data.resolve_data_config` semantics, test size by default as timm's
`validate.py` uses it (`test_input_size`/`test_crop_pct`); `size` says which was taken
(`test`, `train` or a pixel count, the `evaluation.input_size` setting). The geometry is
timm's own `create_transform(...)` without its tensor tail, so all crop modes (center,
squash, border) are the zoo's code. torchvision: the weights enum's `transforms()`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shiftlab.errors import UserError
from shiftlab.models.factory import SPEC_ATTR, ModelSpec, resolve_name

if TYPE_CHECKING:
    from PIL import Image
    from torch import nn

SIZES = ("test", "train")
_DEFAULT = {
    "input_size": [3, 224, 224],
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "crop_pct": 0.875,
    "interpolation": "bilinear",
    "crop_mode": "center",
}


def check_input_size(value: Any) -> str | int:
    """`evaluation.input_size`: test | train | <pixels>; anything else is refused by name."""
    if value in SIZES:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 16:
        return value
    raise UserError(f"evaluation.input_size={value!r}; allowed: test, train or pixels >= 16")


def _normalise(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {
        "input_size": [int(x) for x in cfg["input_size"]],
        "mean": [float(x) for x in cfg["mean"]],
        "std": [float(x) for x in cfg["std"]],
        "crop_pct": float(cfg.get("crop_pct") or _DEFAULT["crop_pct"]),
        "interpolation": str(cfg.get("interpolation") or "bilinear"),
        "crop_mode": str(cfg.get("crop_mode") or "center"),
    }
    for key in ("zoo", "size", "resize_size", "antialias"):
        if key in cfg:
            out[key] = cfg[key]
    return out


def _tv_config(spec: ModelSpec, size: str | int) -> dict[str, Any]:
    """`weights.transforms()` of the run's weights enum (DEFAULT without a tag)."""
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(spec.arch)
        weights = enum[spec.tag] if spec.tag else enum.DEFAULT
    except (ValueError, KeyError):
        return dict(_DEFAULT)
    t = weights.transforms()
    crop, resize = int(t.crop_size[0]), int(t.resize_size[0])
    if isinstance(size, int):  # another resolution at the enum's resize/crop ratio
        crop, resize = size, int(math.floor(size * resize / crop))
    return {
        "input_size": [3, crop, crop],
        "mean": list(t.mean),
        "std": list(t.std),
        "crop_pct": crop / resize,
        "interpolation": t.interpolation.value,
        "crop_mode": "center",
        "zoo": "torchvision",
        "size": size,
        "resize_size": [resize],
        "antialias": bool(t.antialias),
    }


def timm_data_config(pcfg: dict[str, Any], size: str | int) -> dict[str, Any]:
    """timm's resolve_data_config at the chosen size (validate.py: test size unless told)."""
    import timm.data

    args = {"input_size": (3, size, size)} if isinstance(size, int) else {}
    raw = timm.data.resolve_data_config(args, pretrained_cfg=pcfg, use_test_size=size != "train")
    return dict(raw) | {"zoo": "timm", "size": size}


def data_config(
    model_or_name: nn.Module | str, image_size: int | None = None, input_size: str | int = "test"
) -> dict[str, Any]:
    """The model's preprocessing config at `input_size` (test | train | pixels);
    `image_size` (a recipe's or the demo's resolution) keeps the train geometry's ratio."""
    size = check_input_size(input_size if image_size is None else "train")
    if isinstance(model_or_name, str):
        spec = resolve_name(model_or_name)
        if spec.source == "timm":
            from timm.models import get_pretrained_cfg

            pcfg = get_pretrained_cfg(spec.name)
            raw = timm_data_config(pcfg.to_dict() if pcfg else {}, size)
        else:
            raw = _tv_config(spec, size)
    else:
        spec = getattr(model_or_name, SPEC_ATTR, None)
        if spec is not None and spec.source == "torchvision":
            raw = _tv_config(spec, size)
        else:
            raw = timm_data_config(dict(getattr(model_or_name, "pretrained_cfg", None) or {}), size)
    cfg = _normalise(raw)
    if image_size:
        cfg["input_size"] = [cfg["input_size"][0], int(image_size), int(image_size)]
        cfg["size"] = int(image_size)
        if "resize_size" in cfg:
            cfg["resize_size"] = [int(math.floor(image_size / cfg["crop_pct"]))]
    return cfg


def geometry(cfg: dict[str, Any]) -> Callable[[Image.Image], Image.Image]:
    """PIL -> PIL: the zoo's eval resize/crop for this config (its tensor tail dropped)."""
    if cfg.get("zoo") == "torchvision":
        return _TvGeometry(cfg)
    import timm.data

    tf = timm.data.create_transform(
        input_size=tuple(cfg["input_size"]),
        is_training=False,
        interpolation=cfg["interpolation"],
        mean=tuple(cfg["mean"]),
        std=tuple(cfg["std"]),
        crop_pct=cfg["crop_pct"],
        crop_mode=cfg.get("crop_mode") or "center",
        use_prefetcher=True,  # ends in MaybePILToTensor: the uint8 geometry comes before it
    )
    from torchvision import transforms as T

    return T.Compose(tf.transforms[:-1])


class _TvGeometry:
    """The resize and centre crop of torchvision's ImageClassification (weights.transforms())."""

    def __init__(self, cfg: dict[str, Any]):
        self.resize = [int(x) for x in cfg["resize_size"]]
        self.crop = [int(cfg["input_size"][1]), int(cfg["input_size"][2])]
        self.interpolation = cfg["interpolation"]
        self.antialias = bool(cfg.get("antialias", True))

    def __call__(self, img: Image.Image) -> Image.Image:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as F

        mode = InterpolationMode(self.interpolation)
        img = F.resize(img, self.resize, interpolation=mode, antialias=self.antialias)
        return F.center_crop(img, self.crop)


def describe(cfg: dict[str, Any]) -> str:
    """One line for records and the report, e.g. `timm test 288px crop 1.0 center bicubic`."""
    h, w = cfg["input_size"][1:]
    px = f"{h}px" if h == w else f"{h}x{w}px"
    return (
        f"{cfg.get('zoo', 'timm')} {cfg.get('size', 'train')} {px} crop {cfg['crop_pct']:.4g} "
        f"{cfg.get('crop_mode', 'center')} {cfg['interpolation']}"
    )


def normalize_transform(cfg: dict[str, Any]) -> Any:
    """PIL image -> normalised float tensor (the tail every pipeline shares)."""
    from torchvision import transforms as T

    return T.Compose([T.ToTensor(), T.Normalize(cfg["mean"], cfg["std"])])


def eval_transform(cfg: dict[str, Any]) -> Any:
    """The zoo's eval geometry, then normalisation (PIL image -> float tensor)."""
    from torchvision import transforms as T

    return T.Compose([geometry(cfg), normalize_transform(cfg)])
