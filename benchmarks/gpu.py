"""The GPU path, measured in one run: CUDA tests, predict, ImageNet-C, operators, training.

One entry point for a GPU machine (H100/H200 class, 16 cores, at most 8 minutes). Each step
runs the existing benchmark scripts as subprocesses under their own time budget (a failing
or overrunning step is reported and the others still run; the exit code is then 1):

- ``tests``: the CUDA-only tests (``-k cuda``; they skip without a GPU);
- ``predict``: ``evaluate.py`` part 1, ResNet-50 ``predict`` of JPEG files against
  forward-only on pre-made tensors (target >= 90 %);
- ``fly``: on-the-fly ImageNet-C, all 19 x 5 cells on a slice of images, extrapolated to
  the full 19 x 5 x 50,000 images (target <= 10 min);
- ``corrupt``: ``corruptions.py``, each torch operator's images/s at 224 px (target >=
  50,000; the slowest is named with where its time goes);
- ``train``: ``train.py``, the training step (fp32/bf16, channels-last) and the training
  loader's images/s against the channels-last bf16 step (target >= 1.5x);
- ``files_nvjpeg``, ``files_cpu``: ``evaluate.py`` part 2, predicting materialized
  ImageNet-C files with each JPEG decoder, against forward-only (target >= 90 %).

Prints every figure against its target with the GPU, driver and CUDA versions, and writes
them all to one JSON file. ``--device cpu --tiny`` runs the same steps at toy sizes
(about a minute on two cores), so the script itself is tested without a GPU.

    benchmarks/gpu.sh [--out benchmarks/out/gpu.json] [--steps predict,fly] [--strict]
    .venv/bin/python benchmarks/gpu.py --device cpu --tiny
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOTAL_BUDGET_S = 460  # all steps together, under 8 minutes with start-up and the world
CUDA_TESTS = [
    "tests/evaluate/test_gpu_decode.py",
    "tests/corrupt/test_imagenet_c_api.py",
    "tests/corrupt/test_torch_backend.py",
]


@dataclass(frozen=True)
class Sizes:
    """Model, image and slice sizes of one profile; the defaults are the GPU run's."""

    model: str = "resnet50"
    size: int = 224  # model input, and the corruption operators' images
    image_size: int = 256  # generated JPEGs (resized and cropped to `size` by predict)
    val_per_class: int = 10  # generated val images per class (10 classes)
    copies: int = 6  # each generated val JPEG this many times (generating costs ~30 ms a file)
    passes: int = 40  # predict's rows: the val files this many times over
    batch: int = 256
    repeats: int = 3  # best of N (predict, operators)
    params: str = "imagenet"  # corruption parameter set
    fly_severities: str = "1,2,3,4,5"  # on the fly: all 19 corruptions at these severities
    file_names: str = "brightness,contrast,saturate,pixelate,jpeg_compression"  # cheap to write
    file_severities: str = "1,3,5"  # 15 cells: 9,000 files to write on one core
    file_passes: int = 4  # predict reads the files' rows this many times over (36,000 rows)
    corrupt_images: int = 3  # distinct photos in an operator batch
    corrupt_batch: int = 256
    train_batch: int = 256
    train_steps: int = 10
    loader_images: int = 12_000


FULL = Sizes()
TINY = Sizes(
    model="resnet18",
    size=32,
    image_size=40,
    val_per_class=2,
    copies=1,
    passes=2,
    batch=16,
    repeats=1,
    params="tiny",
    fly_severities="3",
    file_names="brightness,contrast",
    file_severities="1",
    file_passes=2,
    corrupt_images=1,
    corrupt_batch=8,
    train_batch=8,
    train_steps=2,
    loader_images=64,
)


@dataclass
class Step:
    """One subprocess: its command, budget and the JSON file it writes."""

    name: str
    budget_s: float
    argv: list[str]
    out: Path
    result: dict = field(default_factory=dict)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (the point) or cpu (with --tiny)")
    p.add_argument("--tiny", action="store_true", help="toy sizes: checks the script itself")
    p.add_argument("--out", default=str(HERE / "out" / "gpu.json"), help="the JSON of figures")
    p.add_argument("--steps", default=None, help="run only these steps, comma-separated")
    p.add_argument("--threads", type=int, default=0, help="0 = all cores (1 with --tiny)")
    p.add_argument("--workdir", default=None, help="keep the generated world and outputs here")
    p.add_argument("--strict", action="store_true", help="exit 1 also when a target is missed")
    return p.parse_args()


def make_world(work: Path, z: Sizes) -> dict:
    """The MiniNet world every step reads, with each val JPEG copied ``copies`` times: a
    large enough slice at a fraction of the cost of generating it (same files, same cost
    per image)."""
    from shiftlab.data.mininet.spec import MiniNetParams
    from shiftlab.data.mininet.write import generate

    val = work / "mininet" / "imagenet" / "val"
    if not val.is_dir():
        params = MiniNetParams(
            seed=0,
            image_size=z.image_size,
            val_per_class=z.val_per_class,
            train_per_class=1,
            shifted_per_class=1,
        )
        generate(work / "mininet", params)
        for path in sorted(val.glob("*/*.JPEG")):
            for k in range(1, z.copies):
                shutil.copyfile(path, path.with_name(f"{path.stem}_copy{k}{path.suffix}"))
    return {"val_files": len(list(val.glob("*/*.JPEG"))), "root": str(val)}


def _flags(*switches: str, **options: object) -> list[str]:
    """``--switch`` for each switch, ``--key-name value`` for each option."""
    out = [f"--{name}" for name in switches]
    for key, value in options.items():
        out += [f"--{key.replace('_', '-')}", str(value)]
    return out


def plan(args: argparse.Namespace, z: Sizes, work: Path, threads: int) -> list[Step]:
    """The steps and their budgets (seconds; upper bounds, cut to what is left in total)."""
    py, dev = sys.executable, args.device
    evaluate = [
        str(HERE / "evaluate.py"),
        *_flags(
            device=dev,
            model=z.model,
            size=z.size,
            image_size=z.image_size,
            val_per_class=z.val_per_class,
            threads=threads,
            batch_size=z.batch,
            workdir=work,
        ),
    ]
    part2 = [*evaluate, *_flags("only-c", params=z.params)]
    fly = [*part2, *_flags("fly-only", c_repeats=1, names="all", severities=z.fly_severities)]
    files = [*part2, *_flags(c_repeats=1, names=z.file_names, severities=z.file_severities)]
    files += _flags(file_passes=z.file_passes)
    nvjpeg = "nvjpeg" if dev.startswith("cuda") else "auto"  # auto: the CPU decoder there
    commands = {
        "predict": (100, [*evaluate, *_flags("skip-c", passes=z.passes, repeats=z.repeats)]),
        "fly": (75, fly),
        "corrupt": (
            60,
            [
                str(HERE / "corruptions.py"),
                *_flags(
                    "batch-only",
                    device=dev,
                    backend="torch",
                    size=z.size,
                    images=z.corrupt_images,
                    batch=z.corrupt_batch,
                    repeats=z.repeats,
                ),
            ],
        ),
        "train": (
            50,
            [
                str(HERE / "train.py"),
                *_flags(
                    "loader",
                    device=dev,
                    model=z.model,
                    size=z.size,
                    batch=z.train_batch,
                    steps=z.train_steps,
                    workers=threads,
                    threads=threads,
                    loader_root=work / "mininet" / "imagenet" / "val",
                    loader_images=z.loader_images,
                ),
            ],
        ),
        "files_nvjpeg": (55, [*files, *_flags(decode=nvjpeg)]),
        "files_cpu": (55, [*files, *_flags(decode="cpu")]),
    }
    tests = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda", *CUDA_TESTS]
    steps = [
        Step("tests", 45, [py, *tests, "--junitxml", str(work / "tests.xml")], work / "tests.xml")
    ]
    for name, (budget, argv) in commands.items():
        out = work / f"{name}.json"
        steps.append(Step(name, budget, [py, *argv, "--json", str(out)], out))
    return steps


def run_step(s: Step, deadline: float, log: Path) -> None:
    """Run one step under min(its budget, what is left); record rc, time and its JSON."""
    timeout = min(s.budget_s, deadline - time.monotonic())
    s.result = {"budget_s": s.budget_s, "ok": False, "error": None, "raw": None}
    if timeout <= 1:
        s.result["error"] = "no time left in the total budget"
        return
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    s.out.unlink(missing_ok=True)  # never read a previous run's figures
    start = time.monotonic()
    with open(log, "w") as f:
        # its own process group, so a timeout also ends its loader workers
        proc = subprocess.Popen(
            s.argv, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    s.result["seconds"] = time.monotonic() - start
    if rc is None:
        s.result["error"] = f"timed out after {timeout:.0f} s"
    elif not s.out.exists():
        s.result["error"] = f"exit code {rc}, no output"
    else:
        s.result["raw"] = _read(s.out)
        s.result["ok"] = rc == 0
        if rc != 0:
            s.result["error"] = f"exit code {rc}"
    tail = log.read_text(errors="replace").splitlines()[-25:]
    s.result["log_tail"] = tail if not s.result["ok"] else []


def _read(path: Path) -> dict:
    if path.suffix == ".json":
        return json.loads(path.read_text())
    import xml.etree.ElementTree as ET  # the pytest JUnit report

    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def device_info(device: str) -> dict:
    """GPU model, driver, CUDA/cuDNN and torch versions, and the host's cores."""
    import platform

    import torch

    info = {
        "device": device,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu_cores": os.cpu_count(),
        "host_cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cudnn"] = torch.backends.cudnn.version()
    smi = shutil.which("nvidia-smi")
    if smi:
        query = "--query-gpu=name,driver_version,memory.total,power.limit"
        out = subprocess.run(
            [smi, query, "--format=csv,noheader"], capture_output=True, text=True, timeout=30
        )
        info["nvidia_smi"] = out.stdout.strip() or out.stderr.strip()
        info["driver"] = info["nvidia_smi"].split(", ")[1] if ", " in info["nvidia_smi"] else None
    return info


def _world(work: Path, z: Sizes) -> dict:
    """make_world, timed; a failure is reported (the steps then make their own worlds)."""
    t0 = time.monotonic()
    try:
        world = make_world(work, z)
    except Exception as exc:  # reported, and the run goes on
        print(f"world: FAILED: {exc!r}")
        return {"ok": False, "error": repr(exc), "seconds": time.monotonic() - t0}
    world |= {"ok": True, "seconds": time.monotonic() - t0}
    print(f"world: {world['val_files']} val JPEGs of {z.image_size} px ({world['seconds']:.1f} s)")
    return world


def main() -> int:
    from gpu_figures import figures_from, print_figures

    args = _args()
    z = TINY if args.tiny else FULL
    threads = args.threads or (1 if args.tiny else os.cpu_count() or 1)
    started, deadline = time.monotonic(), time.monotonic() + TOTAL_BUDGET_S
    tmp = None if args.workdir else tempfile.TemporaryDirectory(prefix="shiftlab-gpu-")
    work = Path(args.workdir or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    info = device_info(args.device)
    print(" | ".join(f"{k} {v}" for k, v in info.items() if v is not None), flush=True)
    steps = plan(args, z, work, threads)
    if args.steps:
        wanted = args.steps.split(",")
        unknown = sorted(set(wanted) - {s.name for s in steps})
        if unknown:
            print(f"unknown steps {unknown}; allowed: {', '.join(s.name for s in steps)}")
            return 2
        steps = [s for s in steps if s.name in wanted]
    world = _world(work, z)
    for s in steps:
        print(f"-- {s.name} (budget {s.budget_s:.0f} s) ...", end=" ", flush=True)
        run_step(s, deadline, work / f"{s.name}.log")
        r = s.result
        print(f"{r.get('seconds', 0):.1f} s " + ("ok" if r["ok"] else f"FAILED: {r['error']}"))
        for line in r["log_tail"]:
            print(f"   | {line}")
    results = {s.name: s.result for s in steps}
    figures = figures_from(results, args.device)
    print_figures(figures)
    report = {
        "device": info,
        "tiny": args.tiny,
        "sizes": asdict(z),
        "world": world,
        "steps": results,
        "figures": figures,
        "wall_s": time.monotonic() - started,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {out} ({report['wall_s']:.0f} s in all)")
    if tmp is not None:
        tmp.cleanup()
    failed = [s.name for s in steps if not s.result["ok"]] + ([] if world["ok"] else ["world"])
    missed = [k for k, f in figures.items() if not f["ok"]]
    if failed:
        print(f"FAILED steps: {', '.join(failed)}")
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
