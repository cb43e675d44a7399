"""`shiftlab fetch`: download, verify and safely extract a benchmark into --dest (a localrule)."""

from __future__ import annotations

import argparse

HELP = "Download a benchmark (resumable, checksum-verified, safe extraction); writes <dest>/.fetched.json last."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", metavar="BENCHMARK", help="benchmark kind, e.g. imagenet_a")
    parser.add_argument("--dest", required=True, help="folder to install into (data/<id>)")
    parser.add_argument("--variant", help="V2 variant; C/P archive group or corruption name")
    parser.add_argument("--url", help="fetch this URL instead of the registry's (mirrors, tests)")
    parser.add_argument("--sha256", help="expected sha256 (overrides the registry)")
    parser.add_argument("--md5", help="expected md5 (overrides the registry)")
    parser.add_argument("--size", type=int, help="expected size in bytes (overrides the registry)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds without data before a stall error (default 60)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="resuming retries after transient failures (default 3)",
    )
    parser.add_argument(
        "--keep-archive",
        action="store_true",
        help="keep downloaded archives in <dest>/.shiftlab-download",
    )


def run(args: argparse.Namespace) -> int:
    from shiftlab.data.fetch import fetch_benchmark

    record = fetch_benchmark(
        args.benchmark, args.dest, args.variant, args.url, args.sha256, args.md5, args.size,
        args.timeout, args.retries, args.keep_archive,
    )  # fmt: skip
    print(f"{args.benchmark}: {', '.join(record['installed'])} in {args.dest}")
    return 0
