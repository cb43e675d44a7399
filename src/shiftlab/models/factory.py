"""Build classifiers by name from timm or torchvision, with weights that never need the network.

Names: any timm name (`resnet50`, `resnet50.a1_in1k`), or a torchvision classifier with a
`tv:` prefix (`tv:resnet50`, `tv:squeezenet1_1`; a tag picks a weights enum, e.g.
`tv:resnet50.IMAGENET1K_V2`). A bare name that timm does not know but torchvision does
(`alexnet`, `squeezenet1_0`) resolves to torchvision. Compute nodes have no internet, so
`pretrained="imagenet"` reads only the local caches (`HF_HOME`, `TORCH_HOME`) unless the
caller opts in to downloading (the login-node fetch step).
"""

from __future__ import annotations

import difflib
import fnmatch
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shiftlab.errors import UserError
from shiftlab.models.catalog import catalog

if TYPE_CHECKING:
    import torch
    from torch import nn

SOURCES = ("timm", "torchvision")
_PREFIXES = {"tv": "torchvision", "torchvision": "torchvision", "timm": "timm"}
# Attribute stored on every model we build, so `data_config(model)` and checkpoints know it.
SPEC_ATTR = "shiftlab_spec"


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model name: which library builds it, the architecture and the weights tag."""

    source: str
    arch: str
    tag: str | None = None

    @property
    def name(self) -> str:
        """Canonical name (round-trips through `resolve_name`)."""
        base = f"{self.arch}.{self.tag}" if self.tag else self.arch
        return base if self.source == "timm" else f"tv:{base}"


def safe_name(name: str) -> str:
    """Filename-safe form of a model name (`tv:resnet50.IMAGENET1K_V2` -> `tv_resnet50.IMAGENET1K_V2`)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _tv_names() -> tuple[str, ...]:
    return tuple(catalog()["torchvision"])


@cache
def _timm_names(pretrained: bool = False, pattern: str = "*") -> tuple[str, ...]:
    """timm names (all buildable, or only `arch.tag` names with weights) matching `pattern`."""
    names = catalog()["timm_pretrained"]
    if not pretrained:
        names = sorted(set(catalog()["timm"]) | set(names))
    return tuple(n for n in names if fnmatch.fnmatchcase(n, pattern))


def list_models(pattern: str = "*") -> list[str]:
    """All buildable names matching a shell-style wildcard (timm names, then `tv:` names)."""
    names = list(_timm_names()) + [f"tv:{n}" for n in _tv_names()]
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def resolve_name(name: str, source: str | None = None) -> ModelSpec:
    """Turn a user-facing model name (+ optional `source`) into a ModelSpec, or explain why not."""
    raw = name.strip()
    prefix, sep, rest = raw.partition(":")
    if sep and prefix in _PREFIXES:
        if source and _PREFIXES[prefix] != source:
            raise UserError(f"model {name!r} has prefix {prefix!r} but source is {source!r}")
        source, raw = _PREFIXES[prefix], rest
    if source is not None and source not in SOURCES:
        raise UserError(f"unknown model source {source!r}; allowed: {', '.join(SOURCES)}")
    arch, _, tag = raw.partition(".")
    if source in (None, "timm") and arch in catalog()["timm"]:
        tags = [t.partition(".")[2] for t in _timm_names(True, f"{arch}.*")]
        if tag and tag not in tags:
            raise UserError(_unknown(f"timm {arch} has no weights tag {tag!r}", tag, tags))
        return ModelSpec("timm", arch, tag or None)
    if source in (None, "torchvision") and arch in _tv_names():
        return ModelSpec("torchvision", arch, tag or None)
    pool = (
        list_models()
        if source is None
        else (list(_timm_names()) if source == "timm" else [f"tv:{n}" for n in _tv_names()])
    )
    close = difflib.get_close_matches(name, pool, n=6, cutoff=0.6)
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    raise UserError(f"unknown model {name!r}{hint} (see shiftlab.models.list_models('*pattern*'))")


def _unknown(what: str, name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=3)
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    return f"{what}{hint}; allowed: {', '.join(allowed) or '(none)'}"


def check_pretrained(spec: ModelSpec) -> None:
    """Refuse, before any job runs, a model that has no ImageNet weights to load."""
    if spec.source == "torchvision":
        tags = catalog()["torchvision"][spec.arch]
        if tags is None:
            raise UserError(f"torchvision has no pretrained weights for {spec.arch!r}")
        if spec.tag is not None and spec.tag not in tags:
            what = f"torchvision {spec.arch} has no weights {spec.tag!r}"
            raise UserError(_unknown(what, spec.tag, tags))
    elif not _timm_names(pretrained=True, pattern=spec.name if spec.tag else f"{spec.arch}.*"):
        raise UserError(f"timm has no pretrained weights for {spec.name!r}; use null or a file")


# ---------------------------------------------------------------------------------------
# weights


def _torch_hub_file(url: str) -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url.split("?")[0])


def _cached_timm_file(spec: ModelSpec) -> tuple[dict[str, Any], list[str]]:
    """Locate timm pretrained weights in the local caches: (pretrained_cfg, paths tried)."""
    from timm.models import get_pretrained_cfg

    full = f"{spec.arch}.{spec.tag}" if spec.tag else spec.arch
    cfg = get_pretrained_cfg(full)
    if cfg is None:
        raise UserError(f"timm has no pretrained weights for {full!r}")
    tried: list[str] = []
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        names = [cfg.hf_hub_filename] if cfg.hf_hub_filename else []
        names += ["model.safetensors", "pytorch_model.bin"]
        for fname in names:
            hit = try_to_load_from_cache(cfg.hf_hub_id, fname)
            tried.append(f"hf-hub {cfg.hf_hub_id}/{fname}")
            if isinstance(hit, str):
                return cfg.to_dict() | {"file": hit}, tried
    if cfg.url:
        path = _torch_hub_file(cfg.url)
        tried.append(str(path))
        if path.is_file():
            return cfg.to_dict() | {"file": str(path)}, tried
    return cfg.to_dict(), tried


def _not_cached(name: str, tried: list[str]) -> UserError:
    return UserError(
        f"pretrained weights for {name!r} are not in the local cache (looked for: "
        f"{'; '.join(tried) or 'nothing to look for'}; HF_HOME/TORCH_HOME select the caches). "
        "Fetch them on a login node: `shiftlab fetch-weights --config <config.yaml>`, "
        "or set weights to a local .pth/.safetensors file"
    )


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], list[str] | None]:
    """Read a weights file (.pth/.pt/.bin/.safetensors, bare or wrapped, or a shiftlab
    checkpoint) -> (state_dict, the file's class wnids when it records them)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(path))
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any decode failure means the same thing to a user
        raise UserError(f"cannot read weights file {path}: {type(exc).__name__}: {exc}") from None
    wnids = None
    if isinstance(obj, dict) and obj.get("format", "").startswith("shiftlab-checkpoint"):
        wnids = list(obj["model"].get("wnids") or []) or None
    for key in ("state_dict_ema", "model_ema", "state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict) and obj[key]:
            first = next(iter(obj[key].values()))
            if isinstance(first, torch.Tensor):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"weights file {path} does not hold a state dict of tensors")
    out = {}
    for k, v in obj.items():
        for p in ("module.", "_orig_mod."):
            k = k.removeprefix(p)
        out[k] = v
    return out, wnids


# ---------------------------------------------------------------------------------------
# classifier head


def head_keys(model: nn.Module) -> list[str]:
    """Dotted names of the classifier module(s) whose rows are the classes."""
    from torch import nn

    spec: ModelSpec | None = getattr(model, SPEC_ATTR, None)
    cfg = getattr(model, "pretrained_cfg", None) or {}
    if spec is not None and spec.source == "timm" and cfg.get("classifier"):
        keys = cfg["classifier"]
        keys = [keys] if isinstance(keys, str) else list(keys)
        mods = dict(model.named_modules())
        if all(isinstance(mods.get(k), nn.Linear | nn.Conv2d) for k in keys):
            return keys
    # torchvision (and fallback): the last Linear/Conv2d in registration order is the head
    # (for squeezenet it is the 1x1 conv). Auxiliary heads (inception) come earlier.
    last = None
    for key, mod in model.named_modules():
        if isinstance(mod, nn.Linear | nn.Conv2d) and not key.startswith("AuxLogits"):
            last = key
    if last is None:
        raise UserError(f"cannot find the classifier layer of {type(model).__name__}")
    return [last]


def num_outputs(model: nn.Module) -> int:
    mod = model.get_submodule(head_keys(model)[0])
    return int(mod.weight.shape[0])


def replace_head(model: nn.Module, num_classes: int, keep_rows: list[int] | None = None) -> None:
    """Give the model a `num_classes`-way head: copy rows `keep_rows` of the old head
    (class slicing keeps what pretraining learned) or initialise it fresh."""
    import torch
    from torch import nn

    for key in head_keys(model):
        old = model.get_submodule(key)
        if isinstance(old, nn.Linear):
            new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
        else:
            new = nn.Conv2d(
                old.in_channels,
                num_classes,
                old.kernel_size,
                old.stride,
                old.padding,
                bias=old.bias is not None,
            )
        new = new.to(dtype=old.weight.dtype, device=old.weight.device)
        if keep_rows is not None:
            if len(keep_rows) != num_classes:
                raise ValueError("keep_rows must have num_classes entries")
            idx = torch.as_tensor(keep_rows, dtype=torch.long, device=old.weight.device)
            with torch.no_grad():
                new.weight.copy_(old.weight.index_select(0, idx))
                if old.bias is not None:
                    new.bias.copy_(old.bias.index_select(0, idx))
        model.set_submodule(key, new)
    if hasattr(model, "num_classes"):
        model.num_classes = num_classes


# ---------------------------------------------------------------------------------------
# factory


def _build(
    spec: ModelSpec, num_classes: int, weights_file: str | None, cfg: dict | None
) -> nn.Module:
    if spec.source == "timm":
        import timm

        full = f"{spec.arch}.{spec.tag}" if spec.tag else spec.arch
        if weights_file is None:
            return timm.create_model(full, pretrained=False, num_classes=num_classes)
        return timm.create_model(
            full,
            pretrained=True,
            num_classes=num_classes,
            pretrained_cfg_overlay={"file": weights_file, "source": "", "num_classes": num_classes},
        )
    import torchvision

    return torchvision.models.get_model(spec.arch, weights=None, num_classes=num_classes)


def _tv_weights(spec: ModelSpec) -> Any:
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(spec.arch)
    except ValueError:
        raise UserError(f"torchvision has no pretrained weights for {spec.arch!r}") from None
    if spec.tag is None:
        return enum.DEFAULT
    try:
        return enum[spec.tag]
    except KeyError:
        tags = [w.name for w in enum]
        raise UserError(
            _unknown(f"torchvision {spec.arch} has no weights {spec.tag!r}", spec.tag, tags)
        ) from None


def create_model(
    name: str,
    num_classes: int,
    pretrained: str | None = None,
    *,
    source: str | None = None,
    wnids: list[str] | tuple[str, ...] | None = None,
    allow_download: bool = False,
) -> nn.Module:
    """Build `name` with a `num_classes`-way head.

    pretrained: None (random init; seed torch first), "imagenet" (the library's ImageNet
    weights from the local cache), or a path to a weights file. When the weights' classes
    differ from the requested ones the head is replaced; if `wnids` (the run's label space)
    are all classes the weights know, the matching head rows are kept instead of re-init.
    """
    spec = resolve_name(name, source)
    if pretrained in (None, "", "none", "None"):
        model = _build(spec, num_classes, None, None)
        setattr(model, SPEC_ATTR, spec)
        return model
    if pretrained == "imagenet":
        model, src_wnids = _load_imagenet(spec, name, allow_download)
    else:
        state, src_wnids = read_state_dict(pretrained)
        import torch

        with torch.device("meta"):  # only to learn the head's name; costs no init
            probe = _build(spec, 1, None, None)
        setattr(probe, SPEC_ATTR, spec)
        head_w = head_keys(probe)[0] + ".weight"
        src_classes = int(state[head_w].shape[0]) if head_w in state else num_classes
        model = _build(spec, src_classes, None, None)
        setattr(model, SPEC_ATTR, spec)
        if src_wnids is None and src_classes == 1000:
            from shiftlab.labels import imagenet1k_wnids

            src_wnids = list(imagenet1k_wnids())  # a bare 1000-way head is ImageNet-1k order
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise UserError(
                f"weights file {pretrained} does not fit {spec.name}: "
                f"missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}"
            )
    setattr(model, SPEC_ATTR, spec)
    have = num_outputs(model)
    want = list(wnids) if wnids is not None else None
    if src_wnids is not None and want is not None and list(src_wnids) == want:
        return model
    if want is not None and src_wnids is not None and set(want) <= set(src_wnids):
        pos = {w: i for i, w in enumerate(src_wnids)}
        replace_head(model, len(want), keep_rows=[pos[w] for w in want])
    elif have != num_classes or (want is not None and src_wnids is not None):
        replace_head(model, num_classes)
    return model


def _load_imagenet(
    spec: ModelSpec, name: str, allow_download: bool
) -> tuple[nn.Module, list[str] | None]:
    from shiftlab.labels import imagenet1k_wnids

    if spec.source == "timm":
        cfg, tried = _cached_timm_file(spec)
        n_src = int(cfg.get("num_classes") or 1000)
        if "file" not in cfg:
            if not allow_download:
                raise _not_cached(name, tried)
            import timm

            full = f"{spec.arch}.{spec.tag}" if spec.tag else spec.arch
            model = timm.create_model(full, pretrained=True)
        else:
            model = _build(spec, n_src, cfg["file"], cfg)
        offset = cfg.get("label_offset") or 0
        src = list(imagenet1k_wnids()) if n_src == 1000 and not offset else None
        return model, src
    import torchvision

    weights = _tv_weights(spec)
    path = _torch_hub_file(weights.url)
    if not path.is_file() and not allow_download:
        raise _not_cached(name, [str(path)])
    model = torchvision.models.get_model(spec.arch, weights=weights)
    n_src = len(weights.meta.get("categories") or [])
    return model, (list(imagenet1k_wnids()) if n_src == 1000 else None)


def fetch_weights(name: str, source: str | None = None) -> None:
    """Download a model's ImageNet weights into the local cache (run where there is internet)."""
    spec = resolve_name(name, source)
    _load_imagenet(spec, name, allow_download=True)
