"""`shiftlab aggregate`: summary.csv (every reported number with provenance) and stats/*.csv."""

from __future__ import annotations

import argparse

HELP = (
    "Aggregate metrics and predictions into summary.csv, per_class.parquet and stats/*.csv "
    "(tests, CIs, effective robustness)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (results/<study>)")
    parser.add_argument("--metrics", nargs="*", default=[], metavar="CSV", help="metrics CSVs")
    parser.add_argument(
        "--predictions", nargs="+", required=True, metavar="PARQUET",
        help="predictions parquets (results/<study>/predictions/<run>/<benchmark>.parquet)",
    )  # fmt: skip
    parser.add_argument(
        "--stats-json", default="{}",
        help='stats config, e.g. {"alpha":0.05,"correction":"holm","bootstrap":1000,"seed":0,'
        '"baseline_run":"resnet18","clean_benchmark":"val","benchmarks":{"c":"imagenet_c"}}',
    )  # fmt: skip
    parser.add_argument("--out-dir", required=True, help="results/<study>")
    parser.add_argument(
        "--config-sha256", default="", help="sha256 of the study config (provenance)"
    )
    parser.add_argument(
        "--headline", default=None, metavar="JSON",
        help="also write the headline numbers (for `dvc metrics show`) to this file",
    )  # fmt: skip
    parser.add_argument(
        "--mlflow-ids", default=None, metavar="JSON", help="tracking.json from `shiftlab track`"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shiftlab.provenance import make_record, write_sidecar
    from shiftlab.stats.aggregate import aggregate
    from shiftlab.stats.summary import StatsConfig, load_study

    cfg = StatsConfig.from_json(args.stats_json)
    study = load_study(args.metrics, args.predictions, cfg, args.config_sha256, args.mlflow_ids)
    tables = aggregate(study, args.out_dir)
    summary_path = Path(args.out_dir) / "summary.csv"
    record = make_record(
        "aggregate",
        params={
            "study": args.study,
            "stats": json_safe(cfg.__dict__),
            "config_sha256": args.config_sha256,
            # the order aggregate read its inputs in: `shiftlab audit` re-derives in it
            "metrics": list(args.metrics),
            "predictions": list(args.predictions),
        },
        inputs={
            **{f"metrics:{p}": p for p in args.metrics},
            **{f"predictions:{pred.path}": pred.path for pred in study.preds.values()},
            **({"mlflow_ids": args.mlflow_ids} if args.mlflow_ids else {}),
        },
        digests={f"predictions:{pred.path}": pred.sha256 for pred in study.preds.values()},
    )
    write_sidecar(summary_path, record)
    if args.headline:
        from shiftlab.stats.headline import write_headline

        write_headline(tables["summary.csv"], args.headline)
    print(
        f"aggregate: {len(tables['summary.csv'])} summary rows, {len(study.preds)} predictions files -> {args.out_dir}"
    )
    return 0


def json_safe(value):
    import json

    return json.loads(json.dumps(value, default=str))
