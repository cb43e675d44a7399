"""Which device a job computes on: a job that asked for a GPU runs on CUDA or stops at once.

`--device auto` picks CUDA when PyTorch sees a device and the CPU otherwise, which is right
for a laptop and wrong for a GPU job: a job that cannot see its GPU (wrong partition, no
`--gpus`, a driver older than the wheels' CUDA) would compute on the CPU until its time
limit. The rules pass `--device cuda` whenever the job was given a GPU, and `resolve` then
fails before any work with the cause and the fix (docs/cluster.md, "GPU drivers").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from shiftlab.errors import UserError

# The CUDA release the pinned wheels (envs/requirements.txt) are built for, the oldest
# NVIDIA driver that runs it (CUDA 13.0 release notes, "CUDA Driver" table: >= 580 on
# Linux), and the wheel index of the newest build that older drivers run.
PINNED_CUDA = "13.0"
MIN_DRIVER = 580
OLDER_DRIVER_INDEX = "https://download.pytorch.org/whl/cu126"
OLDER_DRIVER_MIN = 560  # CUDA 12.6 needs driver >= 560 (>= 525 with minor-version compat)

DEVICES = ("auto", "cpu", "cuda")


def job_device(gpus: int | float, configured: str = "auto") -> str:
    """The `--device` a rule passes: CUDA for a job given a GPU, else the configured one."""
    return "cuda" if float(gpus or 0) > 0 else configured


def resolve(name: str) -> str:
    """`auto` -> cuda or cpu; `cuda` only when PyTorch can use it, else a UserError."""
    import torch

    if name not in DEVICES and not name.startswith("cuda:"):
        raise UserError(f"--device {name!r}: allowed values are {', '.join(DEVICES)}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(no_cuda_message(torch.version.cuda, torch.__version__, driver_info()))
    return name


def driver_info() -> tuple[str, str] | None:
    """(driver version, highest CUDA it supports) from `nvidia-smi`, or None without one."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        proc = subprocess.run(
            ["nvidia-smi"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    driver = re.search(r"Driver Version:\s*([\d.]+)", proc.stdout)
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", proc.stdout)
    if not driver:
        return None
    return driver.group(1), cuda.group(1) if cuda else "?"


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def _install_hint(torch_version: str) -> str:
    base = torch_version.split("+")[0]
    return (
        f"install a build for the node's driver, e.g. `pip install torch=={base} "
        f"--index-url {OLDER_DRIVER_INDEX}` (CUDA 12.6, driver >= {OLDER_DRIVER_MIN}), "
        f"or ask for a node with driver >= {MIN_DRIVER} (docs/cluster.md, 'GPU drivers')"
    )


def no_cuda_message(
    wheel_cuda: str | None, torch_version: str, driver: tuple[str, str] | None
) -> str:
    """Why a job that asked for a GPU cannot use one, and what to do about it."""
    head = "this job asked for a GPU (--device cuda) but PyTorch cannot use CUDA: "
    if wheel_cuda is None:
        return head + (
            f"torch {torch_version} is a CPU-only build; " + _install_hint(torch_version)
        )
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if driver is None:
        where = f"CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else "no nvidia-smi"
        return head + (
            f"no CUDA device is visible ({where}). Submit the job to a GPU partition with a "
            "GPU request (resources gpu >= 1 and slurm_partition in the site profile), or "
            "run it with --device cpu / resources gpu=0"
        )
    version, supported = driver
    if _major(version) < MIN_DRIVER or _major(supported) < _major(wheel_cuda):
        return head + (
            f"driver/wheel mismatch: the NVIDIA driver {version} supports CUDA up to "
            f"{supported}, but torch {torch_version} is built for CUDA {wheel_cuda} (needs "
            f"driver >= {MIN_DRIVER}); " + _install_hint(torch_version)
        )
    return head + (
        f"driver {version} (CUDA {supported}) is present but no device is usable "
        f"(CUDA_VISIBLE_DEVICES={visible!r}); check `nvidia-smi` on the node and the job's "
        "GPU request"
    )
