"""`shiftlab audit`: trace every number of a summary.csv to its files and re-verify them."""

from __future__ import annotations

import argparse

HELP = (
    "Re-verify the chain behind each summary.csv number (metrics, predictions, checkpoint, "
    "dataset, config); exit 0 only when everything verifies."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("summary", help="results/<study>/summary.csv")
    parser.add_argument(
        "--row",
        type=int,
        action="append",
        metavar="N",
        help="audit only data row N (0-based, repeatable; default: all rows)",
    )
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="recompute numbers with the installed metric code and compare with MLflow",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        metavar="K",
        help="re-predict K samples per predictions file on the CPU and compare bit for bit",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail on numbers made by other code than the installed version",
    )
    parser.add_argument(
        "--workdir",
        help="directory recorded relative paths start from (default: the "
        "directory holding results/)",
    )


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from shiftlab.audit import audit_summary

    if args.sample < 0:
        from shiftlab.errors import UserError

        raise UserError("--sample must be >= 0")
    report = audit_summary(
        args.summary,
        rows=args.row,
        recompute=args.recompute,
        sample=args.sample,
        workdir=args.workdir,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for finding in report.findings:
            print(finding.line(), file=sys.stdout)
        errors = len(report.errors())
        verdict = "verified" if report.ok(args.strict) else f"{errors} discrepancies"
        print(f"audit {args.summary}: {report.rows_checked} rows, {verdict}", file=sys.stderr)
    return 0 if report.ok(args.strict) else 1
