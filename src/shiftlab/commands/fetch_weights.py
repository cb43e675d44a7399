"""`shiftlab fetch-weights`: on a login node, fill the local caches with a config's weights."""

from __future__ import annotations

import argparse

HELP = (
    "Download the pretrained weights every `weights: imagenet` run of a config needs into the "
    "local caches (HF_HOME, TORCH_HOME), so compute nodes never need the network."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the study's config YAML")
    parser.add_argument(
        "--mirror",
        default=None,
        help="fetch from this base URL instead (a Hugging Face endpoint for hub weights, a "
        "folder of files for URL-hosted ones)",
    )


def run(args: argparse.Namespace) -> int:
    from shiftlab.config import load
    from shiftlab.models.fetch_weights import fetch_for_config

    lines = fetch_for_config(load(args.config), args.mirror)
    print("\n".join(lines) if lines else f"{args.config}: no run uses `weights: imagenet`")
    return 0
