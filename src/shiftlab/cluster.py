"""Site settings for SLURM runs: partition and account from the environment, checked early.

The site profile (`profiles/slurm`, linked as `./slurm` so that `snakemake --profile slurm`
works from the repository root) names its partitions and account as environment variables.
A site sets them once (shell start-up file, module file), outside the repository, so a
`git pull` never touches them; unset, the cluster's own defaults apply. A partition that
does not exist is reported by `onstart`, before Snakemake submits a single job, instead of
surfacing as hundreds of rejected submissions.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from collections.abc import Iterable, MutableMapping
from typing import Any

from shiftlab.errors import UserError

PARTITION = "SHIFTLAB_SLURM_PARTITION"
GPU_PARTITION = "SHIFTLAB_SLURM_GPU_PARTITION"
ACCOUNT = "SHIFTLAB_SLURM_ACCOUNT"

# What each variable sets, for docs and error messages.
SITE_VARIABLES = {
    PARTITION: "partition of every job (unset: the cluster's default partition)",
    GPU_PARTITION: f"partition of the GPU rules train and predict (unset: ${PARTITION})",
    ACCOUNT: "account charged for every job (unset: the SLURM plugin's guess from sacct)",
}


def apply_site_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Give unset site variables their fallbacks, before any resource is evaluated.

    Snakemake expands `$VAR` in resource values but leaves an unset one as the literal text
    `$VAR`, which SLURM would then get as a partition name; an empty value instead makes the
    plugin fall back to the cluster's default partition and its own account guess.
    """
    env = os.environ if environ is None else environ
    env.setdefault(PARTITION, "")
    env.setdefault(ACCOUNT, "")
    env.setdefault(GPU_PARTITION, env[PARTITION])


def _literal(raw: Any) -> str | None:
    """The partition a resource expression names, when it is a plain string; else None."""
    if raw is None or callable(raw):
        return None
    text = os.path.expandvars(str(raw)).strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    if not isinstance(value, str) or "$" in value:
        return None
    return value.strip() or None


def requested_partitions(
    default_args: Iterable[str], overwrite: dict[str, dict[str, Any]], environ=None
) -> dict[str, str]:
    """Partition name -> where it was asked for (site variables, default or rule resources)."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for var in (PARTITION, GPU_PARTITION):
        if env.get(var, "").strip():
            found.setdefault(env[var].strip(), f"${var}")
    for arg in default_args:
        name, _, raw = str(arg).partition("=")
        if name.strip() == "slurm_partition" and (value := _literal(raw)):
            found.setdefault(value, "default-resources")
    for rule, resources in overwrite.items():
        res = resources.get("slurm_partition")
        if res is not None and (value := _literal(getattr(res, "raw", res))):
            found.setdefault(value, f"set-resources of rule {rule}")
    return found


def cluster_partitions() -> list[str]:
    """Partitions SLURM knows (`sinfo`), without the default marker."""
    if not shutil.which("sinfo"):
        raise UserError("the SLURM executor is selected but `sinfo` is not on PATH")
    proc = subprocess.run(
        ["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise UserError(f"`sinfo` failed, is SLURM reachable? {proc.stderr.strip()}")
    return sorted({line.strip().rstrip("*") for line in proc.stdout.split() if line.strip()})


def check_partitions(requested: dict[str, str], known: list[str]) -> None:
    """Raise naming each unknown partition, where it came from and the ones that exist."""
    missing = {name: where for name, where in requested.items() if name not in known}
    if missing:
        lines = [f"SLURM partition {n!r} (from {w}) does not exist" for n, w in missing.items()]
        raise UserError(
            "; ".join(lines) + f". sinfo lists: {', '.join(known) or 'none'}. "
            f"Set {PARTITION} / {GPU_PARTITION} to one of these (docs/cluster.md)."
        )


def check_slurm_site(workflow: Any) -> None:
    """`onstart` hook: on the SLURM executor, verify the partitions before submitting jobs."""
    plugin = getattr(workflow, "executor_plugin", None)
    if plugin is None or plugin.name != "slurm":
        return
    settings = workflow.resource_settings
    default_args = getattr(settings.default_resources, "args", None) or []
    requested = requested_partitions(default_args, settings._parsed_overwrite_resources)
    if requested:
        check_partitions(requested, cluster_partitions())
