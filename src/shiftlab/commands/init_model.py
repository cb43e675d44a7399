"""`shiftlab init-model`: wrap a base run's weights into the checkpoint contract."""

from __future__ import annotations

import argparse

from shiftlab.config import default

HELP = (
    "Build a base run's model (random init, ImageNet weights from the local cache, or a local "
    "weights file), fit its head to the label space, and write a final.pt checkpoint."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run name (provenance)")
    parser.add_argument(
        "--model-json",
        required=True,
        help='the run entry, e.g. {"model": "tv:resnet18", "weights": "imagenet"}',
    )
    parser.add_argument("--label-space", required=True, help="imagenet1k | mininet | wnid file")
    parser.add_argument("--out", required=True, help="checkpoint to write (final.pt)")
    parser.add_argument(
        "--seed",
        type=int,
        default=default("seed"),
        help="seed of a random init (default %(default)s)",
    )
    parser.add_argument(
        "--allow-download",
        action="store_true",
        help="fetch missing pretrained weights (login node / localrule only)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from shiftlab import provenance
    from shiftlab.commands.json_args import json_object
    from shiftlab.errors import UserError
    from shiftlab.labels import label_space
    from shiftlab.models import create_model, data_config, model_meta, save_checkpoint

    started = provenance.now()
    entry = json_object(args.model_json, "--model-json")
    name = entry.get("model") or entry.get("name")
    if not name:
        raise UserError("--model-json needs a 'model' name")
    weights = entry.get("weights")
    space = label_space(args.label_space)
    torch.manual_seed(args.seed)
    model = create_model(
        name,
        len(space),
        weights,
        source=entry.get("source"),
        wnids=space.wnids,
        allow_download=args.allow_download,
    )
    dcfg = data_config(model, entry.get("image_size"), entry.get("input_size", "test"))
    meta = model_meta(model, list(space.wnids), weights, dcfg)
    local = weights not in (None, "", "none", "imagenet") and Path(weights).is_file()
    record = provenance.make_record(
        "init_model",
        params={
            "run": args.run,
            "model": entry,
            "label_space": args.label_space,
            "seed": args.seed,
        },
        inputs={"weights": weights} if local else None,
        started=started,
    )
    save_checkpoint(args.out, model.eval(), meta, record)
    print(
        f"{args.run}: {meta['name']} ({meta['source']}, weights {weights or 'random'}) "
        f"-> {args.out} [{meta['num_classes']} classes, input {meta['data_config']['input_size']}]"
    )
    return 0
