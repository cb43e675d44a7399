"""The `shiftlab` command: one verb per Snakemake rule.

Verbs are registered by module path so `shiftlab --help` stays fast: a verb's module
must only import argparse-level things at top level and defer torch & co. to `run()`.
Each module in `shiftlab.commands` exposes `HELP: str`, `add_arguments(parser)` and
`run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from shiftlab.errors import UserError

# verb -> module (in pipeline order). Names match the rules that call them.
VERBS: dict[str, str] = {
    "check-config": "shiftlab.commands.check_config",
    "mininet": "shiftlab.commands.mininet",
    "fetch": "shiftlab.commands.fetch",
    "datasets": "shiftlab.commands.datasets",
    "index": "shiftlab.commands.index",
    "corrupt": "shiftlab.commands.corrupt",
    "fetch-weights": "shiftlab.commands.fetch_weights",
    "init-model": "shiftlab.commands.init_model",
    "train": "shiftlab.commands.train",
    "predict": "shiftlab.commands.predict",
    "metrics": "shiftlab.commands.metrics",
    "aggregate": "shiftlab.commands.aggregate",
    "report": "shiftlab.commands.report",
    "track": "shiftlab.commands.track",
    "publish": "shiftlab.commands.publish",
    "audit": "shiftlab.commands.audit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shiftlab",
        description="Robustness studies for image classifiers (one verb per workflow rule).",
    )
    from shiftlab import __version__

    parser.add_argument("--version", action="version", version=f"shiftlab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, module_name in VERBS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # verb not built yet in this checkout
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"shiftlab {args.verb}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
