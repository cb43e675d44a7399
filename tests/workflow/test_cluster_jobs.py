"""Jobs on a cluster: a job given a GPU asks for CUDA and stops at once without it, the rules
declare growing (capped) resources, and a site profile alone routes the GPU rules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def dry_run(tmp: Path, *extra: str, config: str = "config/test.yaml") -> str:
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-n", "-p", "--cores", "8", "-s", str(ROOT / "Snakefile"),
         "--directory", str(tmp), "--configfile", str(ROOT / config), *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def commands(out: str, verb: str) -> list[str]:
    """The shell commands of `verb`'s jobs, as `snakemake -n -p` prints them."""
    return re.findall(rf"^(?:Shell command: )?\s*(shiftlab {verb} .*)$", out, re.M)


def test_every_gpu_rule_command_asks_for_cuda(tmp_path):
    gpu = dry_run(tmp_path, "--set-resources", "train:gpu=1", "predict:gpu=1")
    train, predict = commands(gpu, "train"), commands(gpu, "predict")
    n_runs = len(yaml.safe_load((ROOT / "config" / "test.yaml").read_text())["runs"])
    assert train and len(predict) >= n_runs
    assert all("--device cuda" in c for c in train + predict)
    # Without a GPU the jobs keep `auto` (CPU-only runs are unchanged).
    cpu = dry_run(tmp_path)
    assert all("--device auto" in c for c in commands(cpu, "train") + commands(cpu, "predict"))
    assert len(commands(cpu, "predict")) == len(predict)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_gpu_job_without_cuda_fails_fast_naming_the_cause(tmp_path):
    # The rule's own command line (as the dry run prints it), minus the log redirection.
    out = dry_run(tmp_path, "--set-resources", "train:gpu=1")
    cmd = commands(out, "train")[0].split(" > ")[0]
    t0 = time.monotonic()
    proc = subprocess.run(
        cmd, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""),
    )  # fmt: skip
    seconds = time.monotonic() - t0
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr
    assert "asked for a GPU (--device cuda)" in err
    # This machine's torch is either a CPU build or a CUDA build that sees no device.
    assert "no CUDA device is visible" in err or "CPU-only build" in err, err
    assert "Traceback" not in err
    assert seconds < 60  # before any data is read (interpreter + torch import only)
    assert not (tmp_path / "results").exists()


def test_driver_mismatch_message_names_driver_wheel_and_install():
    from shiftlab.devices import MIN_DRIVER, no_cuda_message

    msg = no_cuda_message("13.0", "2.14.1+cu130", ("550.54.15", "12.4"))
    assert "driver/wheel mismatch" in msg
    assert "550.54.15" in msg and "CUDA 13.0" in msg and f">= {MIN_DRIVER}" in msg
    assert "pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cu126" in msg
    # A new enough driver with nothing visible is not called a mismatch.
    assert "mismatch" not in no_cuda_message("13.0", "2.14.1+cu130", ("580.65.06", "13.0"))
    cpu = no_cuda_message(None, "2.14.1+cpu", None)
    assert "CPU-only build" in cpu and "--index-url" in cpu


def test_resources_grow_with_attempt_up_to_the_configured_cap():
    from shiftlab.jobs import SIZES, mem_mb, runtime

    cfg = {"cluster": {"max_runtime_min": 1000, "max_mem_mb": 50000}}
    train_time, train_mem = runtime("train", cfg), mem_mb("train", cfg)
    assert SIZES["train"][1:] == (32000, 720)
    assert [train_time(None, a) for a in (1, 2, 3)] == [720, 1000, 1000]
    assert [train_mem(None, a) for a in (1, 2, 3)] == [32000, 50000, 50000]
    assert runtime("metrics", cfg)(None, 3) == 90


def test_rules_declare_resources_and_the_site_profile_routes_them(tmp_path):
    cap = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cap["cluster"] = {"max_runtime_min": 100}
    (tmp_path / "cap.yaml").write_text(yaml.safe_dump(cap))
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-n", "--cores", "8", "-s", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(tmp_path / "cap.yaml"),
         "--profile", str(ROOT / "profiles" / "test-cluster"), "--executor", "local"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-3000:]
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", text)
    seen = set()
    for block in blocks:
        rule = re.match(r"(?:local)?rule (\w+):", block)
        res = re.search(r"resources: (.*)", block)
        if not rule or not res:
            continue
        name, res_line = rule.group(1), res.group(1)
        if name in ("train", "predict"):
            assert "slurm_partition=gpu" in res_line, block
            seen.add(name)
        runtime_min = re.search(r"\bruntime=(\d+)", res_line)
        if runtime_min:
            assert int(runtime_min.group(1)) <= 100, block  # capped by cluster.max_runtime_min
    assert seen == {"train", "predict"}
