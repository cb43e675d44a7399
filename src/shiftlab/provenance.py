"""Provenance records: which files, code, params and machine produced an output.

A record is a JSON-able dict (DESIGN.md contract). Producers embed it (parquet metadata,
checkpoint dict) or write it as a sidecar `<output>.prov.json`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from shiftlab import __version__
from shiftlab.hashing import sha256_file

RECORD_FORMAT = "shiftlab-provenance/1"


@cache
def code_version() -> dict[str, Any]:
    """Git commit + dirty flag of the source tree the package runs from, and the package version."""
    src = Path(__file__).resolve().parent
    commit, dirty = None, None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True, timeout=10
        ).stdout.strip() or None
        if commit:
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
                cwd=src, capture_output=True, text=True, timeout=10,
            ).stdout
            dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {"package": __version__, "git_commit": commit, "git_dirty": dirty}


@cache
def library_versions() -> dict[str, str | None]:
    """Versions of the libraries whose behaviour changes numbers."""
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in ("torch", "torchvision", "timm", "numpy", "pillow", "scipy", "pandas"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        import torch

        versions["cuda"] = torch.version.cuda
    except ImportError:
        versions["cuda"] = None
    return versions


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def make_record(
    rule: str,
    params: dict[str, Any] | None = None,
    inputs: dict[str, str | Path] | None = None,
    input_hashes: dict[str, str] | None = None,
    started: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a provenance record; `inputs` are hashed here, `input_hashes` are passed through
    (e.g. a dataset fingerprint, which is cheaper than hashing every image again)."""
    hashed = {name: {"path": str(p), "sha256": sha256_file(p)} for name, p in (inputs or {}).items()}
    for name, digest in (input_hashes or {}).items():
        hashed[name] = {"sha256": digest}
    record = {
        "format": RECORD_FORMAT,
        "rule": rule,
        "params": params or {},
        "inputs": hashed,
        "code": code_version(),
        "libraries": library_versions(),
        "host": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": started or now(),
        "finished": now(),
        "mlflow_run_id": os.environ.get("MLFLOW_RUN_ID"),
    }
    if extra:
        record.update(extra)
    return record


def write_sidecar(output: str | Path, record: dict[str, Any]) -> Path:
    """Write `<output>.prov.json` next to an output that cannot embed metadata (CSV, HTML)."""
    path = Path(str(output) + ".prov.json")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return path
