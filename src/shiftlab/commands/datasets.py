"""`shiftlab datasets`: check, fingerprint and list benchmark datasets (the index is the
`index` verb's)."""

from __future__ import annotations

import argparse
import json
import sys

from shiftlab.commands.layout_args import add_layout_options

HELP = "Check and fingerprint benchmark datasets (list: known kinds)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser(
        "check",
        help="check counts, classes and readability",
        description="Check a benchmark root; exit 1 on problems.",
    )
    p.add_argument("kind", metavar="KIND")
    p.add_argument("root", metavar="ROOT")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--expect-count",
        type=int,
        help="expected samples (per variant cell for C/P/T) instead of the registry's",
    )
    p.add_argument("--no-decode", action="store_true", help="skip decoding every file")
    p.add_argument(
        "--label-space", help="classes by name: a class-per-line file (folders named by class)"
    )
    add_layout_options(p)

    p = sub.add_parser(
        "fingerprint",
        help="manifest + content fingerprint of a folder",
        description="Print the content fingerprint of ROOT (cached by size+mtime).",
    )
    p.add_argument("root", metavar="ROOT")
    p.add_argument(
        "--verify",
        action="store_true",
        help="re-hash every file; exit 1 if a file changed without its size/mtime",
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "list",
        help="list registered benchmark kinds",
        description="List benchmark kinds with counts and sources.",
    )
    p.add_argument("filter", nargs="?", default="*", help="wildcard, e.g. 'imagenet_*'")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    return {"check": _check, "fingerprint": _fingerprint, "list": _list}[args.action](args)


def _check(args: argparse.Namespace) -> int:
    from shiftlab.data.check import check_dataset, format_report
    from shiftlab.data.own import FolderLayout

    report = check_dataset(
        args.kind, args.root, args.variant, args.expect_count, not args.no_decode,
        args.real_json, args.class_map, args.ground_truth, space_spec=args.label_space,
        layout=FolderLayout.from_json(args.folder_json),
    )  # fmt: skip
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 1 if report["problems"] else 0


def _fingerprint(args: argparse.Namespace) -> int:
    from shiftlab.data.fingerprint import build_manifest

    manifest = build_manifest(args.root, verify=args.verify)
    result = {
        "root": args.root,
        "fingerprint": manifest.fingerprint,
        "files": len(manifest.entries),
        "bytes": manifest.total_bytes,
        "hashed": manifest.rehashed,
        "changed_in_place": manifest.changed_in_place,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{manifest.fingerprint}  {args.root}  ({len(manifest.entries)} files, {manifest.total_bytes} bytes, {manifest.rehashed} hashed)"
        )
        for path in manifest.changed_in_place:
            print(f"changed without size/mtime change: {path}", file=sys.stderr)
    return 1 if manifest.changed_in_place else 0


def _list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from shiftlab.data.registry import get_benchmark, list_benchmarks

    entries = [get_benchmark(name) for name in list_benchmarks(args.filter)]
    if args.json:
        print(json.dumps([asdict(e) for e in entries], indent=2, default=str))
        return 0
    for e in entries:
        count = (
            f"{e.expected_count:,}" + (" per cell" if e.count_per_variant else "")
            if e.expected_count
            else "-"
        )
        fetch = "fetch" if e.sources else "manual/local"
        print(f"{e.name:16} {count:>18}  {fetch:12} {e.description}")
    return 0
