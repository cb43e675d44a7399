"""What an audit reports: one finding per discrepancy, each naming a file and a number."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR = "error"  # the chain does not verify: exit non-zero
STALE = "stale"  # verified, but produced by other code than the installed version
NOTE = "note"  # could not be checked here (e.g. a file recorded on another machine)


@dataclass(frozen=True)
class Finding:
    level: str
    file: str
    message: str
    row: int | None = None  # summary.csv data row (0-based, as `pandas.read_csv(...).iloc`)
    number: str = ""  # e.g. "resnet18 val top1=0.8125"

    def line(self) -> str:
        where = f"row {self.row} ({self.number})" if self.row is not None else "study"
        return f"{self.level}: {where}: {self.file}: {self.message}"


@dataclass
class AuditReport:
    summary: str
    rows_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if finding not in self.findings:
            self.findings.append(finding)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    def ok(self, strict: bool = False) -> bool:
        bad = {ERROR, STALE} if strict else {ERROR}
        return not any(f.level in bad for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "rows_checked": self.rows_checked,
            "ok": self.ok(),
            "findings": [asdict(f) for f in self.findings],
        }
