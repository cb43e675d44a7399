"""`shiftlab index`: the dataset index of one benchmark (the `index` rule's verb)."""

from __future__ import annotations

import argparse
import sys

from shiftlab.commands.layout_args import add_layout_options

HELP = "Write a benchmark's dataset index (sample, target, wnid, variant[, labels]) parquet."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", metavar="KIND", help="benchmark kind (see `shiftlab datasets list`)")
    p.add_argument("root", metavar="ROOT", help="benchmark root folder")
    p.add_argument("--out", required=True, help="index parquet to write")
    p.add_argument(
        "--label-space",
        required=True,
        help="imagenet1k | mininet | class-per-line file (wnids or names)",
    )
    p.add_argument("--benchmark", required=True, help="benchmark id in the study config")
    p.add_argument(
        "--no-fingerprint",
        action="store_true",
        help="skip hashing the dataset (metadata fingerprint null)",
    )
    add_layout_options(p)


def run(args: argparse.Namespace) -> int:
    from shiftlab.data.index import build_index, write_index
    from shiftlab.data.own import FolderLayout

    frame, meta = build_index(
        args.kind, args.root, args.label_space, args.benchmark, args.variant,
        args.real_json, args.class_map, args.ground_truth, fingerprint=not args.no_fingerprint,
        layout=FolderLayout.from_json(args.folder_json),
    )  # fmt: skip
    write_index(frame, meta, args.out)
    outside = f", {meta['out_of_space']} outside the label space" if meta["out_of_space"] else ""
    print(f"{args.out}: {meta['n']} samples of {args.kind}{outside}", file=sys.stderr)
    return 0
