"""`shiftlab corrupt`: materialize ImageNet-C/-P/transform copies of an indexed dataset."""

from __future__ import annotations

import argparse

HELP = "Write corrupted copies of a dataset (ImageNet-C, ImageNet-P or transforms layout), sharded and resumable."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, help="dataset index parquet (shiftlab index)")
    parser.add_argument(
        "--kind",
        required=True,
        choices=("c", "p", "t"),
        help="c: ImageNet-C cells, p: ImageNet-P sequences, t: sensitivity transforms and shift probes",
    )
    parser.add_argument("--out", required=True, help="output folder, e.g. data/derived/val-c")
    parser.add_argument(
        "--seed", required=True, type=int, help="study seed (per-image streams derive from it)"
    )
    parser.add_argument(
        "--params-json",
        default="{}",
        help='settings as JSON or a path to a JSON file, e.g. \'{"params": "tiny", "names": ["fog"], '
        '"severities": [1, 3]}\'; missing keys mean all/defaults',
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="process samples I, I+N, ... (I counts from 0); default: all",
    )
    parser.add_argument(
        "--format",
        default="jpeg",
        choices=("jpeg", "png"),
        dest="fmt",
        help="image format for kinds c and t (p is always H.264 MP4)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="only combine the N shard parts into manifest.parquet (all must exist)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    from shiftlab.commands.json_args import json_object
    from shiftlab.corrupt.cells import parse_settings
    from shiftlab.corrupt.materialize import Job, materialize, merge, parse_shard

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    raw = json_object(args.params_json, "--params-json")
    job = Job(
        index=Path(args.index),
        kind=args.kind,
        out=Path(args.out),
        seed=args.seed,
        settings=parse_settings(raw),
        shard=parse_shard(args.shard),
        fmt=args.fmt,
    )
    if args.merge:
        merge(job)
    else:
        materialize(job, progress=not args.quiet)
    return 0
