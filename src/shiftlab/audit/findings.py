"""What an audit reports: one finding per discrepancy, each naming a file and a number, and
a summary of them per file and per metric."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR = "error"  # the chain does not verify, or a number does not re-derive: exit non-zero
STALE = "stale"  # verified, but produced by other code than the installed version
WARNING = "warning"  # a number that could not be re-derived, with --allow-underived
NOTE = "note"  # could not be checked here (e.g. a file recorded on another machine)


@dataclass(frozen=True)
class Finding:
    level: str
    file: str
    message: str
    row: int | None = None  # summary.csv data row (0-based, as `pandas.read_csv(...).iloc`)
    number: str = ""  # e.g. "resnet18 val top1=0.8125"
    metric: str = ""  # the metric the finding is about, when it is about one

    def line(self) -> str:
        where = f"row {self.row} ({self.number})" if self.row is not None else "study"
        return f"{self.level}: {where}: {self.file}: {self.message}"

    @property
    def family(self) -> str:
        """`class_acc/<wnid>` -> `class_acc`, `top1` -> `top1`: how findings are grouped."""
        if not self.metric and self.number:
            return self.number.rpartition(" ")[2].partition("=")[0].split("/")[0]
        return self.metric.split("/")[0]


@dataclass
class AuditReport:
    summary: str
    rows_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    _seen: set[Finding] = field(default_factory=set, repr=False)

    def add(self, finding: Finding) -> None:
        if finding not in self._seen:
            self._seen.add(finding)
            self.findings.append(finding)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    def ok(self, strict: bool = False) -> bool:
        bad = {ERROR, STALE} if strict else {ERROR}
        return not any(f.level in bad for f in self.findings)

    def grouped(self) -> dict[tuple[str, str, str], list[Finding]]:
        """Findings by (level, file, metric family), in first-seen order."""
        groups: dict[tuple[str, str, str], list[Finding]] = {}
        for f in self.findings:
            groups.setdefault((f.level, f.file, f.family), []).append(f)
        return groups

    def summary_lines(self, first: int = 3) -> list[str]:
        """One line per (level, file, metric) with its count, then its first findings."""
        lines = []
        for (level, file, family), found in self.grouped().items():
            lines.append(f"== {level.upper()} {file} [{family or '-'}]: {len(found)} finding(s)")
            lines += [f.line() for f in found[:first]]
            if len(found) > first:
                lines.append(f"   ... {len(found) - first} more (--all or --json lists them)")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "rows_checked": self.rows_checked,
            "ok": self.ok(),
            "findings": [asdict(f) for f in self.findings],
        }
