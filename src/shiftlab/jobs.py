"""What each job asks the scheduler for, declared by the rules themselves.

The rules carry their threads, memory and time limits, so profiles only say where jobs run:
a site profile's `set-resources` can send `train` and `predict` to a GPU partition (and give
them GPUs) without repeating the rest. Memory and time grow with each retry (`attempt`, so
a job killed for either comes back bigger) but never past `cluster.max_mem_mb` /
`cluster.max_runtime_min`: a request above a partition's MaxTime would never start.
Values are sized for the full ImageNet study; a local run caps threads at `--cores`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# rule: (threads, MB of memory per attempt, minutes per attempt)
SIZES: dict[str, tuple[int, int, int]] = {
    # Decoding and augmentation for one training process per GPU; the DataLoader workers
    # come out of these threads (shiftlab.train.data.loader_settings).
    "train": (8, 32000, 720),
    # Decoding + inference; ImageNet-C's cells stream through one job per run x benchmark.
    "predict": (8, 16000, 120),
    # Pure CPU image work, one process per shard (shards are the parallelism).
    "corrupt_shard": (4, 8000, 240),
    "corrupt_merge": (1, 4000, 30),
    # Indexing walks a benchmark folder once (ImageNet train: 1.28 M files).
    "index": (1, 4000, 60),
    # A pure function of one predictions file (plus references).
    "metrics": (1, 4000, 30),
    # The bootstrap over every metric is vectorized with numpy threads.
    "aggregate": (4, 16000, 120),
    "report": (1, 4000, 30),
}


def _limits(config: Mapping[str, Any]) -> tuple[int, int]:
    cluster = config.get("cluster") or {}
    return int(cluster.get("max_mem_mb", 256000)), int(cluster.get("max_runtime_min", 2880))


def threads(rule: str) -> int:
    return SIZES[rule][0]


def grown(base: int, cap: int, attempt: int) -> int:
    """`base * attempt`, capped (the cap wins even on the first attempt)."""
    return min(base * max(1, int(attempt)), cap)


def mem_mb(rule: str, config: Mapping[str, Any]) -> Callable[[Any, int], int]:
    """Snakemake resource callable: memory of `rule`'s job on this attempt."""
    base, cap = SIZES[rule][1], _limits(config)[0]

    def size(wildcards: Any, attempt: int) -> int:
        return grown(base, cap, attempt)

    return size


def runtime(rule: str, config: Mapping[str, Any]) -> Callable[[Any, int], int]:
    """Snakemake resource callable: time limit (minutes) of `rule`'s job on this attempt."""
    base, cap = SIZES[rule][2], _limits(config)[1]

    def size(wildcards: Any, attempt: int) -> int:
        return grown(base, cap, attempt)

    return size


def device_param(config: Mapping[str, Any]) -> Callable[[Any, Any], str]:
    """Snakemake params callable: `cuda` for a job given a GPU (fails fast without one),
    else `cluster.device`."""
    from shiftlab.devices import job_device

    configured = str((config.get("cluster") or {}).get("device", "auto"))

    def device(wildcards: Any, resources: Any) -> str:
        return job_device(getattr(resources, "gpu", 0), configured)

    return device


def live_tracking(config: Mapping[str, Any]) -> str:
    """`shiftlab train` flags for live metrics when `tracking.uri` names a server, else ''."""
    import shlex

    from shiftlab.tracking.live_train import is_server

    uri = (config.get("tracking") or {}).get("uri")
    if not is_server(uri):
        return ""
    return f"--tracking-uri {shlex.quote(str(uri))} --study {shlex.quote(str(config['study']))}"
