"""Provenance records: which files, code, params and machine produced an output.

A record is a JSON-able dict (docs/contracts.md). Producers embed it where the format has
room for metadata and write a sidecar otherwise:

- parquet (predictions, dataset index): key-value metadata key `shiftlab` (`with_record`,
  `write_parquet`, `read_parquet_record`);
- checkpoints: the checkpoint dict's `provenance` key (`read_checkpoint_meta`);
- anything else (CSV, HTML): `<output>.prov.json` (`write_sidecar`, `read_sidecar`).

`shiftlab audit` walks these records, so the names of well-known inputs matter: a predictions
record names its checkpoint input `checkpoint` and its index `index`, and passes the dataset
fingerprint as `input_hashes={"dataset": fingerprint}`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shiftlab import __version__
from shiftlab.atomic import atomic_path, write_text
from shiftlab.hashing import sha256_file

if TYPE_CHECKING:
    import pyarrow as pa

RECORD_FORMAT = "shiftlab-provenance/1"
PARQUET_KEY = b"shiftlab"
CHECKPOINT_KEY = "provenance"
SIDECAR_SUFFIX = ".prov.json"

# Sub-packages whose source decides numbers; their digests let `audit` tell which outputs an
# edit made stale (a git commit changes whenever *anything* changes).
_SOURCE_PACKAGES = ("data", "corrupt", "train", "models", "evaluate", "metrics", "stats")


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10
    ).stdout.strip()


@cache
def code_version() -> dict[str, Any]:
    """Git commit + dirty flag of the source tree the package runs from, the package version,
    and a digest of each number-producing sub-package's source."""
    src = Path(__file__).resolve().parent
    commit, dirty = None, None
    try:
        commit = _git(["rev-parse", "HEAD"], src) or None
        if commit:
            status = _git(["status", "--porcelain", "--untracked-files=no", "--", "."], src)
            dirty = bool(status)
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "package": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "sources": {name: source_sha256(name) for name in _SOURCE_PACKAGES},
    }


def source_sha256(subpackage: str) -> str | None:
    """Digest of a sub-package's `.py` files (relative path + bytes), or None if absent.

    Usable as a Snakemake `params` value so a rule re-runs when its own code changes and
    not when unrelated code does."""
    root = Path(__file__).resolve().parent / subpackage
    files = sorted(root.rglob("*.py")) if root.is_dir() else []
    if not files:
        single = root.with_suffix(".py")
        files = [single] if single.is_file() else []
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_version_string(code: dict[str, Any] | None = None) -> str:
    """Compact form for tables: `0.1.0+g3c0cdc0a1b2c` (`.dirty` appended for a dirty tree)."""
    code = code if code is not None else code_version()
    text = str(code.get("package") or "unknown")
    if code.get("git_commit"):
        text += f"+g{code['git_commit'][:12]}"
        if code.get("git_dirty"):
            text += ".dirty"
    return text


_CODE_VERSION_RE = re.compile(
    r"^(?P<package>[^+]+)(?:\+g(?P<commit>[0-9a-f]+)(?P<dirty>\.dirty)?)?$"
)


def parse_code_version_string(text: str) -> dict[str, Any] | None:
    """Inverse of `code_version_string` (commit is the 12-character prefix); None if malformed."""
    match = _CODE_VERSION_RE.match(text.strip())
    if not match:
        return None
    return {
        "package": match["package"],
        "git_commit": match["commit"],
        "git_dirty": bool(match["dirty"]) if match["commit"] else None,
    }


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
    # The CUDA build torch was compiled against; read without importing torch (seconds per job).
    try:
        from importlib.util import find_spec

        spec = find_spec("torch")
        version_py = Path(spec.origin).parent / "version.py" if spec and spec.origin else None
        text = version_py.read_text() if version_py and version_py.exists() else ""
        match = re.search(r"^cuda[^=]*=\s*['\"]?([^'\"\n]+)", text, flags=re.M)
        versions["cuda"] = match.group(1) if match and match.group(1) != "None" else None
    except (OSError, ValueError):
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
    wildcards: dict[str, str] | None = None,
    digests: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Build a provenance record; `inputs` are hashed here unless the caller already did
    (`digests`: sha256 by input name), `input_hashes` are passed through (e.g. a dataset
    fingerprint, which is cheaper than hashing every image again)."""
    digests = digests or {}
    hashed: dict[str, dict[str, str]] = {
        name: {"path": str(p), "sha256": digests.get(name) or sha256_file(p)}
        for name, p in (inputs or {}).items()
    }
    for name, digest in (input_hashes or {}).items():
        hashed[name] = {"sha256": digest}
    record = {
        "format": RECORD_FORMAT,
        "rule": rule,
        "wildcards": dict(wildcards or {}),
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


def canonical_json(obj: Any) -> str:
    """One spelling per value (sorted keys, no spaces), so equal configs hash equal."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def params_sha256(params: Any) -> str:
    """The `config_sha256` of a summary row: digest of the training job's params."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


# --- sidecars (CSV, HTML, ...) ---------------------------------------------------------------


def sidecar_path(output: str | Path) -> Path:
    return Path(str(output) + SIDECAR_SUFFIX)


def write_sidecar(output: str | Path, record: dict[str, Any]) -> Path:
    """Write `<output>.prov.json` next to an output that cannot embed metadata (CSV, HTML)."""
    path = sidecar_path(output)
    write_text(path, json.dumps(record, indent=2, sort_keys=True, default=str))
    return path


def read_sidecar(output: str | Path) -> dict[str, Any] | None:
    """The sidecar record of `output`, or None when it has none."""
    path = sidecar_path(output)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


# --- parquet ---------------------------------------------------------------------------------


def with_record(table: pa.Table, record: dict[str, Any]) -> pa.Table:
    """`table` with `record` under metadata key `shiftlab` (other metadata kept)."""
    metadata = dict(table.schema.metadata or {})
    metadata[PARQUET_KEY] = json.dumps(record, sort_keys=True, default=str).encode()
    return table.replace_schema_metadata(metadata)


def write_parquet(table: Any, path: str | Path, record: dict[str, Any]) -> Path:
    """Write a pyarrow Table or pandas DataFrame atomically with an embedded record."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(with_record(table, record), tmp)
    return Path(path)


def read_parquet_record(path: str | Path) -> dict[str, Any] | None:
    """The JSON under metadata key `shiftlab` of a parquet file (footer only), or None."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(PARQUET_KEY)
    return json.loads(raw) if raw else None


# --- checkpoints -----------------------------------------------------------------------------


def embed_checkpoint_record(checkpoint: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint dict with its `provenance` set (plain JSON types, so weights_only loads)."""
    checkpoint[CHECKPOINT_KEY] = json.loads(json.dumps(record, default=str))
    return checkpoint


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict without its tensors: `format`, `model`, `provenance`, ...
    (`models.read_checkpoint` is the validated full load that builds a model.)"""
    import torch

    data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a shiftlab checkpoint (top level is not a dict)")
    return {k: v for k, v in data.items() if k != "state_dict"}


def read_checkpoint_record(path: str | Path) -> dict[str, Any] | None:
    return read_checkpoint_meta(path).get(CHECKPOINT_KEY)


def read_record(path: str | Path) -> dict[str, Any] | None:
    """The record of any output: embedded for parquet/checkpoints, sidecar otherwise."""
    suffix = Path(path).suffix
    if suffix == ".parquet":
        return read_parquet_record(path)
    if suffix in (".pt", ".pth"):
        return read_checkpoint_record(path)
    return read_sidecar(path)
