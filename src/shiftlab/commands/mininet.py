"""`shiftlab mininet`: write the MiniNet world (every benchmark, official layouts)."""

from __future__ import annotations

import argparse

from shiftlab.config import default, setting

HELP = (
    "Generate the MiniNet world: a seeded ImageNet stand-in in every benchmark's official layout."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, help="world folder (e.g. data/mininet); replaced atomically"
    )
    # the config's `mininet` section: its schema holds the defaults and the help
    for key in ("seed", "image_size", "train_per_class", "val_per_class", "shifted_per_class"):
        parser.add_argument(
            "--" + key.replace("_", "-"),
            type=int,
            default=default(f"mininet.{key}"),
            help=f"{setting(f'mininet.{key}')['description']} (default %(default)s)",
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
