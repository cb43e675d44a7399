"""`shiftlab check-config`: validate a study config the way the workflow does, before any job."""

from __future__ import annotations

import argparse
import json

HELP = "Validate a study config (schema, references, paths) and print the completed config."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config file, e.g. config/config.yaml")
    parser.add_argument(
        "--no-paths", action="store_true", help="skip checks of local paths and writable folders"
    )
    parser.add_argument(
        "--print", action="store_true", help="print the config with defaults filled in (JSON)"
    )


def run(args: argparse.Namespace) -> int:
    from shiftlab import config

    completed = config.validate(config.load(args.config), check_paths=not args.no_paths)
    if args.print:
        print(json.dumps(completed, indent=2, sort_keys=True))
    else:
        print(
            f"{args.config}: ok ({len(completed['runs'])} runs, {len(completed['benchmarks'])} benchmarks)"
        )
    return 0
