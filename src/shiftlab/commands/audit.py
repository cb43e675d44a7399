"""`shiftlab audit`: trace every number of a summary.csv to its files and re-verify them."""

from __future__ import annotations

import argparse

HELP = (
    "Re-verify the chain behind each summary.csv number (metrics, predictions, checkpoint, "
    "dataset, config) and re-derive every number of summary.csv, per_class.parquet and "
    "stats/*.csv from its recorded inputs; exit 0 only when everything verifies."
)


def _tolerance() -> str:
    from shiftlab.audit.rederive import tolerance_text

    return tolerance_text()


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
    parser.add_argument(
        "--allow-underived",
        action="store_true",
        help="report numbers that cannot be re-derived from the recorded inputs as warnings "
        "instead of errors (re-derived numbers must agree within "
        f"{_tolerance()})",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--all", action="store_true", help="print every finding, not the first per file and metric"
    )
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
        allow_underived=args.allow_underived,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        lines = [f.line() for f in report.findings] if args.all else report.summary_lines(first=3)
        print("\n".join(lines), file=sys.stdout)
        errors = len(report.errors())
        warned = sum(1 for f in report.findings if f.level == "warning")
        verdict = "verified" if report.ok(args.strict) else f"{errors} discrepancies"
        verdict += f", {warned} not re-derived (--allow-underived)" if warned else ""
        print(f"audit {args.summary}: {report.rows_checked} rows, {verdict}", file=sys.stderr)
    return 0 if report.ok(args.strict) else 1
