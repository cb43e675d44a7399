"""`shiftlab audit`: re-verify the chain behind every number of a study's summary.csv, and
re-derive every number of summary.csv, per_class.parquet and stats/*.csv from it."""

from __future__ import annotations

from pathlib import Path

from shiftlab.audit.chain import RowAudit, check_summary_record
from shiftlab.audit.files import StudyFiles
from shiftlab.audit.findings import ERROR, NOTE, STALE, WARNING, AuditReport, Finding
from shiftlab.errors import UserError

__all__ = ["ERROR", "NOTE", "STALE", "WARNING", "AuditReport", "Finding", "audit_summary"]


def audit_summary(
    summary: str | Path,
    rows: list[int] | None = None,
    recompute: bool = False,
    sample: int = 0,
    workdir: str | Path | None = None,
    allow_underived: bool = False,
) -> AuditReport:
    """Audit `results/<study>/summary.csv` (all rows, or the 0-based `rows`); with
    `allow_underived` a number that cannot be re-derived is a warning, not an error."""
    import pandas as pd

    summary = Path(summary)
    if not summary.is_file():
        raise UserError(f"{summary} does not exist")
    frame = pd.read_csv(summary, keep_default_na=False, na_values=[""], dtype={"variant": str})
    missing = {"run", "benchmark", "variant", "metric", "value"} - set(frame.columns)
    if missing:
        raise UserError(f"{summary} lacks columns {sorted(missing)}")
    selected = rows if rows is not None else list(range(len(frame)))
    for index in selected:
        if not 0 <= index < len(frame):
            raise UserError(f"--row {index} is out of range: {summary} has {len(frame)} rows")
    files = StudyFiles(summary, Path(workdir) if workdir else None)
    report = AuditReport(str(summary))
    check_summary_record(files, report)
    picked = [(i, frame.iloc[i].to_dict()) for i in selected]
    for index, row in picked:
        RowAudit(files, report, index, row).run_checks()
        report.rows_checked += 1
    from shiftlab.audit.rederive import check_rederived

    check_rederived(files, report, frame, set(selected), allow_underived)
    if recompute:
        from shiftlab.audit.recompute import check_mlflow, check_recomputed

        check_recomputed(files, report, picked)
        check_mlflow(files, report, picked)
    if sample:
        from shiftlab.audit.resample import check_resampled

        check_resampled(files, report, picked, sample)
    return report
