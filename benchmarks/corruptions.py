"""Speed of the ImageNet-C operators against the `imagecorruptions` reference, single-threaded.

Times all 19 corruptions x 5 severities on the same natural photos (scikit-image samples,
224 px) in one run and prints per-corruption and whole-suite ratios. With --device cuda it
also reports suite throughput of ``apply_batch`` on GPU batches.

    .venv/bin/python benchmarks/corruptions.py [--images 2] [--size 224] [--no-reference]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "corrupt"))


def _time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _gpu_suite(corrupt, images, args) -> None:
    """Batched ``apply_batch`` on ``--device`` (the torch operators on CUDA): per corruption
    and for the whole 19 x 5 suite, in images/s at the photos' size."""
    import torch

    if args.device.startswith("cuda"):
        torch.set_num_threads(max(1, os.cpu_count() or 1))  # host draws may use the cores
    batch = torch.from_numpy(np.stack([images[i % len(images)] for i in range(args.batch)]))
    batch = batch.to(args.device)
    seeds = list(range(args.batch))

    def sync() -> None:
        if batch.is_cuda:
            torch.cuda.synchronize()

    print(
        f"\napply_batch on {args.device}, batches of {args.batch} at {args.size} px (auto backend)"
    )
    print(f"{'corruption':<18}{'ms/batch':>10}{'images/s':>11}")
    total = 0.0
    for name in corrupt.names():
        for s in corrupt.SEVERITIES:  # warm-up: kernels, caches, frost textures
            corrupt.apply_batch(batch, name, s, seeds)
        sync()

        def run(name=name):
            for s in corrupt.SEVERITIES:
                corrupt.apply_batch(batch, name, s, seeds)
            sync()

        t = _time(run, args.repeats) / 5
        total += t * 5
        print(f"{name:<18}{t * 1e3:>10.2f}{args.batch / t:>11.0f}", flush=True)
    per_image = total / args.batch
    print(
        f"whole 19x5 suite: {per_image * 1e3:.2f} ms per image = {1 / per_image:.1f} images/s "
        f"({95 / per_image:.0f} corrupted images/s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2, help="photos to corrupt (max 3)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument(
        "--repeats", type=int, default=3, help="best of N (the reference: for those under 0.5 s)"
    )
    parser.add_argument("--no-reference", action="store_true", help="skip imagecorruptions")
    parser.add_argument("--device", default=None, help="also time apply_batch on this device")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    import conftest  # tests/corrupt/conftest.py: photos and the shimmed reference

    import shiftlab.corrupt as corrupt

    names = ["astronaut", "chelsea", "coffee"][: args.images]
    images = [conftest._photo(n, args.size) for n in names]
    reference = None if args.no_reference else conftest._load_reference()
    for name in corrupt.names():  # warm caches (kernels, frost textures)
        corrupt.apply(images[0], name, 1, 0)

    print(f"{len(images)} image(s) of {args.size} px, 5 severities, one thread; ms per image")
    print(f"{'corruption':<18}{'ours':>9}{'reference':>11}{'ratio':>8}")
    total_ours = total_ref = 0.0
    for name in corrupt.names():

        def ours(name=name):
            for img in images:
                for s in corrupt.SEVERITIES:
                    corrupt.apply(img, name, s, s)

        t_ours = _time(ours, args.repeats) / len(images)
        total_ours += t_ours
        line = f"{name:<18}{t_ours * 1e3:>9.2f}"
        if reference is not None:

            def ref(name=name):
                for img in images:
                    for s in corrupt.SEVERITIES:
                        np.random.seed(s)
                        reference.corrupt(img, s, name)

            t_ref = _time(ref, 1)
            if t_ref < 0.5:  # cheap operators: best of N like ours (glass blur: once)
                t_ref = min(t_ref, _time(ref, args.repeats))
            t_ref /= len(images)
            total_ref += t_ref
            line += f"{t_ref * 1e3:>11.1f}{t_ref / t_ours:>7.1f}x"
        print(line, flush=True)
    line = f"{'whole suite':<18}{total_ours * 1e3:>9.1f}"
    if reference is not None:
        line += f"{total_ref * 1e3:>11.1f}{total_ref / total_ours:>7.1f}x"
    print(line)

    if args.device:
        _gpu_suite(corrupt, images, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
