"""Speed of the ImageNet-C operators against the `imagecorruptions` reference, single-threaded.

Times all 19 corruptions x 5 severities on the same natural photos (scikit-image samples,
224 px) in one run and prints per-corruption and whole-suite ratios. With --device cuda it
also reports suite throughput of ``apply_batch`` on GPU batches, and where the slowest
operator spends its time (torch profiler: GPU kernels, torch ops on the host, or host
Python/numpy work between them).

    .venv/bin/python benchmarks/corruptions.py [--images 2] [--size 224] [--no-reference]
        [--device cuda [--batch 256] [--backend torch] [--batch-only] [--json out.json]]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
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


def _gpu_suite(corrupt, images, args) -> dict:
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
        f"\napply_batch on {args.device}, batches of {args.batch} at {args.size} px "
        f"({args.backend} backend)"
    )
    print(f"{'corruption':<18}{'ms/batch':>10}{'images/s':>11}")
    total, rates = 0.0, {}

    def run(name: str) -> None:
        for s in corrupt.SEVERITIES:
            corrupt.apply_batch(batch, name, s, seeds, backend=args.backend)
        sync()

    for name in corrupt.names():
        run(name)  # warm-up: kernels, caches, frost textures
        t = _time(lambda name=name: run(name), args.repeats) / 5
        total += t * 5
        rates[name] = args.batch / t
        print(f"{name:<18}{t * 1e3:>10.2f}{rates[name]:>11.0f}", flush=True)
    per_image = total / args.batch
    print(
        f"whole 19x5 suite: {per_image * 1e3:.2f} ms per image = {1 / per_image:.1f} images/s "
        f"({95 / per_image:.0f} corrupted images/s)"
    )
    slowest = min(rates, key=rates.get)
    try:
        where = _bottleneck(lambda: run(slowest), batch.is_cuda)
    except RuntimeError as exc:  # a profiler that cannot start must not cost the rates
        where = {"verdict": f"profiler failed: {exc}"}
    print(f"slowest: {slowest} at {rates[slowest]:.0f} images/s; {where['verdict']}", flush=True)
    return {
        "device": args.device,
        "backend": args.backend,
        "batch": args.batch,
        "size": args.size,
        "images_per_s": rates,
        "suite_images_per_s": 1 / per_image,
        "slowest": slowest,
        "bottleneck": where,
    }


def _device_us(event) -> float:
    """Self time on the GPU of one profiler row (named ``self_cuda_time_total`` before 2.4)."""
    return getattr(event, "self_device_time_total", getattr(event, "self_cuda_time_total", 0))


def _bottleneck(run, cuda: bool) -> dict:
    """Where one call's wall time goes, from the torch profiler: GPU kernels, torch ops on
    the host, waiting for the GPU, or host Python/numpy work between torch ops (the
    per-image random draws, loops)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        run()
    wall = (time.perf_counter() - start) * 1e6  # microseconds, like the profiler
    events = prof.key_averages()
    waits = [e for e in events if "Synchronize" in e.key]
    device = sum(_device_us(e) for e in events)
    shares = {
        "gpu_kernels": device / wall,
        "waiting_for_gpu": sum(e.self_cpu_time_total for e in waits) / wall,
        "torch_ops_host": sum(e.self_cpu_time_total for e in events if e not in waits) / wall,
    }
    shares["other_host"] = max(0.0, 1 - shares["torch_ops_host"] - shares["waiting_for_gpu"])
    top = [e.key for e in sorted(events, key=lambda e: -_device_us(e))[:3]] if cuda else []
    top_host = [e.key for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:3]]
    busy = f"; GPU busy {shares['gpu_kernels']:.0%}" if cuda else ""
    if cuda and device == 0:
        verdict = "the profiler saw no GPU kernels (CUPTI missing?): no split of the time"
    elif shares["gpu_kernels"] >= 0.5:
        verdict = f"bound by GPU kernels ({shares['gpu_kernels']:.0%} busy; top {', '.join(top)})"
    elif shares["other_host"] >= shares["torch_ops_host"]:
        verdict = (
            f"host-bound: {shares['other_host']:.0%} of the time is Python/numpy work between "
            f"torch ops (per-image random draws, loops){busy}"
        )
    else:
        verdict = (
            f"{'host-bound: ' if cuda else ''}{shares['torch_ops_host']:.0%} in torch ops on "
            f"the host (top {', '.join(top_host)}){busy}"
        )
    return {"shares": shares, "top_kernels": top, "top_host_ops": top_host, "verdict": verdict}


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
    parser.add_argument(
        "--backend", default="auto", help="apply_batch backend: auto, torch or numpy"
    )
    parser.add_argument(
        "--batch-only", action="store_true", help="only the apply_batch table (needs --device)"
    )
    parser.add_argument("--json", default=None, help="write the apply_batch figures here")
    args = parser.parse_args()
    if (args.batch_only or args.json) and not args.device:
        parser.error("--batch-only and --json need --device")

    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    import conftest  # tests/corrupt/conftest.py: photos and the shimmed reference

    import shiftlab.corrupt as corrupt

    names = ["astronaut", "chelsea", "coffee"][: args.images]
    images = [conftest._photo(n, args.size) for n in names]
    if not args.batch_only:
        _cpu_table(corrupt, conftest, images, args)
    if args.device:
        figures = _gpu_suite(corrupt, images, args)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _cpu_table(corrupt, conftest, images, args) -> None:
    """Per-image ``apply`` against the reference, one thread, ms per image."""
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


if __name__ == "__main__":
    sys.exit(main())
