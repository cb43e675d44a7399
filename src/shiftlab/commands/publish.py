"""`shiftlab publish`: the report, summary and figures (and optionally models) to MLflow."""

from __future__ import annotations

import argparse

HELP = "Log the study's report, summary and figures (and checkpoints) as MLflow artifacts."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-json", required=True, help="tracking.json from `track`")
    parser.add_argument("--files", nargs="+", required=True, help="report.html, summary.csv, ...")
    parser.add_argument("--figures-dir", default=None, help="folder of figures")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="RUN=CHECKPOINT",
        help="log CHECKPOINT under the run's parent MLflow run (repeatable)",
    )
    parser.add_argument("--out", required=True, help="published.json: what was logged where")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mlflow.exceptions import MlflowException

    from shiftlab.atomic import write_json
    from shiftlab.errors import UserError
    from shiftlab.tracking.artifacts import publish
    from shiftlab.tracking.sync import read_tracking_json

    tracking = read_tracking_json(args.tracking_json)
    models = {}
    for item in args.model:
        run, sep, path = item.partition("=")
        if not sep or not run or not path:
            raise UserError(f"--model {item!r}: expected RUN=CHECKPOINT")
        models[run] = Path(path)
    figures = Path(args.figures_dir) if args.figures_dir else None
    try:
        result = publish(tracking, [Path(f) for f in args.files], figures, models)
    except (MlflowException, OSError) as exc:
        uri = tracking["tracking_uri"]
        raise UserError(f"logging artifacts to MLflow at {uri} failed: {exc}") from exc
    write_json(args.out, result)
    print(f"published {', '.join(result['artifacts'])} to MLflow run {result['study_run']}")
    return 0
