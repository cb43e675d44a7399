"""Report modules and functions in src/shiftlab that exceed the project's size limits.

Large modules and long functions hide several responsibilities behind one name; the
limits (issue 19) keep each piece of plumbing small enough to read in one sitting.
Exits 1 when anything is over a limit, so CI and the test suite can enforce it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "src" / "shiftlab"


@dataclass(frozen=True)
class Offender:
    """One module or function over its limit; ``name`` is "" for a whole module."""

    path: str
    name: str
    lines: int
    limit: int

    @property
    def key(self) -> str:
        """``path`` for a module, ``path::qualified.name`` for a function."""
        return f"{self.path}::{self.name}" if self.name else self.path

    def __str__(self) -> str:
        return f"{self.key}: {self.lines} lines (limit {self.limit})"


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """Yield (qualified name, node) for every function, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, node
            yield from _functions(node, f"{name}.")
        else:
            yield from _functions(node, prefix)


def _function_lines(node: ast.AST) -> int:
    """Lines from the first decorator (or ``def``) to the last line of the body."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return node.end_lineno - first + 1


def offenders(
    root: Path = DEFAULT_ROOT,
    max_module: int = MAX_MODULE_LINES,
    max_function: int = MAX_FUNCTION_LINES,
) -> list[Offender]:
    """Every module and function under ``root`` over its limit, paths relative to ``root``'s parent."""
    found: list[Offender] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        source = path.read_text(encoding="utf-8")
        n_lines = len(source.splitlines())
        if n_lines > max_module:
            found.append(Offender(rel, "", n_lines, max_module))
        for name, node in _functions(ast.parse(source, filename=str(path))):
            length = _function_lines(node)
            if length > max_function:
                found.append(Offender(rel, name, length, max_function))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--max-module", type=int, default=MAX_MODULE_LINES)
    parser.add_argument("--max-function", type=int, default=MAX_FUNCTION_LINES)
    args = parser.parse_args(argv)
    found = offenders(args.root, args.max_module, args.max_function)
    for offender in found:
        print(offender)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
