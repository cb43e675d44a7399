"""`shiftlab metrics`: one benchmark's predictions -> the tidy metrics CSV (rule `metrics`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from shiftlab.atomic import atomic_path
from shiftlab.commands.json_args import json_object
from shiftlab.config import default
from shiftlab.errors import UserError

HELP = "Compute a benchmark's metrics (with 95%% intervals) from predictions into a tidy CSV."

COLUMNS = [
    "run",
    "benchmark",
    "variant",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "predictions_sha256",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run name (a model, possibly fine-tuned)")
    parser.add_argument("--benchmark", required=True, help="benchmark id from the config")
    parser.add_argument(
        "--benchmark-json", required=True,
        help='the benchmark\'s config entry as JSON (or a JSON file), e.g. \'{"kind": "imagenet_c"}\'',
    )  # fmt: skip
    parser.add_argument("--predictions", required=True, help="predictions parquet of this run")
    parser.add_argument(
        "--clean-predictions",
        help="this run's clean val predictions (A/R clean subset, O in-distribution, relative mCE, shift reference)",
    )
    parser.add_argument(
        "--baseline-predictions", help="baseline run's predictions on the same benchmark"
    )
    parser.add_argument(
        "--baseline-clean-predictions", help="baseline run's clean val predictions (relative mCE)"
    )
    parser.add_argument("--out", required=True, help="metrics CSV to write (atomically)")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=default("stats.bootstrap"),
        help="bootstrap replicates (0: no bootstrap CIs; default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=default("seed"), help="bootstrap seed")
    parser.add_argument(
        "--alpha", type=float, default=default("stats.alpha"), help="1 - interval coverage"
    )


def _benchmark_entry(text: str) -> dict:
    entry = json_object(text, "--benchmark-json")
    if "kind" not in entry:
        raise UserError("--benchmark-json must be an object with a 'kind'")
    return entry


def run(args: argparse.Namespace) -> int:

    import pandas as pd

    from shiftlab.hashing import sha256_file
    from shiftlab.metrics.compute import SOURCE, Options, compute_metrics, read_predictions
    from shiftlab.metrics.registry import get_metric
    from shiftlab.provenance import make_record, now, write_sidecar

    started = now()
    bench = _benchmark_entry(args.benchmark_json)
    if args.baseline_clean_predictions and not args.baseline_predictions:
        raise UserError("--baseline-clean-predictions needs --baseline-predictions")
    optional = {
        "clean": args.clean_predictions,
        "baseline": args.baseline_predictions,
        "baseline_clean": args.baseline_clean_predictions,
    }
    loaded = {name: read_predictions(p) if p else None for name, p in optional.items()}
    preds = read_predictions(args.predictions)
    opts = Options(bench, reps=args.bootstrap, seed=args.seed, alpha=args.alpha, **loaded)
    rows = compute_metrics(preds, opts)

    # each row names the file it was computed from (the clean subset rows: the clean set's)
    digests = {"": sha256_file(args.predictions)}
    digests |= {name: sha256_file(path) for name, path in optional.items() if path}
    table = pd.DataFrame(rows)
    table.insert(0, "benchmark", args.benchmark)
    table.insert(0, "run", args.run)
    source = table[SOURCE].fillna("") if SOURCE in table else pd.Series("", index=table.index)
    table["predictions_sha256"] = source.map(digests)
    table = table[COLUMNS]

    out = Path(args.out)
    with atomic_path(out) as tmp:  # the sidecar is written before the table appears
        table.to_csv(tmp, index=False, float_format="%.10g")
        inputs = {"predictions": args.predictions} | {k: v for k, v in optional.items() if v}
        docs = {}
        for metric in sorted(table["metric"].unique()):
            info = get_metric(metric)
            docs[info.name] = {"unit": info.unit, "interval": info.interval, "doc": info.doc}
        record = make_record(
            "metrics",
            params={"run": args.run, "benchmark": args.benchmark, "benchmark_entry": bench,
                    "bootstrap": args.bootstrap, "seed": args.seed, "alpha": args.alpha},
            inputs=inputs,
            started=started,
            extra={"metric_docs": docs},
        )  # fmt: skip
        write_sidecar(out, record)
    print(f"shiftlab metrics: {len(table)} rows -> {out}")
    return 0
