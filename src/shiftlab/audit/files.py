"""A study's files as the audit sees them: paths, and cached hashes, records and checks.

A study's rows share files, so every hash, record and dataset verification is computed once
here and reused by the chain, the recomputation and the resampling checks.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Any

from shiftlab.audit.dataset import DatasetCheck, verify_dataset
from shiftlab.hashing import sha256_bytes, sha256_file
from shiftlab.provenance import (
    code_version,
    read_checkpoint_meta,
    read_parquet_record,
    read_sidecar,
)


def blank(value: Any) -> bool:
    """Missing in a CSV cell or a record: None, NaN or the empty string."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == ""


def text(value: Any) -> str:
    """A cell as a string, with every kind of missing as ``""``, so comparisons are simple."""
    return "" if blank(value) else str(value)


def same_number(a: Any, b: Any) -> bool:
    """Equal as floats (both missing counts as equal); tolerant only of CSV float printing."""
    if blank(a) and blank(b):
        return True
    if blank(a) or blank(b):
        return False
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)
    if math.isnan(x) and math.isnan(y):
        return True
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


class StudyFiles:
    """The study directory with cached hashes, records and dataset checks."""

    def __init__(self, summary: Path, workdir: Path | None = None) -> None:
        self.summary = summary
        self.results = summary.parent
        # Rules run from the workflow directory, so recorded relative paths start there.
        self.workdir = workdir or self.results.parent.parent
        self._sha: dict[Path, str | None] = {}
        self._records: dict[Path, Any] = {}
        self._frames: dict[Path, Any] = {}
        self._datasets: dict[tuple[str, str], DatasetCheck] = {}
        self._by_hash: dict[str, dict[str, Path]] = {}
        self._metric_rows: dict[Path, dict[tuple[str, str], dict[str, Any]]] = {}

    def rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def metrics_csv(self, run: str, benchmark: str) -> Path:
        return self.results / "metrics" / run / f"{benchmark}.csv"

    def predictions(self, run: str, benchmark: str) -> Path:
        return self.results / "predictions" / run / f"{benchmark}.parquet"

    def checkpoint(self, run: str) -> Path:
        """Fallback when no record names it: fine-tuned weights, else the initial ones
        (`shiftlab.workflow.Study.checkpoint`)."""
        folder = self.results / "checkpoints" / run
        final = folder / "final.pt"
        return (
            final if final.is_file() or not (folder / "init.pt").is_file() else folder / "init.pt"
        )

    def index(self, benchmark: str) -> Path:
        return self.results / "index" / f"{benchmark}.parquet"

    def sha(self, path: Path) -> str | None:
        if path not in self._sha:
            self._sha[path] = sha256_file(path) if path.is_file() else None
        return self._sha[path]

    def record(self, path: Path) -> tuple[dict[str, Any] | None, str]:
        """(record, error text) of a parquet file, checkpoint or sidecar-carrying output."""
        if path not in self._records:
            try:
                if path.suffix == ".parquet":
                    value: Any = read_parquet_record(path)
                elif path.suffix == ".pt":
                    value = read_checkpoint_meta(path)
                else:
                    value = read_sidecar(path)
                self._records[path] = (value, "")
            except Exception as exc:  # noqa: BLE001 - a damaged file is a finding, not a crash
                self._records[path] = (None, f"{type(exc).__name__}: {exc}")
        return self._records[path]

    def metrics_frame(self, path: Path) -> Any:
        import pandas as pd

        if path not in self._frames:
            self._frames[path] = pd.read_csv(
                path, keep_default_na=False, na_values=[""], dtype={"variant": str}
            )
        return self._frames[path]

    def metrics_number(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The metrics-file row a summary row repeats (same run, benchmark, variant, metric),
        or None for a statistic the aggregate step derived (or a missing metrics file)."""
        path = self.metrics_csv(text(row.get("run")), text(row.get("benchmark")))
        if path not in self._metric_rows:
            table: dict[tuple[str, str], dict[str, Any]] = {}
            if path.is_file():
                frame = self.metrics_frame(path)
                for found in frame.to_dict("records"):
                    key = (text(found.get("variant")), text(found.get("metric")))
                    table.setdefault(key, found)
            self._metric_rows[path] = table
        return self._metric_rows[path].get((text(row.get("variant")), text(row.get("metric"))))

    def dataset(self, root: str, expected: str, meta: dict[str, Any]) -> DatasetCheck:
        key = (root, expected)
        if key not in self._datasets:
            extra = text(meta.get("real_json_sha256"))

            def combine(digest: str) -> str:  # as shiftlab.data.index.index_fingerprint does
                return sha256_bytes(f"{digest}\n{extra}\n".encode()) if extra else digest

            self._datasets[key] = verify_dataset(self.resolve(root), expected, combine)
        return self._datasets[key]

    def resolve(self, recorded: str) -> Path:
        """A recorded path: absolute as is; relative from the workflow dir, else the cwd."""
        path = Path(recorded)
        if path.is_absolute():
            return path
        return self.workdir / path if (self.workdir / path).exists() else path

    def study_config(self, digest: Any) -> bool:
        """Whether `digest` is the study-wide config hash the aggregate step recorded (then it
        cannot be checked against one run's training params)."""
        record, _ = self.record(self.summary)
        return bool(digest) and text(
            ((record or {}).get("params") or {}).get("config_sha256")
        ) == text(digest)

    def recorded_path(self, entry: Any) -> Path | None:
        """The file a record's input entry names (resolved), if it names one."""
        if isinstance(entry, dict) and entry.get("path"):
            return self.resolve(str(entry["path"]))
        return None

    def predictions_records(self) -> list[tuple[Path, dict[str, Any]]]:
        """(path, embedded record) of every predictions file of the study that has one."""
        found = []
        for path in sorted((self.results / "predictions").glob("*/*.parquet")):
            record, _ = self.record(path)
            if record:
                found.append((path, record))
        return found

    def recorded(self, kind: str) -> dict[str, Path]:
        """digest -> file as the records saw it when they were written (so a file changed
        since can still be named): predictions from the aggregate's and the metrics jobs'
        records, checkpoints and dataset fingerprints from the predictions records."""
        key = f"recorded:{kind}"
        if key in self._by_hash:
            return self._by_hash[key]
        found: dict[str, Path] = {}
        if kind == "predictions":
            summary_record, _ = self.record(self.summary)
            for name, entry in ((summary_record or {}).get("inputs") or {}).items():
                if not isinstance(entry, dict) or not entry.get("sha256"):
                    continue
                recorded = entry.get("path") or name.partition(":")[2]
                if recorded.endswith(".parquet"):
                    found.setdefault(str(entry["sha256"]), self.resolve(recorded))
            for csv_path in sorted((self.results / "metrics").glob("*/*.csv")):
                record, _ = self.record(csv_path)
                for entry in ((record or {}).get("inputs") or {}).values():
                    path = self.recorded_path(entry)
                    if path is not None and entry.get("sha256"):
                        found.setdefault(str(entry["sha256"]), path)
        else:
            for _, record in self.predictions_records():
                checkpoint, index = input_of(record, "checkpoint"), input_of(record, "index")
                if kind == "checkpoints":
                    entry, digest = checkpoint, (checkpoint or {}).get("sha256")
                else:
                    entry, digest = index, (input_of(record, "dataset") or {}).get("sha256")
                path = self.recorded_path(entry)
                if path is not None and digest:
                    found.setdefault(str(digest), path)
        self._by_hash[key] = found
        return found

    def hashes(self, kind: str) -> dict[str, Path]:
        """digest -> file for a kind of study file: predictions and checkpoints by sha256,
        indexes by their dataset fingerprint."""
        if kind not in self._by_hash:
            pattern = {"predictions": "*/*.parquet", "checkpoints": "*/*.pt"}.get(kind, "*.parquet")
            found: dict[str, Path] = {}
            for path in sorted((self.results / kind).glob(pattern)):
                if kind == "index":
                    meta, _ = self.record(path)
                    digest = text((meta or {}).get("fingerprint"))
                else:
                    digest = self.sha(path) or ""
                if digest:
                    found[digest] = path
            self._by_hash[kind] = found
        return self._by_hash[kind]

    @cached_property
    def current_code(self) -> dict[str, Any]:
        return code_version()


def input_of(record: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """A record input by its conventional name (`checkpoint`, `index`, `dataset`)."""
    inputs = (record or {}).get("inputs") or {}
    aliases = {"dataset": ("dataset", "dataset_fingerprint", "fingerprint")}.get(name, (name,))
    for alias in aliases:
        if isinstance(inputs.get(alias), dict):
            return inputs[alias]
    suffix = {"checkpoint": ".pt", "index": "/index/"}.get(name)
    for entry in inputs.values():
        if isinstance(entry, dict) and suffix and suffix in str(entry.get("path", "")):
            return entry
    return None
