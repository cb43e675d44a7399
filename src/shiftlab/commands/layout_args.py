"""Command-line options that describe a benchmark root's layout, shared by `index` and
`datasets check` so both read a dataset the same way."""

from __future__ import annotations

import argparse


def add_layout_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--variant",
        help="benchmark variant (V2 matched-frequency; C gaussian_noise/3; P folder; T transform)",
    )
    p.add_argument(
        "--real-json",
        help="ReaL labels file (imagenet_real; default: real.json beside the val root)",
    )
    p.add_argument(
        "--class-map", help="`folder wnid` lines for a `folder` dataset whose folders are not wnids"
    )
    p.add_argument(
        "--folder-json",
        help="`folder` datasets: JSON of the config entry's class_map, groups and split",
    )
    p.add_argument(
        "--ground-truth",
        help="flat ImageNet val: devkit tar/ground-truth txt or Kaggle LOC_val_solution.csv",
    )
