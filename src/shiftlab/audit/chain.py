"""Walk one summary row down its chain and re-verify every link.

summary row -> metrics CSV row (same value) -> predictions parquet (sha256, embedded record)
-> checkpoint (sha256, training params = config_sha256) and dataset (index fingerprint,
re-verified root) -> every other input a record names (re-hashed).

Which files a row rests on is read from the records, not assumed from the path layout: the
predictions file is the one whose recorded sha256 the row names (a clean-subset number of A/R
is computed from the clean val predictions), and the checkpoint and index are the ones its
predictions record names (an untrained run is evaluated with `init.pt`; on-the-fly ImageNet-C
is predicted from the clean set's index).

File hashes, records and dataset verifications are cached in `files.StudyFiles`: a study's
rows share files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shiftlab.audit.files import StudyFiles, blank, input_of, same_number, text
from shiftlab.audit.findings import ERROR, NOTE, STALE, AuditReport, Finding
from shiftlab.provenance import code_version_string, params_sha256

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

    def check_metrics(self) -> None:
        path = self.files.metrics_csv(self.run, self.benchmark)
        if not path.is_file():
            self.flag(path, "metrics file missing")
            return
        found = self.files.metrics_number(self.row)
        if found is not None:  # else a statistic of the aggregate step (re-derived there)
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
