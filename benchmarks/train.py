"""Training throughput (images/s) of one optimizer step, with and without channels-last/bf16.

Measures the engine's step (forward, loss, backward, SGD) on synthetic batches, so data
loading is excluded; prints one row per configuration and the ratio to plain fp32. With
--loader it also measures the training loader alone (JPEG decode + the recipe's augmentation
in DataLoader workers, no model), sized as `shiftlab train` sizes it for a job with
--threads CPUs (shiftlab.train.feed), and its rate against the step the job would run
(channels-last bf16 on CUDA, fp32 on the CPU): the loader must outrun the step to keep the
model fed. Targets: >= 1.5x on a GPU node (--threads 16), >= 1.2x on the CPU with the demo's
one training thread (the defaults: resnet18 at 64 px).

    python benchmarks/train.py [--model resnet18] [--size 64] [--batch 32] [--steps 10]
        [--threads 1] [--loader [--loader-root FOLDER] [--workers N] [--loader-images 2000]]
        [--json F]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from shiftlab.models import create_model
from shiftlab.train.build import bf16_supported
from shiftlab.train.engine import EpochStats, train_one_epoch
from shiftlab.train.recipes import create_recipe


def images_per_s(
    model_name: str, device: str, size: int, batch: int, steps: int, channels_last: bool, bf16: bool
) -> float:
    torch.manual_seed(0)
    model = create_model(model_name, 10).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    recipe = create_recipe({"base": "baseline", "lr": 0.01})
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    views = torch.randn(1, batch, 3, size, size)
    target = torch.randint(0, 10, (batch,))
    data = [(views, target)] * (steps + 2)

    def run(n: int) -> EpochStats:
        stats, _ = train_one_epoch(
            model,
            recipe,
            data[:n],
            opt,
            sched,
            device=device,
            steps=n,
            bf16=bf16,
            channels_last=channels_last,
        )
        return stats

    run(2)  # warm-up (allocator, oneDNN/cuDNN kernel selection)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    run(steps)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def loader_images_per_s(
    root: Path, model_name: str, size: int, batch: int, opts: dict, images: int
) -> dict:
    """Images/s of the training loader (IndexDataset + TrainTransform + make_loader, as
    ``fit`` builds them) over ``images`` rows of the class folders under ``root``, rows
    repeated as needed. Steady rate: from the first batch on (worker start-up excluded,
    reported apart)."""
    import pandas as pd

    from shiftlab.data.index import build_index, write_index
    from shiftlab.labels import label_space
    from shiftlab.models import data_config
    from shiftlab.train.augment import TrainTransform
    from shiftlab.train.data import IndexDataset, MicroBatches, make_loader

    recipe = create_recipe({"base": "baseline"})
    dcfg = data_config(model_name, image_size=size)
    frame, meta = build_index("imagenet_val", root, "mininet", "train", fingerprint=False)
    distinct, repeats = min(len(frame), images), -(-images // len(frame))
    frame = pd.concat([frame] * repeats, ignore_index=True).head(images)
    with tempfile.TemporaryDirectory(prefix="shiftlab-loader-") as tmp:
        index = write_index(frame, {**meta, "n": len(frame)}, Path(tmp) / "train.parquet")
        data = IndexDataset(index, label_space("mininet"), TrainTransform(recipe, dcfg), 0)
        loader = make_loader(data, MicroBatches(len(data), 0, 0, batch, 1, 1, 0), opts)
        t0 = time.perf_counter()
        first, seen = None, 0
        for views, _target in loader:
            if first is None:
                first = time.perf_counter()
            else:
                seen += views.shape[1]
        end = time.perf_counter()
    return {
        "images_per_s": seen / max(end - first, 1e-9),
        "first_batch_s": first - t0,
        "images": len(frame),
        "distinct_files": distinct,
        "workers": opts["num_workers"],
        "pin_memory": opts["pin_memory"],
        "batch": batch,
    }


def _mininet_val(out: Path, image_size: int) -> Path:
    """A small generated MiniNet val folder, when no --loader-root is given."""
    from shiftlab.data.mininet.spec import MiniNetParams
    from shiftlab.data.mininet.write import generate

    generate(out, MiniNetParams(image_size=image_size, train_per_class=1, shifted_per_class=1))
    return out / "imagenet" / "val"


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument(
        "--threads", type=int, default=1, help="the job's CPUs (default: the demo's training job)"
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--loader", action="store_true", help="also time the training loader")
    p.add_argument("--loader-root", default=None, help="class folders of JPEGs (MiniNet wnids)")
    p.add_argument("--loader-image-size", type=int, default=256, help="generated images' size")
    p.add_argument("--loader-images", type=int, default=2000, help="rows the loader reads")
    p.add_argument(
        "--workers", type=int, default=None, help="loader workers (default: sized by --threads)"
    )
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return p.parse_args()


def _loader_vs_step(args: argparse.Namespace, device: str, figures: dict) -> float:
    """Loader rate over the step the job runs; prints the ratio against its target."""
    from shiftlab.train.feed import loader_options

    opts = loader_options(args.workers, args.threads, device)
    with tempfile.TemporaryDirectory(prefix="shiftlab-mininet-") as tmp:
        root = args.loader_root or _mininet_val(Path(tmp) / "w", args.loader_image_size)
        figures["loader"] = loader = loader_images_per_s(
            Path(root), args.model, args.size, args.batch, opts, args.loader_images
        )
    gpu = device.startswith("cuda")
    step_key = "step_channels_last_bf16" if gpu else "step_fp32"
    ratio = loader["images_per_s"] / figures[step_key]
    target = 1.5 if gpu else 1.2
    print(
        f"  loader ({opts['num_workers']} workers for {args.threads} job threads, "
        f"pin_memory={opts['pin_memory']}, {loader['images']} rows of "
        f"{loader['distinct_files']} files): {loader['images_per_s']:8.1f} img/s (first batch "
        f"after {loader['first_batch_s']:.2f} s)\n  loader / {step_key} step = {ratio:.2f}x "
        f"(target >= {target}x on {'a GPU node' if gpu else 'the CPU'}: "
        f"{'met' if ratio >= target else 'NOT met'})"
    )
    return ratio


def main() -> None:
    args = _args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = (
        args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    print(
        f"{args.model} @ {args.size}px, batch {args.batch}, {args.steps} steps on {device} "
        f"({torch.get_num_threads()} threads); bf16 native: {bf16_supported(device)}"
    )
    base, figures = None, {"device": device, "model": args.model, "size": args.size}
    for cl in (False, True):
        for bf16 in (False, True):
            ips = images_per_s(args.model, device, args.size, args.batch, args.steps, cl, bf16)
            base = base or ips
            figures[f"step{'_channels_last' if cl else ''}_{'bf16' if bf16 else 'fp32'}"] = ips
            print(f"  channels_last={cl!s:5} bf16={bf16!s:5}  {ips:8.1f} img/s  x{ips / base:.2f}")
    if args.loader:
        figures["loader_over_step"] = _loader_vs_step(args, device, figures)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
