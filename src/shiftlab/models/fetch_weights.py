"""Fetch, where there is internet (a login node), the pretrained weights a config needs.

Compute nodes read weights only from the local caches (`HF_HOME` for timm's Hugging Face
tags, `TORCH_HOME` for torchvision and URL-hosted timm weights) or from a file named in
`weights:`. This fills exactly the cache entries that `create_model(..., "imagenet")` looks
up there, so a study planned after it never needs the network. `HF_HUB_OFFLINE=1`, which a
cluster profile exports for its jobs, is switched off for this process only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from shiftlab.atomic import atomic_path
from shiftlab.errors import UserError
from shiftlab.models.factory import (
    ModelSpec,
    _cached_timm_file,
    _torch_hub_file,
    _tv_weights,
    resolve_name,
)

FETCH_COMMAND = "shiftlab fetch-weights --config <config.yaml>"
HASH_PREFIX = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub's convention: name-<sha256 prefix>.pth


def needed(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(run, model) of every run whose weights come from the zoo (`weights: imagenet`)."""
    runs = config.get("runs") or {}
    return [(run, e["model"]) for run, e in runs.items() if (e or {}).get("weights") == "imagenet"]


def _online() -> None:
    """Undo HF_HUB_OFFLINE for this process (the library reads it once, at import)."""
    os.environ["HF_HUB_OFFLINE"] = "0"
    import huggingface_hub.constants as constants

    constants.HF_HUB_OFFLINE = False


def _from_url(url: str, mirror: str | None) -> Path:
    """A URL-hosted weights file into torch.hub's cache, its sha256 prefix checked."""
    from shiftlab.data.fetch import download

    dest = _torch_hub_file(url)
    source = f"{mirror.rstrip('/')}/{dest.name}" if mirror else url
    with atomic_path(dest) as tmp:
        got = download(source, tmp)
        prefix = HASH_PREFIX.search(dest.name)
        if prefix and not got["sha256"].startswith(prefix.group(1)):
            raise UserError(
                f"{source}: sha256 {got['sha256'][:16]}... does not start with "
                f"{prefix.group(1)} (the file name's checksum); nothing was installed"
            )
    return dest


def _from_hub(spec: ModelSpec, mirror: str | None) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(spec.name)
    names = [cfg.hf_hub_filename] if cfg.hf_hub_filename else []
    for fname in [*names, "model.safetensors", "pytorch_model.bin"]:
        try:
            return Path(hf_hub_download(cfg.hf_hub_id, fname, endpoint=mirror))
        except EntryNotFoundError:
            continue
    raise UserError(f"{cfg.hf_hub_id} has none of {', '.join(names) or 'its weights files'}")


def fetch_one(name: str, mirror: str | None = None) -> tuple[Path, bool]:
    """(where the weights are, whether they were downloaded now) for one model name."""
    spec = resolve_name(name)
    if spec.source == "torchvision":
        url = _tv_weights(spec).url
        path = _torch_hub_file(url)
        return (path, False) if path.is_file() else (_from_url(url, mirror), True)
    cfg, _ = _cached_timm_file(spec)
    if "file" in cfg:
        return Path(cfg["file"]), False
    if cfg.get("hf_hub_id"):
        return _from_hub(spec, mirror), True
    if cfg.get("url"):
        return _from_url(cfg["url"], mirror), True
    raise UserError(f"timm {spec.name} names no weights to fetch (no hub id, no url)")


def fetch_for_config(config: dict[str, Any], mirror: str | None = None) -> list[str]:
    """Fill the local caches for every zoo-weights run of a config; one line per model."""
    _online()
    lines = []
    for run, model in needed(config):
        path, fresh = fetch_one(model, mirror)
        lines.append(f"{run}: {model} {'fetched into' if fresh else 'already in'} {path}")
    return lines
