"""Size limits (issue 19): no module over 400 lines, no function over 80, in src/shiftlab."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tools" / "check_sizes.py"

# Modules or functions allowed over a limit (none now). The test asserts this set equals
# what the checker finds, so it can only shrink.
ALLOWED: set[str] = set()


def check_sizes(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECKER), *args], capture_output=True, text=True, timeout=120
    )


def offenders(output: str) -> set[str]:
    """The keys of the checker's `key: N lines (limit L)` lines."""
    return {line.split(": ")[0] for line in output.splitlines() if line.strip()}


def test_only_the_allowed_modules_and_functions_are_over_the_limits():
    proc = check_sizes()
    found = offenders(proc.stdout)
    assert not found - ALLOWED, f"over the size limits: {sorted(found - ALLOWED)}"
    assert not ALLOWED - found, (
        f"now within the limits, delete from ALLOWED: {sorted(ALLOWED - found)}"
    )
    assert proc.returncode == (1 if found else 0), proc.stderr


def test_checker_flags_long_modules_and_functions(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    body = "".join(f"        x{i} = {i}\n" for i in range(5))
    (package / "small.py").write_text(f"def short():\n{body}")  # 6 lines
    # 7 lines: a decorator counts as part of its function
    (package / "nested.py").write_text(f"class A:\n    @staticmethod\n    def method():\n{body}")
    (package / "long.py").write_text("\n" * 12)
    assert check_sizes(str(package), "--max-module", "12", "--max-function", "7").returncode == 0
    proc = check_sizes(str(package), "--max-module", "11", "--max-function", "5")
    assert proc.returncode == 1
    assert offenders(proc.stdout) == {
        "pkg/long.py",
        "pkg/small.py::short",
        "pkg/nested.py::A.method",
    }
