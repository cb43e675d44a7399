"""`shiftlab track`: log a study's training and metrics jobs to MLflow (head-node localrule)."""

from __future__ import annotations

import argparse

HELP = "Log a study's fine-tuning and metrics jobs to MLflow (single writer, idempotent)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results-dir", required=True, help="results/<study>")
    parser.add_argument("--study", help="experiment name (default: the results dir's name)")
    parser.add_argument(
        "--tracking-uri",
        help="MLflow URI; default MLFLOW_TRACKING_URI, else sqlite:///<results-dir>/mlflow.db",
    )
    parser.add_argument("--out", required=True, help="tracking.json: (run, benchmark) -> run id")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mlflow.exceptions import MlflowException

    from shiftlab.errors import UserError
    from shiftlab.tracking.store import resolve_uri
    from shiftlab.tracking.sync import sync_study, write_tracking_json

    results_dir = Path(args.results_dir)
    if not results_dir.is_dir():
        raise UserError(f"results dir {results_dir} does not exist")
    study = args.study or results_dir.resolve().name
    uri = resolve_uri(args.tracking_uri, results_dir)
    try:
        result = sync_study(results_dir, study, uri)
    except (MlflowException, OSError) as exc:  # store unreachable or unwritable: one line
        raise UserError(f"logging to MLflow at {uri} failed: {exc}") from exc
    write_tracking_json(args.out, study, uri, result)
    print(
        f"tracked {len(result.run_ids)} jobs in experiment {study!r} at {uri}: "
        f"{result.created} new, {result.replaced} updated, {result.skipped} unchanged"
    )
    return 0
