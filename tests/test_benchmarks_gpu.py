"""benchmarks/gpu.py end to end at toy sizes on the CPU, so its first GPU run needs no
debugging: every step runs, and the JSON holds every figure, finite, with its target."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import shiftlab.corrupt as corrupt

ROOT = Path(__file__).resolve().parents[1]
FIGURES = [
    "cuda_tests_failed",
    "cuda_tests_skipped",
    "predict_over_forward",
    "imagenet_c_full_minutes",
    "corrupt_slowest",
    "train_loader_over_step",
    "files_nvjpeg_over_forward",
    "files_cpu_over_forward",
]
STEPS = ["tests", "predict", "fly", "corrupt", "train", "files_nvjpeg", "files_cpu"]


def _figures_module():
    spec = importlib.util.spec_from_file_location("gpu_figures", ROOT / "benchmarks/gpu_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_tiny_cpu_run_reports_every_figure_against_its_target(tmp_path):
    out = tmp_path / "gpu.json"
    argv = [sys.executable, "benchmarks/gpu.py", "--device", "cpu", "--tiny", "--out", str(out)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())

    assert report["tiny"] is True and report["device"]["device"] == "cpu"
    assert {"torch", "cuda", "cpu_cores"} <= set(report["device"])
    assert list(report["steps"]) == STEPS
    assert all(step["ok"] and step["error"] is None for step in report["steps"].values())
    figures = report["figures"]
    expected = FIGURES + [f"corrupt_{name}" for name in corrupt.names()]
    assert sorted(figures) == sorted(expected)
    for name, f in figures.items():
        assert isinstance(f["value"], int | float) and math.isfinite(f["value"]), name
        assert isinstance(f["target"], int | float) and math.isfinite(f["target"]), name
        holds = f["value"] >= f["target"] if f["op"] == ">=" else f["value"] <= f["target"]
        assert f["ok"] == holds, name
    # no CUDA here: the CUDA-only tests were all collected, and all skipped
    assert figures["cuda_tests_failed"]["value"] == 0
    assert figures["cuda_tests_skipped"]["value"] >= 3
    assert figures["corrupt_slowest"]["detail"]["name"] in corrupt.names()
    assert "figure" in proc.stdout and "target" in proc.stdout


def test_a_failed_step_keeps_its_figures_with_the_error():
    gpu_figures = _figures_module()
    results = {
        "tests": {"raw": {"tests": 3, "failures": 1, "errors": 0, "skipped": 0, "passed": 2}},
        "train": {"raw": None, "ok": False, "error": "timed out after 50 s"},
    }
    figures = gpu_figures.figures_from(results, "cuda")
    assert list(figures) == ["cuda_tests_failed", "cuda_tests_skipped", "train_loader_over_step"]
    assert figures["cuda_tests_failed"]["value"] == 1 and not figures["cuda_tests_failed"]["ok"]
    assert figures["cuda_tests_skipped"]["ok"]
    train = figures["train_loader_over_step"]
    assert train["value"] is None and not train["ok"] and train["note"] == "timed out after 50 s"
