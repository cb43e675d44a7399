"""Walk one summary row down its chain and re-verify every link.

summary row -> metrics CSV row (same value) -> predictions parquet (sha256, embedded record)
-> checkpoint (sha256, training params = config_sha256) and dataset (index fingerprint,
re-verified root) -> every other input a record names (re-hashed).

Which files a row rests on is read from the records, not assumed from the path layout: the
predictions file is the one whose recorded sha256 the row names (a clean-subset number of A/R
is computed from the clean val predictions), and the checkpoint and index are the ones its
predictions record names (an untrained run is evaluated with `init.pt`; on-the-fly ImageNet-C
is predicted from the clean set's index).

File hashes, records and dataset verifications are cached: a study's rows share files.
"""

from __future__ import annotations

import math
import re
from functools import cached_property
from pathlib import Path
from typing import Any

from shiftlab.audit.dataset import DatasetCheck, verify_dataset
from shiftlab.audit.findings import ERROR, NOTE, STALE, AuditReport, Finding
from shiftlab.hashing import sha256_bytes, sha256_file
from shiftlab.provenance import (
    code_version,
    code_version_string,
    params_sha256,
    read_checkpoint,
    read_parquet_record,
    read_sidecar,
)

PROVENANCE_COLUMNS = (
    "checkpoint_sha256",
    "dataset_fingerprint",
    "predictions_sha256",
    "config_sha256",
    "code_version",
    "mlflow_run_id",
)
# Which source digest (provenance.code_version()["sources"]) decides each kind of number.
_RULE_SOURCES = {
    "metrics": ("metrics",),
    "predict": ("evaluate", "models"),
    "train": ("train", "models"),
}


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == ""


def text(value: Any) -> str:
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
                    value = read_checkpoint(path)
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


class RowAudit:
    """Checks for one summary row; appends findings to the report."""

    def __init__(self, files: StudyFiles, report: AuditReport, index: int, row: dict[str, Any]):
        self.files, self.report, self.index, self.row = files, report, index, row
        self.run, self.benchmark = text(row.get("run")), text(row.get("benchmark"))
        variant = text(row.get("variant"))
        self.number = (
            f"{self.run} {self.benchmark}{'[' + variant + ']' if variant else ''} "
            f"{text(row.get('metric'))}={text(row.get('value'))}"
        )
        self.pred_record: dict[str, Any] | None = None
        self.metrics_row: dict[str, Any] | None = None
        self.pred_path = self.predictions_file()

    def predictions_file(self) -> Path:
        """The predictions file this number was computed from: the one with the sha256 the
        row names among the inputs of its metrics job (e.g. the clean val predictions behind
        A's `top1_clean_subset`), else the benchmark's own file."""
        own = self.files.predictions(self.run, self.benchmark)
        digest = text(self.row.get("predictions_sha256"))
        if not digest or ";" in digest or self.files.sha(own) == digest:
            return own
        record, _ = self.files.record(self.files.metrics_csv(self.run, self.benchmark))
        for entry in ((record or {}).get("inputs") or {}).values():
            path = self.files.recorded_path(entry)
            if path is not None and text(entry.get("sha256")) == digest:
                return path
        return own

    def flag(self, path: Path | str, message: str, level: str = ERROR) -> None:
        shown = self.files.rel(path) if isinstance(path, Path) else path
        self.report.add(Finding(level, shown, message, self.index, self.number))

    def compare_hash(self, path: Path, expected: Any, source: str) -> None:
        if blank(expected):
            return
        actual = self.files.sha(path)
        if actual is None:
            self.flag(path, f"missing (expected sha256 {text(expected)[:12]} from {source})")
        elif actual != text(expected):
            self.flag(path, f"sha256 {actual[:12]} != {text(expected)[:12]} recorded in {source}")

    # -- the chain ----------------------------------------------------------------------------

    def run_checks(self) -> None:
        listed = any(";" in text(self.row.get(c)) for c in PROVENANCE_COLUMNS)
        if not self.run or not self.benchmark or self.run == "*" or listed:
            self.check_listed_hashes()
            return
        self.check_metrics()
        self.check_predictions()
        self.check_checkpoint()
        self.check_dataset()
        self.check_code_version()

    def check_listed_hashes(self) -> None:
        """A number derived from several files (`run` '*', ';'-joined hashes): each listed
        hash must still belong to a file of the study; a file that had it is named."""
        summary = self.files.rel(self.files.summary)
        for column, kind in (
            ("predictions_sha256", "predictions"),
            ("checkpoint_sha256", "checkpoints"),
            ("dataset_fingerprint", "index"),
        ):
            known = self.files.hashes(kind)
            for digest in filter(None, text(self.row.get(column)).split(";")):
                if digest in known:
                    continue
                was = self.files.recorded(kind).get(digest)
                if was is None:
                    self.flag(
                        self.files.summary,
                        f"{column} {digest[:12]}: no file under {kind}/ has it any more",
                    )
                elif kind == "index":
                    self.flag(was, f"fingerprint changed: {summary} {column} lists {digest[:12]}")
                else:
                    actual = self.files.sha(was)
                    now = f"now {actual[:12]}" if actual else "missing"
                    self.flag(was, f"sha256 {now}, {summary} {column} lists {digest[:12]}")
        self.flag(
            self.files.summary, "aggregate statistic: inputs verified, value not re-derived", NOTE
        )

    def check_metrics(self) -> None:
        path = self.files.metrics_csv(self.run, self.benchmark)
        if not path.is_file():
            self.flag(path, "metrics file missing")
            return
        variant, metric = text(self.row.get("variant")), text(self.row.get("metric"))
        found = self.files.metrics_number(self.row)
        if found is None:  # a statistic the aggregate step derived, not a metrics-file number
            self.flag(
                path,
                f"no row for variant={variant!r} metric={metric!r}: value not re-derived",
                NOTE,
            )
        else:
            self.metrics_row = found
            self.compare_metrics_row(path, found)
        record, error = self.files.record(path)
        if error:
            self.flag(path, f"unreadable provenance sidecar: {error}")
        elif record:
            self.check_inputs(path, record)

    def compare_metrics_row(self, path: Path, found: dict[str, Any]) -> None:
        summary = self.files.summary
        for column in ("value", "ci_low", "ci_high", "n"):
            if (
                column in self.row
                and column in found
                and not same_number(self.row[column], found[column])
            ):
                self.flag(
                    summary,
                    f"{column} {text(self.row[column])} != {text(found[column])} in {self.files.rel(path)}",
                )

    def check_predictions(self) -> None:
        path = self.pred_path
        if not path.is_file():
            self.flag(path, "predictions file missing")
            return
        summary = self.files.rel(self.files.summary)
        self.compare_hash(path, self.row.get("predictions_sha256"), f"{summary} predictions_sha256")
        if self.metrics_row is not None:
            metrics = self.files.rel(self.files.metrics_csv(self.run, self.benchmark))
            self.compare_hash(path, self.metrics_row.get("predictions_sha256"), metrics)
        record, error = self.files.record(path)
        if error:
            self.flag(path, f"unreadable parquet/provenance record: {error}")
        elif record is None:
            self.flag(path, "no embedded provenance record (metadata key 'shiftlab')")
        else:
            self.pred_record = record
            self.check_inputs(path, record, skip=("checkpoint", "index"))

    def check_checkpoint(self) -> None:
        ckpt_input = input_of(self.pred_record, "checkpoint")
        path = self.files.recorded_path(ckpt_input) or self.files.checkpoint(self.run)
        if not path.is_file():
            self.flag(path, "checkpoint missing")
            return
        summary = self.files.rel(self.files.summary)
        self.compare_hash(path, self.row.get("checkpoint_sha256"), f"{summary} checkpoint_sha256")
        if ckpt_input:
            pred = self.files.rel(self.pred_path)
            self.compare_hash(path, ckpt_input.get("sha256"), f"{pred} provenance")
        meta, error = self.files.record(path)
        if error or meta is None:
            self.flag(path, f"cannot load with torch.load(weights_only=True): {error}")
            return
        record = meta.get("provenance") or {}
        if not record:
            self.flag(path, "checkpoint has no embedded provenance record", NOTE)
            return
        expected = self.row.get("config_sha256")
        actual = params_sha256(record.get("params") or {})
        if (
            not blank(expected)
            and actual != text(expected)
            and not self.files.study_config(expected)
        ):
            self.flag(
                path,
                f"training config sha256 {actual[:12]} != {text(expected)[:12]} "
                f"(config_sha256 in {summary})",
            )
        self.check_inputs(path, record)

    def check_dataset(self) -> None:
        index_input = input_of(self.pred_record, "index")
        path = self.files.recorded_path(index_input) or self.files.index(self.benchmark)
        if not path.is_file():
            self.flag(path, "dataset index missing")
            return
        pred = self.files.rel(self.pred_path)
        if index_input:
            self.compare_hash(path, index_input.get("sha256"), f"{pred} provenance")
        meta, error = self.files.record(path)
        if error or not meta:
            self.flag(path, f"no readable index metadata 'shiftlab': {error or 'absent'}")
            return
        fingerprint = text(meta.get("fingerprint"))
        summary = self.files.rel(self.files.summary)
        expected = text(self.row.get("dataset_fingerprint"))
        if expected and fingerprint != expected:
            self.flag(path, f"fingerprint {fingerprint[:12]} != {expected[:12]} in {summary}")
        recorded = input_of(self.pred_record, "dataset")
        if recorded and text(recorded.get("sha256")) != fingerprint:
            self.flag(
                path,
                f"fingerprint {fingerprint[:12]} != {text(recorded.get('sha256'))[:12]} "
                f"recorded in {pred}",
            )
        root = text(meta.get("root"))
        if not root or not fingerprint:
            self.flag(path, "index metadata names no dataset root/fingerprint", NOTE)
            return
        check = self.files.dataset(root, fingerprint, meta)
        shown = self.files.rel(self.files.resolve(root))
        if check.error:
            self.flag(shown, check.error)
        elif check.ok:
            return
        elif check.changed_files:
            for name in check.changed_files:
                self.flag(
                    f"{shown.rstrip('/')}/{name}",
                    f"dataset file changed (fingerprint {fingerprint[:12]})",
                )
        elif check.actual != check.expected:
            self.flag(
                shown,
                f"dataset fingerprint {text(check.actual)[:12]} != {fingerprint[:12]} recorded in "
                f"{self.files.rel(path)} ({check.method})",
            )

    def check_inputs(
        self, output: Path, record: dict[str, Any], skip: tuple[str, ...] = ()
    ) -> None:
        """Re-hash every input a record names by path: a changed one means a stale output."""
        for name, entry in (record.get("inputs") or {}).items():
            if name in skip or not isinstance(entry, dict) or not entry.get("path"):
                continue
            path = self.files.resolve(str(entry["path"]))
            actual = self.files.sha(path)
            if actual is None:
                self.flag(path, f"input {name!r} of {self.files.rel(output)} not found here", NOTE)
            elif actual != entry.get("sha256"):
                self.flag(
                    path,
                    f"sha256 {actual[:12]} != {text(entry.get('sha256'))[:12]} recorded as input "
                    f"{name!r} of {self.files.rel(output)}",
                )

    def check_code_version(self) -> None:
        """Flag numbers made by other code than the installed one (a warning: still verified)."""
        current = self.files.current_code
        record, _ = self.files.record(self.files.metrics_csv(self.run, self.benchmark))
        for rule_record, path in (
            (record, self.files.metrics_csv(self.run, self.benchmark)),
            (self.pred_record, self.pred_path),
        ):
            code = (rule_record or {}).get("code") or {}
            rule = (rule_record or {}).get("rule", "")
            sources = code.get("sources") or {}
            for package in _RULE_SOURCES.get(rule, ()):
                if sources.get(package) and sources[package] != current["sources"].get(package):
                    self.flag(path, f"made by other shiftlab.{package} code than installed", STALE)
        stamped = text(self.row.get("code_version"))
        if stamped and not record and not same_code(stamped, current):
            self.flag(
                self.files.summary,
                f"code_version {stamped} differs from installed {code_version_string(current)}",
                STALE,
            )


def same_code(stamped: str, current: dict[str, Any]) -> bool:
    """Whether a code-version stamp (`0.1.0+g<commit>[.dirty]` or `<commit>[-dirty]`) names the
    installed commit; a dirty tree is never known to be the same code."""
    commit = re.search(r"(?:^|\+g)([0-9a-f]{7,40})", stamped)
    if not commit or not current.get("git_commit"):
        return stamped == code_version_string(current)
    dirty = "dirty" in stamped
    return (
        current["git_commit"].startswith(commit[1]) and not dirty and not current.get("git_dirty")
    )


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


def check_summary_record(files: StudyFiles, report: AuditReport) -> None:
    """The aggregate's sidecar lists the metrics files it read: re-hash them."""
    record, error = files.record(files.summary)
    if error:
        report.add(Finding(ERROR, files.rel(files.summary), f"unreadable sidecar: {error}"))
        return
    for name, entry in ((record or {}).get("inputs") or {}).items():
        if not isinstance(entry, dict) or not entry.get("path"):
            continue
        path = files.resolve(str(entry["path"]))
        actual = files.sha(path)
        if actual is not None and actual != entry.get("sha256"):
            report.add(
                Finding(
                    ERROR,
                    files.rel(path),
                    f"sha256 {actual[:12]} != {text(entry.get('sha256'))[:12]} recorded as input "
                    f"{name!r} of {files.rel(files.summary)}",
                )
            )
