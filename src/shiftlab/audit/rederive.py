"""Re-derive every number of summary.csv, per_class.parquet and stats/*.csv.

The aggregate's sidecar records its inputs (metrics CSVs, predictions files, MLflow ids, in
the order it read them) and its `stats` settings (bootstrap resamples and seed, alpha,
correction). The audit runs the same aggregation code (`stats.aggregate.compute_tables`) on
those inputs in memory and compares each number with the file: per-cell metrics, bootstrap
intervals, paired and seed tests, effective-robustness fits and their provenance columns.

Numbers agree when |reported - re-derived| <= ABS_TOL + REL_TOL * |re-derived| (both missing
counts as equal); strings (provenance hashes, names) must be identical. A reported row the
re-derivation does not produce cannot be re-derived: an error, or a warning with
`allow_underived`.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from shiftlab.audit.files import StudyFiles, text
from shiftlab.audit.findings import ERROR, WARNING, AuditReport, Finding
from shiftlab.errors import UserError

REL_TOL = 1e-9
ABS_TOL = 1e-12
KEY = ["run", "benchmark", "variant", "metric"]
NUMERIC = ["value", "ci_low", "ci_high", "n"]


def tolerance_text() -> str:
    return f"|reported - re-derived| <= {ABS_TOL:g} + {REL_TOL:g} * |re-derived|"


class InputsChanged(LookupError):
    """The aggregate's inputs no longer hash as recorded (each is named by the chain check)."""


def rederive(files: StudyFiles) -> dict[str, pd.DataFrame]:
    """The aggregate's tables, computed again from the inputs its sidecar records."""
    from shiftlab.stats.aggregate import compute_tables
    from shiftlab.stats.summary import StatsConfig, load_study

    record, error = files.record(files.summary)
    if error or not record or record.get("rule") != "aggregate":
        raise LookupError(f"no aggregate provenance sidecar for {files.rel(files.summary)}")
    params, inputs = record.get("params") or {}, record.get("inputs") or {}
    if not params.get("predictions") or "stats" not in params:
        raise LookupError("its aggregate record lists no inputs and settings to re-derive from")

    def listed(kind: str) -> list[str]:
        return [str(files.resolve(str(name))) for name in params.get(kind) or []]

    changed = [
        name
        for name, entry in inputs.items()
        if isinstance(entry, dict)
        and entry.get("path")
        and files.sha(files.resolve(str(entry["path"]))) != entry.get("sha256")
    ]
    if changed:
        raise InputsChanged(f"{len(changed)} recorded input(s) changed or missing: {changed[0]}")
    mlflow = (inputs.get("mlflow_ids") or {}).get("path")
    try:
        cfg = StatsConfig(**(params.get("stats") or {}))
        study = load_study(
            listed("metrics"),
            listed("predictions"),
            cfg,
            str(params.get("config_sha256") or ""),
            str(files.resolve(str(mlflow))) if mlflow else None,
        )
    except (UserError, TypeError) as exc:
        raise LookupError(f"recorded inputs not loadable: {exc}") from exc
    return compute_tables(study)


def _as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """A re-derived table as its CSV file reads back (same dtypes, same float printing)."""
    return _read_csv(io.StringIO(frame.to_csv(index=False)))


def _read_csv(source: Any) -> pd.DataFrame:
    frame = pd.read_csv(source, keep_default_na=False, na_values=[""], dtype={"variant": str})
    if "variant" in frame:
        frame["variant"] = frame["variant"].fillna("")
    return frame


def mismatched(reported: pd.Series, derived: pd.Series) -> np.ndarray:
    """Row mask where two columns differ: numbers beyond the tolerance, other values at all."""
    a = pd.to_numeric(reported, errors="coerce").to_numpy(dtype=float)
    b = pd.to_numeric(derived, errors="coerce").to_numpy(dtype=float)
    numeric = (np.isnan(a) == pd.isna(reported).to_numpy()) & (
        np.isnan(b) == pd.isna(derived).to_numpy()
    )
    with np.errstate(invalid="ignore"):
        close = (
            (np.isnan(a) & np.isnan(b))
            | (a == b)
            | (np.abs(a - b) <= ABS_TOL + REL_TOL * np.abs(b))
        )
    same_text = (
        reported.astype(object).fillna("").astype(str)
        == derived.astype(object).fillna("").astype(str)
    ).to_numpy()
    return np.where(numeric, ~close, ~same_text)


def check_rederived(
    files: StudyFiles,
    report: AuditReport,
    frame: pd.DataFrame,
    selected: set[int],
    allow_underived: bool = False,
) -> None:
    """Compare summary.csv (the selected rows), per_class.parquet and stats/*.csv with a
    fresh aggregation of the recorded inputs."""
    summary = files.rel(files.summary)
    underived = WARNING if allow_underived else ERROR
    try:
        tables = rederive(files)
    except InputsChanged:
        return  # `chain.check_summary_record` names each changed input as an error
    except LookupError as exc:
        for index in sorted(selected):
            row = frame.iloc[index]
            report.add(_row_finding(underived, summary, f"cannot be re-derived: {exc}", index, row))
        return
    compare_summary(report, summary, frame, _as_written(tables["summary.csv"]), selected, underived)
    if len(selected) < len(frame):
        return  # a row selection audits summary rows only
    for name, derived in tables.items():
        if name == "summary.csv":
            continue
        path = files.results / name
        if not path.is_file():
            report.add(Finding(ERROR, files.rel(path), "missing: the aggregate writes it"))
            continue
        if name.endswith(".parquet"):
            reported = pd.read_parquet(path)
        else:
            reported, derived = _read_csv(path), _as_written(derived)
        compare_table(report, files.rel(path), reported, derived)


def _row_finding(level: str, file: str, message: str, index: int, row: Any) -> Finding:
    variant = text(row.get("variant"))
    number = (
        f"{text(row.get('run'))} {text(row.get('benchmark'))}{'[' + variant + ']' if variant else ''} "
        f"{text(row.get('metric'))}={text(row.get('value'))}"
    )
    return Finding(level, file, message, index, number, text(row.get("metric")))


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["variant"] = out["variant"].fillna("").astype(str)
    out["_occurrence"] = out.groupby(KEY, sort=False).cumcount()
    return out


def compare_summary(
    report: AuditReport,
    file: str,
    reported: pd.DataFrame,
    derived: pd.DataFrame,
    selected: set[int],
    underived: str,
) -> None:
    """Align rows on (run, benchmark, variant, metric, occurrence) and compare every column."""
    left = _keyed(reported).assign(_row=np.arange(len(reported)))
    right = _keyed(derived)
    merged = left.merge(
        right, on=[*KEY, "_occurrence"], how="outer", suffixes=("", "_derived"), indicator=True
    )
    columns = [c for c in reported.columns if c not in KEY and c in derived.columns]
    for record in merged[merged["_merge"] == "left_only"].to_dict("records"):
        if int(record["_row"]) in selected:
            message = "cannot be re-derived: the recorded inputs give no such number"
            report.add(_row_finding(underived, file, message, int(record["_row"]), record))
    for record in merged[merged["_merge"] == "right_only"].to_dict("records"):
        message = f"re-derived number missing from {file}: {text(record.get('value_derived'))}"
        report.add(Finding(ERROR, file, message, None, "", text(record.get("metric"))))
    both = merged[merged["_merge"] == "both"]
    both = both[both["_row"].astype(int).isin(selected)]
    for column in columns:
        bad = both[mismatched(both[column], both[f"{column}_derived"])]
        for record in bad.to_dict("records"):
            message = (
                f"{column} {text(record[column])} != re-derived {text(record[column + '_derived'])}"
            )
            report.add(_row_finding(ERROR, file, message, int(record["_row"]), record))


def compare_table(
    report: AuditReport, file: str, reported: pd.DataFrame, derived: pd.DataFrame
) -> None:
    """A detail table must equal its re-derivation row for row (it is written in order)."""
    if list(reported.columns) != list(derived.columns) or len(reported) != len(derived):
        report.add(
            Finding(
                ERROR,
                file,
                f"shape {len(reported)}x{len(reported.columns)} != re-derived "
                f"{len(derived)}x{len(derived.columns)} (columns {list(derived.columns)})",
            )
        )
        return
    reported, derived = reported.reset_index(drop=True), derived.reset_index(drop=True)
    for column in reported.columns:
        for i in np.flatnonzero(mismatched(reported[column], derived[column])):
            metric = text(reported["metric"][i]) if "metric" in reported else column
            message = (
                f"row {i} {column} {text(reported[column][i])} != re-derived "
                f"{text(derived[column][i])}"
            )
            report.add(Finding(ERROR, file, message, None, "", metric))
