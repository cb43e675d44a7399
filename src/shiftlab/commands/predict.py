"""`shiftlab predict`: a run's checkpoint on one benchmark -> predictions parquet."""

from __future__ import annotations

import argparse

from shiftlab.config import choices, default

HELP = "Predict a benchmark with a run's checkpoint (top-k, probabilities, scores per sample)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", required=True, help="the run's checkpoint (final.pt / init.pt)"
    )
    parser.add_argument("--index", required=True, help="dataset index parquet of the benchmark")
    parser.add_argument(
        "--benchmark-json", required=True, help="the benchmark's config entry as JSON"
    )
    parser.add_argument("--out", required=True, help="predictions parquet to write")
    parser.add_argument(
        "--threads", type=int, default=1, help="CPU threads and data-loading workers"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=default("evaluation.batch_size"),
        help="images per forward pass (default %(default)s)",
    )
    parser.add_argument("--fp32", action="store_true", help="never use bf16 autocast")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--topk", type=int, default=5, help="how many classes to store per sample")
    parser.add_argument(
        "--decode",
        default=default("evaluation.decode"),
        choices=choices("evaluation.decode"),
        help="JPEG decoder: nvjpeg (CUDA only, for benchmarks read without resizing) or cpu "
        "(libjpeg in the loader processes); auto = nvjpeg where it applies",
    )
    parser.add_argument(
        "--clean-index", help="ImageNet-O: index of the clean val set (its in-distribution half)"
    )
    parser.add_argument(
        "--full-1000",
        action="store_true",
        help="class-subset benchmarks (A, R, O): score over the whole label space (labelled variant)",
    )


def run(args: argparse.Namespace) -> int:
    import logging

    from shiftlab.commands.json_args import json_object
    from shiftlab.evaluate import predict

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    bench = json_object(args.benchmark_json, "--benchmark-json")
    out = predict(
        args.checkpoint,
        args.index,
        bench,
        args.out,
        threads=args.threads,
        batch_size=args.batch_size,
        fp32=args.fp32,
        device=args.device,
        topk=args.topk,
        full=args.full_1000,
        clean_index=args.clean_index,
        decode=args.decode,
    )
    print(f"wrote {out}")
    return 0
