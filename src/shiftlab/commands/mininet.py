"""`shiftlab mininet`: write the MiniNet world (every benchmark, official layouts)."""

from __future__ import annotations

import argparse

HELP = (
    "Generate the MiniNet world: a seeded ImageNet stand-in in every benchmark's official layout."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, help="world folder (e.g. data/mininet); replaced atomically"
    )
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    parser.add_argument(
        "--image-size", type=int, default=64, help="image side in pixels (default 64)"
    )
    parser.add_argument(
        "--train-per-class", type=int, default=40, help="train images per class (default 40)"
    )
    parser.add_argument(
        "--val-per-class", type=int, default=10, help="val images per class (default 10)"
    )
    parser.add_argument(
        "--shifted-per-class",
        type=int,
        default=6,
        help="images per class in each shifted benchmark: V2, Sketch, A, R, O, cue-conflict (default 6)",
    )


def run(args: argparse.Namespace) -> int:
    import time

    from shiftlab.data.mininet.spec import MANIFEST, MiniNetParams
    from shiftlab.data.mininet.write import generate

    params = MiniNetParams(
        seed=args.seed,
        image_size=args.image_size,
        train_per_class=args.train_per_class,
        val_per_class=args.val_per_class,
        shifted_per_class=args.shifted_per_class,
    )
    start = time.perf_counter()
    manifest = generate(args.out, params)
    seconds = time.perf_counter() - start
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    print(
        f"MiniNet seed {params.seed}: {manifest['n_files']} files, {manifest['bytes'] / 1e6:.1f} MB "
        f"in {seconds:.1f} s -> {args.out}/{MANIFEST} (digest {manifest['digest'][:12]})\n  {counts}"
    )
    return 0
