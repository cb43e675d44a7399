"""`shiftlab train`: fine-tune one run with a recipe; preemption-safe and resumable."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from shiftlab.commands.json_args import json_object
from shiftlab.config import default

HELP = (
    "Fine-tune a model with a recipe. Resumes from --state-dir; on SIGTERM/SIGUSR1 saves "
    "state and exits 99 so a resubmitted job continues where it stopped."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run name (logs, provenance)")
    parser.add_argument(
        "--model-json",
        required=True,
        help='the run entry, e.g. {"model": "resnet18", "weights": "imagenet"}',
    )
    parser.add_argument(
        "--recipe-json",
        required=True,
        help='the recipe entry, e.g. {"base": "augmix", "epochs": 2}',
    )
    parser.add_argument("--train-index", required=True, help="dataset index parquet to train on")
    parser.add_argument("--val-index", default=None, help="dataset index evaluated each epoch")
    parser.add_argument("--label-space", required=True, help="imagenet1k | mininet | wnid file")
    parser.add_argument(
        "--seed", type=int, default=default("seed"), help="training seed (default %(default)s)"
    )
    parser.add_argument("--out", required=True, help="final checkpoint (final.pt)")
    parser.add_argument(
        "--state-dir",
        required=True,
        help="resume state folder (kept beside, not as, the declared output)",
    )
    parser.add_argument("--history", required=True, help="per-epoch history CSV")
    parser.add_argument(
        "--init", default=None, help="start from this checkpoint (the base run's final.pt)"
    )
    parser.add_argument(
        "--nproc",
        type=int,
        default=int(os.environ.get("SHIFTLAB_NPROC", "1")),
        help="data-parallel processes via torchrun (default $SHIFTLAB_NPROC or 1)",
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads per process (0 = torch's default)"
    )
    parser.add_argument(
        "--log-every",
        type=int,
        default=50,
        help="a log line (loss, lr, images/s) every N optimizer steps; 0 = none (default %(default)s)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (none unless interactive)"
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow server (http[s]://): log loss, lr and images/s live at each log line",
    )
    parser.add_argument("--study", default=None, help="MLflow experiment of the live metrics")


def setup_logging() -> None:
    import logging

    if not logging.getLogger().handlers:
        rank = os.environ.get("RANK")
        prefix = f"[rank {rank}] " if rank is not None else ""
        logging.basicConfig(
            level=logging.INFO,
            stream=sys.stderr,
            format=f"%(asctime)s {prefix}%(levelname)s %(name)s: %(message)s",
        )


def _as_argv(args: argparse.Namespace) -> list[str]:
    """The parsed options back as command-line words (works when called in-process too)."""
    argv: list[str] = []
    for key, value in vars(args).items():
        if key.startswith("_") or key in ("verb", "nproc") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv


def _launch_parallel(args: argparse.Namespace) -> int:
    """Re-run this command under torchrun; forward SLURM's warning signals to it."""
    import signal
    import subprocess

    from shiftlab.train.distributed import launch_command

    cmd = launch_command(["train", *_as_argv(args)], args.nproc)
    env = dict(os.environ, SHIFTLAB_NPROC="1")  # workers must not launch again
    proc = subprocess.Popen(cmd, env=env)
    got: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        got.append(signum)
        proc.send_signal(signal.SIGTERM)  # torchrun relays SIGTERM to every worker

    for sig in (signal.SIGTERM, signal.SIGUSR1):
        signal.signal(sig, forward)
    code = proc.wait()
    from shiftlab.train.loop import EXIT_PREEMPTED

    return EXIT_PREEMPTED if got and code != 0 else code


def run(args: argparse.Namespace) -> int:
    from shiftlab.devices import resolve
    from shiftlab.train.distributed import in_torchrun

    resolve(args.device)  # a GPU job without a usable GPU stops here, before torchrun
    if args.nproc > 1 and not in_torchrun():
        return _launch_parallel(args)
    setup_logging()
    from pathlib import Path

    import torch

    from shiftlab.train.loop import FitConfig, fit
    from shiftlab.train.recipes import create_recipe

    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = create_recipe(json_object(args.recipe_json, "--recipe-json"))
    cfg = FitConfig(
        run=args.run,
        model=json_object(args.model_json, "--model-json"),
        recipe=recipe,
        train_index=Path(args.train_index),
        val_index=Path(args.val_index) if args.val_index else None,
        label_space=args.label_space,
        seed=args.seed,
        out=Path(args.out),
        state_dir=Path(args.state_dir),
        history=Path(args.history),
        init=Path(args.init) if args.init else None,
        device=args.device,
        progress=not args.no_progress and sys.stderr.isatty(),
        log_every=args.log_every,
        threads=args.threads,
        live=_live_sink(args),
    )
    try:
        return fit(cfg)
    finally:
        if cfg.live is not None:
            cfg.live.close()


def _live_sink(args: argparse.Namespace) -> Any:
    """Live metrics to a tracking server, on the main process only; else None."""
    from shiftlab.tracking.live_train import LiveMetrics, is_server

    if not is_server(args.tracking_uri) or os.environ.get("RANK", "0") != "0":
        return None
    return LiveMetrics(args.tracking_uri, args.study or "default", args.run)
