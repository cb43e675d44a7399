"""The whole DAG on config/test.yaml, in a throw-away copy of the project: outputs,
provenance audit and tampering, incremental re-runs, and DVC push/pull.

One module-scoped run of the study feeds every test here (it is the expensive part).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STUDY = "results/test"
PROJECT_FILES = [
    "Snakefile",
    "workflow",
    "config",
    "envs",
    "profiles",
    "dvc.yaml",
    ".dvc/config",
    ".dvcignore",
    ".gitignore",
    "src/shiftlab",
]

pytestmark = pytest.mark.slow


def sh(
    *args: str, cwd: Path, check: bool = True, timeout: int = 1800
) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PATH=f"{BIN}:{os.environ['PATH']}",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@t",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@t",
    )
    proc = subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def make_project(dest: Path, remote: Path) -> Path:
    """A git + DVC project holding this workflow, with the tiny test study as its default config."""
    dest.mkdir(parents=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(
                src, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(src, target)
    shutil.copy2(ROOT / "config" / "test.yaml", dest / "config" / "config.yaml")
    sh("git", "init", "-q", cwd=dest)
    sh("dvc", "remote", "modify", "local", "url", str(remote), cwd=dest)
    sh("git", "add", "-A", cwd=dest)
    sh("git", "commit", "-qm", "study", cwd=dest)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("e2e")
    proj = make_project(base / "project", base / "remote")
    run = sh("snakemake", "--cores", "2", cwd=proj)
    assert "outputs recorded with DVC" in run.stdout + run.stderr
    return proj


def copy_study(project: Path, dest: Path) -> Path:
    shutil.copytree(project, dest, symlinks=True)
    return dest


def dry_run_jobs(project: Path, *extra: str) -> list[tuple[str, str]]:
    """(rule, run wildcard or '') of every job `snakemake -n` would schedule."""
    out = sh("snakemake", "-n", "--cores", "2", *extra, cwd=project).stdout
    jobs = []
    for block in re.split(r"\n(?=[ \t]*(?:local)?rule \w+:)", out):  # grouped jobs are indented
        head = re.match(r"\s*(?:local)?rule (\w+):", block)
        if head and head.group(1) != "all":
            run = re.search(r"wildcards:.*?\brun=([\w.+-]+)", block)
            jobs.append((head.group(1), run.group(1) if run else ""))
    return jobs


def test_study_outputs_and_provenance(project):
    study = project / STUDY
    for name in (
        "report.html",
        "summary.csv",
        "tracking.json",
        "headline.json",
        "stats/pairwise.csv",
    ):
        assert (study / name).is_file(), name
    assert any((study / "figures").glob("*.png"))
    summary = pd.read_csv(study / "summary.csv", keep_default_na=False)
    assert len(summary) > 100
    for column in (
        "checkpoint_sha256",
        "dataset_fingerprint",
        "predictions_sha256",
        "config_sha256",
        "code_version",
    ):
        assert (summary[column] != "").all(), f"numbers without {column}"
    benchmarks = set(summary["benchmark"])
    assert {
        "val",
        "v2-mf",
        "sketch",
        "a",
        "r",
        "o",
        "real",
        "cue",
        "c",
        "c-fly",
        "p",
        "t",
    } <= benchmarks
    metrics = set(summary["metric"])
    assert {"top1", "top5", "aupr", "real_top1", "shape_bias", "mean_fp", "ece"} <= metrics
    html = (study / "report.html").read_text()
    assert "<img" in html and "data:image/png;base64," in html


def test_study_headline_rows_reach_summary_and_report(project):
    """What the source studies are about, through the real workflow: shift-probe consistency,
    CE per corruption vs the baseline run, shape bias in percent, the 1000-way A variant."""
    study = project / STUDY
    summary = pd.read_csv(study / "summary.csv", keep_default_na=False)
    value = pd.to_numeric(summary["value"])
    for probe in ("crop_shift", "embed_black", "embed_inpaint", "scale_embed"):
        pooled = summary[(summary.variant == probe) & (summary.benchmark == "t")]
        assert {"shift_flip_prob", "shift_flip_prob_consecutive", "shift_prob_change"} <= set(
            pooled.metric
        ), probe
        assert value[pooled.index].between(0, 100).all(), pooled
        steps = summary[
            (summary.metric == "shift_flip_prob") & summary.variant.str.match(rf"{probe}_\d+$")
        ]
        assert len(steps) == 3 * 8, probe  # 3 runs x steps 1..8
    ce = summary[(summary.metric == "ce_baseline") & (summary.benchmark == "c")]
    assert len(ce) == 3 * 5 and value[ce.index].gt(0).all()  # 3 runs x 5 corruptions
    sb = summary[(summary.metric == "shape_bias") & (summary.variant == "")]
    assert len(sb) == 3 and value[sb.index].between(0, 100).all()
    full = summary[(summary.benchmark == "a-1000way") & (summary.metric == "top1")]
    assert len(full[full.variant == ""]) == 3
    preds = pd.read_parquet(study / "predictions" / "tiny-c" / "a-1000way.parquet")
    masked = pd.read_parquet(study / "predictions" / "tiny-c" / "a.parquet")
    outside = set(preds.topk.explode().astype(int)) - set(masked.topk.explode().astype(int))
    assert outside, "1000-way predictions never name a class outside A's subset"
    html = (study / "report.html").read_text()
    for section in ("shift-probes", "corruptions", "fine-tuning", "ood", "shape-bias"):
        assert f'<section id="{section}">' in html, section


def test_nothing_to_do_after_a_complete_run(project):
    assert dry_run_jobs(project) == []


def test_editing_one_model_reruns_only_that_model(project):
    cfg_path = project / "config" / "config.yaml"
    original = cfg_path.read_text()
    cfg = yaml.safe_load(original)
    try:
        cfg["runs"]["tiny-c"]["model"] = "resnet14t"
        cfg_path.write_text(yaml.safe_dump(cfg))
        jobs = dry_run_jobs(project)
        runs = {run for _, run in jobs if run}
        assert runs == {"tiny-c"}, jobs
        assert {rule for rule, run in jobs if not run} == {
            "track",
            "aggregate",
            "report",
            "publish",
        }
        n_bench = sum(1 for e in cfg["benchmarks"].values() if e["kind"] != "imagenet_train")
        n_bench += sum(1 for e in cfg["benchmarks"].values() if e.get("subset_1000way"))
        assert sorted(r for r, run in jobs if run) == sorted(
            ["init_model"] + ["predict"] * n_bench + ["metrics"] * n_bench
        )

        cfg = yaml.safe_load(original)
        cfg["runs"]["tiny-d"] = {"model": "resnet10t", "recipe": "quick"}
        cfg_path.write_text(yaml.safe_dump(cfg))
        jobs = dry_run_jobs(project)
        assert {run for _, run in jobs if run} == {"tiny-d"}, jobs
        assert {rule for rule, run in jobs if run} == {"init_model", "train", "predict", "metrics"}
        assert {rule for rule, run in jobs if not run} == {
            "track",
            "aggregate",
            "report",
            "publish",
        }
    finally:
        cfg_path.write_text(original)
    assert dry_run_jobs(project) == []


def test_audit_is_clean_on_an_untouched_study(project):
    proc = sh("shiftlab", "audit", f"{STUDY}/summary.csv", cwd=project, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def _audit_errors(study_dir: Path) -> str:
    proc = sh("shiftlab", "audit", f"{STUDY}/summary.csv", cwd=study_dir, check=False)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    return "\n".join(line for line in proc.stdout.splitlines() if line.startswith("error"))


def test_audit_catches_a_flipped_byte_in_predictions(project, tmp_path):
    work = copy_study(project, tmp_path / "s")
    target = work / STUDY / "predictions" / "tiny-b" / "val.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    assert "predictions/tiny-b/val.parquet" in _audit_errors(work)


def test_audit_catches_a_replaced_image(project, tmp_path):
    work = copy_study(project, tmp_path / "s")
    image = sorted((work / "data" / "mininet" / "imagenet" / "val").rglob("*.JPEG"))[0]
    other = sorted((work / "data" / "mininet" / "imagenet" / "val").rglob("*.JPEG"))[-1]
    image.unlink()
    shutil.copy2(other, image)
    errors = _audit_errors(work)
    assert "data/mininet/imagenet/val" in errors


def test_audit_catches_a_swapped_checkpoint(project, tmp_path):
    work = copy_study(project, tmp_path / "s")
    ckpts = work / STUDY / "checkpoints"
    shutil.copy2(ckpts / "tiny-a" / "final.pt", ckpts / "tiny-b" / "final.pt")
    assert "checkpoints/tiny-b/final.pt" in _audit_errors(work)


def test_audit_catches_an_edited_number(project, tmp_path):
    work = copy_study(project, tmp_path / "s")
    path = work / STUDY / "summary.csv"
    summary = pd.read_csv(path, keep_default_na=False, dtype=str)
    row = summary.index[
        (summary["run"] == "tiny-a")
        & (summary["benchmark"] == "val")
        & (summary["metric"] == "top1")
        & (summary["variant"] == "")
    ][0]
    summary.loc[row, "value"] = str(float(summary.loc[row, "value"]) + 7.5)
    summary.to_csv(path, index=False)
    errors = _audit_errors(work)
    assert f"row {row} " in errors and "summary.csv" in errors


def test_dvc_status_clean_push_and_pull_restore_bit_identical(project, tmp_path):
    status = sh("dvc", "status", cwd=project).stdout
    assert "up to date" in status.lower() or status.strip() == "", status
    shown = sh("dvc", "metrics", "show", cwd=project).stdout
    assert "val/top1" in shown and "tiny-a" in shown
    sh("dvc", "push", cwd=project)
    sh("git", "add", "-A", cwd=project)  # dvc.lock and records/ (the data folders' stages)
    sh("git", "commit", "-qm", "record study", cwd=project)
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(project), str(clone), cwd=tmp_path)
    sh("dvc", "pull", cwd=clone)
    for rel in (
        f"{STUDY}/summary.csv",
        f"{STUDY}/predictions/tiny-a/c.parquet",
        f"{STUDY}/checkpoints/tiny-b/final.pt",
        "data/mininet/MANIFEST.json",
        "data/derived/val-c/manifest.parquet",
    ):
        assert (clone / rel).read_bytes() == (project / rel).read_bytes(), rel


def test_dvc_records_a_second_study_and_pull_restores_it(project, tmp_path):
    """Another `--configfile` study: its own results and the data it made are recorded."""
    work = copy_study(project, tmp_path / "p")
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["study"] = "second"
    cfg["benchmarks"] = {k: v for k, v in cfg["benchmarks"].items() if k in ("train", "val", "c")}
    cfg["runs"] = {"tiny-a": cfg["runs"]["tiny-a"]}
    cfg["stats"]["baseline_run"] = "tiny-a"
    (work / "config" / "second.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    run = sh("snakemake", "--cores", "2", "--configfile", "config/second.yaml", cwd=work)
    assert "outputs recorded with DVC" in run.stdout + run.stderr
    status = sh("dvc", "status", cwd=work).stdout
    assert "up to date" in status.lower() or status.strip() == "", status
    stage = yaml.safe_load((work / "records" / "second" / "dvc.yaml").read_text())["stages"]
    outs = [next(iter(o)) for o in stage["study"]["outs"]]
    assert "results/second/summary.csv" in outs and "results/second/checkpoints" in outs
    data = yaml.safe_load((work / "records" / "data" / "dvc.yaml").read_text())["stages"]
    assert {"data--mininet", "data--derived--val-c"} <= set(data)
    # Intermediate shard manifests are gone; the merged manifest stays.
    assert not list((work / "data" / "derived" / "val-c" / ".shards").glob("*-of-*.parquet"))
    sh("dvc", "push", cwd=work)
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-qm", "record the second study", cwd=work)
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(work), str(clone), cwd=tmp_path)
    sh("dvc", "pull", cwd=clone)
    for rel in ("results/second/summary.csv", "results/second/report.html",
                "results/second/checkpoints/tiny-a/init.pt", "data/derived/val-c/manifest.parquet",
                "data/mininet/MANIFEST.json"):  # fmt: skip
        assert (clone / rel).read_bytes() == (work / rel).read_bytes(), rel
