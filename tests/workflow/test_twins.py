"""The source studies' MiniNet twins through the real workflow (`snakemake --configfile
config/twins/<study>.yaml`), each checked for the headline rows and figures of its study.

The twins run one after another in one throw-away copy of the project; the sensitivity and
texture-shape twins share `data/twins` (MiniNet generated once). Derived sets made with other
settings need their own data folder, which the repeatability twin has. The benchmark
family's twin is config/test.yaml (tests/workflow/test_e2e.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROJECT_FILES = ["Snakefile", "workflow", "config", "envs", "profiles"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("twins") / "project"
    dest.mkdir()
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True)
        else:
            shutil.copy2(src, dest / name)
    return dest


def run_twin(project: Path, name: str) -> Path:
    """Run one twin study to completion; returns its results folder."""
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    proc = subprocess.run(
        ["snakemake", "--cores", "2", "--configfile", f"config/twins/{name}.yaml"],
        cwd=project, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        logs = "".join(
            f"\n--- {p}\n{p.read_text(errors='replace')[-1500:]}"
            for p in sorted((project / "logs").rglob("*.log"))
            if "Error" in p.read_text(errors="replace")
        )
        pytest.fail(f"twin {name} failed:\n{proc.stderr[-3000:]}{logs}", pytrace=False)
    study = {"tiny-imagenet": "tiny-twin"}.get(name, f"{name}-twin")
    return project / "results" / study


def summary_of(results: Path) -> pd.DataFrame:
    summary = pd.read_csv(results / "summary.csv", keep_default_na=False)
    summary["value"] = pd.to_numeric(summary["value"])
    return summary


def section(results: Path, anchor: str) -> str:
    page = (results / "report.html").read_text()
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


def rows(summary: pd.DataFrame, metric: str, **where: str) -> pd.DataFrame:
    sel = summary["metric"] == metric
    for column, value in where.items():
        sel &= summary[column] == value
    return summary[sel]


def test_sensitivity_twin(project):
    """Class-wise tests per transformation: affected-class counts and the figure."""
    results = run_twin(project, "sensitivity")
    summary = summary_of(results)
    transforms = {"rotation", "brightness", "histeq", "hflip", "vflip", "translate", "zoom",
                  "perspective", "histeq_zoom_brightness"}  # fmt: skip
    for metric in ("classes_tested", "classes_affected_seed", "classes_affected_corrected"):
        counts = rows(summary, metric, benchmark="t")
        assert set(counts.variant) == transforms, metric
        assert np.isfinite(counts.value).all()
    tested = rows(summary, "classes_tested", benchmark="t").value
    assert (tested == 10).all()  # MiniNet's 10 classes
    seed = pd.read_csv(results / "stats" / "seed_ttests.csv")
    assert {"rotation", "vflip"} <= set(seed.condition)
    assert 'id="fig-class_sensitivity"' in section(results, "class-sensitivity")
    assert (results / "figures" / "class_sensitivity.png").stat().st_size > 5_000


def test_texture_shape_twin(project):
    """Shape bias per run, in percent with its interval, and per shape category."""
    results = run_twin(project, "texture-shape")
    summary = summary_of(results)
    overall = rows(summary, "shape_bias", benchmark="cue", variant="")
    assert set(overall.run) == {"resnet10t", "mobilenet_v2"}
    assert overall.value.between(0, 100).all()
    assert (pd.to_numeric(overall.ci_low) <= overall.value).all()
    per_category = summary[(summary.metric == "shape_bias") & (summary.variant != "")]
    assert len(set(per_category.variant)) >= 3 and per_category.value.between(0, 100).all()
    # per category, the shape and texture decisions add up to the overall count
    for run, part in per_category.groupby("run"):
        assert part.n.astype(int).sum() == int(overall.set_index("run").n[run]), run
    assert 'id="fig-shape_bias_categories"' in section(results, "shape-bias")


def test_repeatability_twin(project):
    """Robust recipes vs the baseline: mCE, mFR/mT5D, and the shift probes."""
    results = run_twin(project, "repeatability")
    summary = summary_of(results)
    runs = {"r10-baseline", "r10-augmix", "r10-patch_gaussian", "r10-stability"}
    for metric in ("mce_baseline", "relative_mce_baseline"):
        found = rows(summary, metric, variant="")
        assert set(found.run) == runs, metric
        assert np.isfinite(found.value).all(), metric
    for difficulty in (1, 2, 3):  # mFR and mT5D at each difficulty, against the baseline run
        for metric in ("mfr", "mt5d"):
            found = rows(summary, metric, variant=f"difficulty_{difficulty}")
            assert set(found.run) == runs, (metric, difficulty)
            assert np.isclose(found.set_index("run").value["r10-baseline"], 100.0), metric
        noise = rows(
            summary,
            "fp",
            variant=f"gaussian_noise{'' if difficulty == 1 else f'_{difficulty}'}@d{difficulty}",
        )
        assert len(noise) == 4, difficulty
    assert "mfr difficulty_3" in section(results, "perturbations")
    base = rows(summary, "mce_baseline", run="r10-baseline").value
    assert np.allclose(base, 100.0)  # the baseline run against itself
    for probe in ("crop_shift", "embed_black", "embed_inpaint", "scale_embed"):
        consecutive = rows(summary, "shift_flip_prob_consecutive", variant=probe)
        assert set(consecutive.run) == runs and consecutive.value.between(0, 100).all()
        curve = summary[
            (summary.metric == "shift_flip_prob") & summary.variant.str.match(rf"{probe}_\d$")
        ]
        assert len(curve) == 4 * 3  # 4 runs x steps 1..3
    assert 'id="fig-shift_probes"' in section(results, "shift-probes")
    assert 'id="fig-training_curves"' in section(results, "fine-tuning")


def test_tiny_imagenet_twin(project):
    """Tiny val top-1/top-5, Tiny-C CE and mCE against the AlexNet run, corruption-aug held out."""
    results = run_twin(project, "tiny-imagenet")
    summary = summary_of(results)
    runs = {"alexnet", "squeezenet1_1", "resnet10t", "efficientnet_b0", "resnet10t-corrupt"}
    for metric in ("top1", "top5"):
        assert set(rows(summary, metric, benchmark="tiny-val", variant="").run) == runs
    mce = rows(summary, "mce_baseline", benchmark="tiny-c", variant="")
    assert set(mce.run) == runs and np.isfinite(mce.value).all()
    assert np.isclose(mce.set_index("run").value["alexnet"], 100.0)
    ce = rows(summary, "ce_baseline", benchmark="tiny-c")
    assert len(ce[ce.variant != ""]) == 5 * 15
    published = {"ce_alexnet", "mce_alexnet", "relative_mce_alexnet"}
    assert not summary.metric.isin(published).any()  # 200-class space: no AlexNet constants
    fine_tuning = section(results, "fine-tuning")
    assert "held out" in fine_tuning and "TRAINED ON" not in fine_tuning
