"""The model names timm and torchvision can build, cached on disk per library version.

`snakemake -n` checks every run's model name before any job starts; importing timm (and
with it torch) to do so costs seconds on every plan, and on every cluster job that re-reads
the workflow. The lists only change with the installed versions, so they are kept in
`$SHIFTLAB_CACHE_DIR` (default `~/.cache/shiftlab`) under `models/`, keyed by those versions.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from shiftlab.atomic import write_text


def _cache_file() -> Path:
    base = os.environ.get("SHIFTLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "shiftlab"
    )
    try:
        key = f"timm-{version('timm')}_torchvision-{version('torchvision')}"
    except PackageNotFoundError:
        key = "unversioned"
    return Path(base) / "models" / f"{key}.json"


def _build() -> dict[str, Any]:
    import timm
    import torchvision

    tv: dict[str, list[str] | None] = {}
    for arch in torchvision.models.list_models(module=torchvision.models):
        try:
            tv[arch] = [w.name for w in torchvision.models.get_model_weights(arch)]
        except ValueError:  # an architecture without published weights
            tv[arch] = None
    return {
        "timm": sorted(timm.list_models()),
        "timm_pretrained": sorted(timm.list_pretrained()),
        "torchvision": tv,
    }


@cache
def catalog() -> dict[str, Any]:
    """{"timm": architectures, "timm_pretrained": `arch.tag` names, "torchvision": arch ->
    weight tags (None: no weights)}; read from the cache, built and saved on a miss."""
    path = _cache_file()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    data = _build()
    try:  # a cache that cannot be written only costs time
        write_text(path, json.dumps(data))
    except OSError:
        pass
    return data
