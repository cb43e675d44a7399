"""Training throughput (images/s) of one optimizer step, with and without channels-last/bf16.

Measures the engine's step (forward, loss, backward, SGD) on synthetic batches, so data
loading is excluded; prints one row per configuration and the ratio to plain fp32.

    python benchmarks/train.py [--model resnet18] [--size 64] [--batch 32] [--steps 10]
"""

from __future__ import annotations

import argparse
import time

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = (
        args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    print(
        f"{args.model} @ {args.size}px, batch {args.batch}, {args.steps} steps on {device} "
        f"({torch.get_num_threads()} threads); bf16 native: {bf16_supported(device)}"
    )
    base = None
    for cl in (False, True):
        for bf16 in (False, True):
            ips = images_per_s(args.model, device, args.size, args.batch, args.steps, cl, bf16)
            base = base or ips
            print(f"  channels_last={cl!s:5} bf16={bf16!s:5}  {ips:8.1f} img/s  x{ips / base:.2f}")


if __name__ == "__main__":
    main()
