"""The workflow on a live SLURM cluster: a study matches a local run, a failed job is retried,
a fine-tuning job that gets SLURM's warning signal resumes from its state, and the full
ImageNet study plans its DAG quickly.

The cluster comes from the session fixture in conftest.py. Snakemake runs with the example
site profile of that cluster, profiles/test-cluster (it alone sends `train` and `predict` to
the `gpu` partition; the rules declare their own resources), and the workflow profile it
loads itself, plus two settings that only save waiting on a one-node cluster.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "Snakefile"
# The site profile of the local test cluster (tools/slurm-local.sh).
SITE_PROFILE = str(ROOT / "profiles" / "test-cluster")
FLAKY = Path(__file__).parent / "flaky" / "Snakefile"
FAST = ["--slurm-init-seconds-before-status-checks", "1", "--latency-wait", "5"]
# Rules that run on the head node (workflow/rules/*.smk `localrules`), never submitted.
LOCALRULES = {"fetch", "init_model", "track", "publish", "all"}

# A cut of the test study that still runs every rule (data, materialized ImageNet-C, an
# OOD benchmark, one fine-tuned and one base run, statistics, report) in a few minutes.
KEEP_BENCHMARKS = ["train", "val", "c", "o"]
KEEP_RUNS = ["tiny-a", "tiny-c"]
# Few SLURM jobs for many small ones: each submission costs seconds of SLURM and Snakemake
# start-up, so the study goes out as five group jobs (data, training, evaluation, metrics,
# final). A group job has one partition: GPU rules (train, predict) and CPU rules are not
# mixed, and metrics feed `track` on the head node, which `aggregate` waits for.
GROUPS = [
    "--groups",
    "mininet=data",
    "index=data",
    "corrupt_shard=data",
    "corrupt_merge=data",
    "train=train",
    "predict=eval",
    "metrics=metrics",
    "aggregate=final",
    "report=final",
    "--group-components",
    "data=100",
    "train=100",
    "eval=1000",
    "metrics=1000",
    "final=10",
]


def test_config(
    tmp: Path, study: str, benchmarks: list[str], runs: dict, recipes: dict | None = None
) -> Path:
    """A config derived from config/test.yaml (so it follows schema changes)."""
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["study"] = study
    cfg["benchmarks"] = {k: v for k, v in cfg["benchmarks"].items() if k in benchmarks}
    cfg["runs"] = runs
    if recipes:
        cfg["recipes"].update(recipes)
    cfg["stats"]["baseline_run"] = next(iter(runs))
    # Each working directory's own SQLite store, named explicitly: `track` passes the URI
    # on its command line, where an empty value (null) currently leaves the flag bare.
    cfg.setdefault("tracking", {})["uri"] = "none"
    path = tmp / f"{study}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


test_config.__test__ = False  # a helper, not a test


def snakemake(
    workdir: Path,
    *args: str | Path,
    env: dict,
    timeout: float,
    slurm: bool = True,
    check: bool = True,
) -> subprocess.CompletedProcess:
    cmd = ["snakemake", "--directory", str(workdir), *map(str, args)]
    if slurm:
        cmd += ["--profile", SITE_PROFILE, *FAST]
    proc = subprocess.run(
        cmd,
        cwd=ROOT if slurm else workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    (workdir / "snakemake.out").write_text(proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        pytest.fail(
            failure_report(workdir, proc.stdout + proc.stderr, proc.returncode), pytrace=False
        )
    return proc


def spawn(workdir: Path, *args: str | Path, env: dict, slurm: bool = True) -> subprocess.Popen:
    cmd = ["snakemake", "--directory", str(workdir), *map(str, args)]
    if slurm:
        cmd += ["--profile", SITE_PROFILE, *FAST]
    out = open(workdir / "snakemake.out", "w")  # noqa: SIM115 - closed by finish()
    return subprocess.Popen(
        cmd,
        cwd=ROOT if slurm else workdir,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, workdir: Path, timeout: float) -> None:
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        rc = "timeout"
    proc.stdout and proc.stdout.close()
    if rc != 0:
        pytest.fail(
            failure_report(workdir, (workdir / "snakemake.out").read_text(), rc), pytrace=False
        )


def stop(proc: subprocess.Popen) -> None:
    """Stop a Snakemake run that a failed test leaves behind, with its SLURM jobs."""
    if proc.poll() is None:
        proc.send_signal(2)  # SIGINT: Snakemake cancels its SLURM jobs
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def failure_report(workdir: Path, output: str, rc) -> str:
    text = f"snakemake in {workdir} exited {rc}:\n" + "\n".join(output.splitlines()[-60:])
    for log in sorted(workdir.glob(".snakemake/slurm_logs/**/*.log"))[-3:]:
        text += f"\n--- {log} (tail)\n" + "\n".join(log.read_text().splitlines()[-25:])
    for log in sorted(workdir.glob("logs/**/*.log")):
        body = log.read_text(errors="replace")
        if "Error" in body or "error" in body:
            text += f"\n--- {log} (tail)\n" + "\n".join(body.splitlines()[-15:])
    return text


def run_id(workdir: Path) -> str:
    match = re.search(r"SLURM run ID: (\S+)", (workdir / "snakemake.out").read_text())
    assert match, "no SLURM run ID in Snakemake's output"
    return match.group(1)


def slurm_jobs(uuid: str) -> pd.DataFrame:
    """The SLURM jobs of one Snakemake run (the plugin names every job after the run ID)."""
    fields = ["JobID", "State", "ExitCode", "ReqMem", "ReqTRES", "Elapsed", "Partition"]
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", "now-6hours", "--name", uuid, "-o", ",".join(fields)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    jobs = pd.DataFrame(rows, columns=fields)
    return jobs.assign(JobID=jobs.JobID.astype(int)).sort_values("JobID", ignore_index=True)


def wait_for(what: str, predicate, timeout: float, proc: subprocess.Popen | None = None):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"snakemake exited ({proc.returncode}) while waiting for {what}")
        time.sleep(1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


# ------------------------------------------------------------------------------------------
def test_study_on_slurm_matches_local_run(tmp_path, slurm_env):
    runs = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())["runs"]
    config = test_config(tmp_path, "slurm", KEEP_BENCHMARKS, {r: runs[r] for r in KEEP_RUNS})
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir(), local.mkdir()

    t0 = time.monotonic()
    # Same thread counts on both sides, so the floating-point work is the same.
    threads = ["--set-threads", "predict=2", "train=2", "corrupt_shard=1", "aggregate=2"]
    # --cores and --resources cap what a group job asks for (its jobs' sum, side by side).
    # The site's GPU partition, set the documented way: only the environment.
    gpu_env = dict(slurm_env, SHIFTLAB_SLURM_GPU_PARTITION="gpu")
    cluster = spawn(
        on_slurm,
        "-s",
        SNAKEFILE,
        "--configfile",
        config,
        *threads,
        "--cores",
        "4",
        "--resources",
        "gpu=2",
        *GROUPS,
        env=gpu_env,
    )
    try:
        # The local reference runs meanwhile: the SLURM run spends most of its time waiting.
        snakemake(
            local,
            "-s",
            SNAKEFILE,
            "--configfile",
            config,
            *threads,
            "--cores",
            "2",
            env=slurm_env,
            timeout=600,
            slurm=False,
        )
        finish(cluster, on_slurm, timeout=600 - (time.monotonic() - t0))
    finally:
        stop(cluster)
    print(f"\nstudy on SLURM + local reference: {time.monotonic() - t0:.0f} s")

    jobs = slurm_jobs(run_id(on_slurm))
    print(jobs.to_string())
    assert (jobs.State == "COMPLETED").all(), jobs
    # The five groups went out as five jobs, not one per rule instance.
    assert len(jobs) == 5, jobs
    # Each group waits for the one before it, so job ids follow data, train, eval, metrics,
    # final: the GPU rules went to the site's GPU partition, the rest to the cluster default.
    assert jobs.Partition.tolist() == ["debug", "gpu", "gpu", "debug", "debug"], jobs

    study = Path("results") / "slurm"
    pred_files = sorted(
        p.relative_to(local) for p in (local / study / "predictions").rglob("*.parquet")
    )
    assert len(pred_files) == len(KEEP_RUNS) * (len(KEEP_BENCHMARKS) - 1)
    for rel in pred_files:
        ours, ref = pd.read_parquet(on_slurm / rel), pd.read_parquet(local / rel)
        assert list(ours.columns) == list(ref.columns), rel
        assert ours[["sample", "variant", "target"]].equals(ref[["sample", "variant", "target"]]), (
            rel
        )
        assert ours.topk.map(list).tolist() == ref.topk.map(list).tolist(), rel
        np.testing.assert_allclose(
            np.stack(ours.topk_prob),
            np.stack(ref.topk_prob),
            rtol=1e-5,
            atol=1e-6,
            err_msg=str(rel),
        )

    numbers = ["run", "benchmark", "variant", "metric", "value", "ci_low", "ci_high", "n"]
    ours = pd.read_csv(on_slurm / study / "summary.csv")
    ref = pd.read_csv(local / study / "summary.csv")
    key = [c for c in ("run", "benchmark", "variant", "metric") if c in ref.columns]
    ours, ref = (df.sort_values(key, ignore_index=True) for df in (ours, ref))
    assert len(ours) == len(ref) > 0
    cols = [c for c in numbers if c in ref.columns]
    pd.testing.assert_frame_equal(ours[cols], ref[cols], check_exact=False, rtol=1e-5, atol=1e-6)
    assert (on_slurm / study / "report.html").stat().st_size > 0


# ------------------------------------------------------------------------------------------
def test_unknown_partition_stops_before_any_submission(tmp_path, slurm_env):
    config = test_config(tmp_path, "nopart", ["train", "val"], {"tiny-a": {"model": "resnet10t"}})
    env = dict(slurm_env, SHIFTLAB_SLURM_GPU_PARTITION="nosuch")
    proc = snakemake(
        tmp_path, "-s", SNAKEFILE, "--configfile", config, env=env, timeout=120, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "SLURM partition 'nosuch' (from $SHIFTLAB_SLURM_GPU_PARTITION) does not exist" in out
    assert "sinfo lists: debug, gpu" in out, out
    assert slurm_jobs(run_id(tmp_path)).empty, "jobs were submitted"


# ------------------------------------------------------------------------------------------
def test_failed_job_is_retried_with_more_memory(tmp_path, slurm_env):
    # The workflow profile is not wanted here: only the site profile's retries.
    snakemake(tmp_path, "-s", FLAKY, "--workflow-profile", "none", env=slurm_env, timeout=300)
    assert (tmp_path / "flaky.done").read_text().strip() == "ok"
    out = (tmp_path / "snakemake.out").read_text()
    assert "Trying to restart job" in out

    jobs = slurm_jobs(run_id(tmp_path))
    print(jobs.to_string())
    assert jobs.State.tolist() == ["FAILED", "COMPLETED"], jobs
    # mem_mb = 200 * attempt reached sbatch on each submission.
    assert jobs.ReqMem.tolist() == ["200M", "400M"], jobs
    assert (tmp_path / "logs" / "flaky.log").read_text().startswith("attempt 2 job ")


# ------------------------------------------------------------------------------------------
EPOCHS = 6


def test_preempted_training_resumes_from_its_state(tmp_path, slurm_env):
    recipe = {
        "long": {
            "base": "baseline",
            "epochs": EPOCHS,
            "lr": 0.05,
            "batch_size": 8,
            "image_size": 32,
            "checkpoint_every": 0,
        }
    }
    config = test_config(
        tmp_path,
        "preempt",
        ["train", "val"],
        {"tiny-a": {"model": "resnet10t", "recipe": "long"}},
        recipe,
    )
    study = Path("results") / "preempt"  # targets are relative to the working directory
    train_log = tmp_path / "logs" / "preempt" / "train" / "tiny-a.log"
    # Data and the initial checkpoint locally: only the fine-tuning job goes to SLURM.
    snakemake(
        tmp_path,
        "-s",
        SNAKEFILE,
        "--configfile",
        config,
        "--cores",
        "2",
        study / "index" / "train.parquet",
        study / "checkpoints" / "tiny-a" / "init.pt",
        env=slurm_env,
        timeout=300,
        slurm=False,
    )

    proc = spawn(
        tmp_path,
        "-s",
        SNAKEFILE,
        "--configfile",
        config,
        "--cores",
        "2",
        study / "checkpoints" / "tiny-a" / "final.pt",
        env=dict(slurm_env, SHIFTLAB_SLURM_GPU_PARTITION="gpu"),
    )
    try:
        uuid = wait_for(
            "the SLURM run ID",
            lambda: re.search(r"SLURM run ID: (\S+)", (tmp_path / "snakemake.out").read_text()),
            120,
            proc,
        ).group(1)

        def running_job() -> str | None:
            out = subprocess.run(
                ["squeue", "-h", "--name", uuid, "-t", "RUNNING", "-o", "%i"],
                capture_output=True,
                text=True,
            ).stdout.split()
            return out[0] if out else None

        job = wait_for("the training job to start", running_job, 180, proc)
        # After a whole epoch: the resumed run must not start from scratch.
        wait_for(
            "the first epoch",
            lambda: train_log.exists() and "epoch 1:" in train_log.read_text(errors="replace"),
            300,
            proc,
        )
        # What `--signal=USR1@600` does before the time limit: USR1 to the job's steps.
        subprocess.run(["scancel", "--signal=USR1", job], check=True)
        finish(proc, tmp_path, timeout=480)
    finally:
        stop(proc)

    jobs = slurm_jobs(uuid)
    print(jobs.to_string())
    assert jobs.State.tolist() == ["FAILED", "COMPLETED"], jobs
    assert jobs.Partition.tolist() == ["gpu", "gpu"], jobs  # the retry too
    # The second submission is attempt 2: the rule's memory grew with it.
    mem = [float(m.rstrip("MG")) * (1024 if m.endswith("G") else 1) for m in jobs.ReqMem]
    assert mem[1] == 2 * mem[0], jobs

    log = train_log.read_text(errors="replace")
    match = re.search(r"resumed tiny-a at epoch (\d+) step (\d+)/(\d+)", log)
    assert match, log[-2000:]
    assert int(match.group(1)) >= 1, "resumed from scratch"
    history = pd.read_csv(tmp_path / study / "checkpoints" / "tiny-a" / "history.csv")
    assert history.epoch.tolist() == list(range(1, EPOCHS + 1))
    assert (tmp_path / study / "checkpoints" / "tiny-a" / "final.pt").stat().st_size > 0
    first_attempt = (
        tmp_path / ".snakemake" / "slurm_logs" / "rule_train" / "tiny-a" / f"{jobs.JobID[0]}.log"
    ).read_text()
    assert "User defined signal 1" in first_attempt or "Error in rule train" in first_attempt


# ------------------------------------------------------------------------------------------
def test_imagenet_study_dag_builds_fast(tmp_path, slurm_env):
    cfg = yaml.safe_load((ROOT / "config" / "imagenet.yaml").read_text())
    for bench_id, bench in cfg["benchmarks"].items():
        if bench.get("path"):  # local copies: empty stand-ins are enough to plan
            bench["path"] = str(tmp_path / "datasets" / bench_id)
            Path(bench["path"]).mkdir(parents=True)
    config = tmp_path / "imagenet.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))

    t0 = time.monotonic()
    proc = snakemake(
        tmp_path, "-s", SNAKEFILE, "--configfile", config, "-n", env=slurm_env, timeout=120
    )
    seconds = time.monotonic() - t0
    out = proc.stdout + proc.stderr

    heads = re.findall(r"^(?:\[[^\]]*\] )?(rule|localrule|Group job) (\w+)", out, re.M)
    submitted = [name for kind, name in heads if kind == "Group job" or name not in LOCALRULES]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:")[1], re.M))
    # `train` is not evaluated; `subset_1000way` adds `<id>-1000way`
    n_full = sum(1 for b in cfg["benchmarks"].values() if b.get("subset_1000way"))
    n_runs, n_bench = len(cfg["runs"]), len(cfg["benchmarks"]) - 1 + n_full
    n_fine = sum(1 for r in cfg["runs"].values() if r.get("recipe"))
    print(
        f"\nimagenet dry-run: {seconds:.1f} s, {stats['total']} jobs, "
        f"{len(submitted)} SLURM submissions ({n_runs} runs x {n_bench} benchmarks, "
        f"{n_fine} fine-tunes)"
    )
    assert int(stats["predict"]) == n_runs * n_bench
    assert int(stats["train"]) == n_fine
    # One job per run x benchmark and per fine-tune, metrics batched, plus a few.
    expected_max = n_runs * n_bench + n_fine + math.ceil(n_runs * n_bench / 64) + 64
    assert len(submitted) <= expected_max
    assert seconds < 10, f"dry-run took {seconds:.1f} s"


def test_plugin_accepts_the_site_profiles_slurm_extra(slurm_cluster):
    # Importing the plugin queries SLURM: it belongs with the live tests.
    from snakemake_executor_plugin_slurm.validation import get_forbidden_slurm_options

    for name in ("slurm", "test-cluster"):
        profile = yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())
        for rule, res in profile["set-resources"].items():
            if "slurm_extra" in res:
                value = eval(res["slurm_extra"])  # noqa: S307 - our own profile
                for pattern, what in get_forbidden_slurm_options().items():
                    assert not re.search(pattern, value), f"{rule}: slurm_extra sets {what}"


def test_gpu_job_without_cuda_fails_fast_on_the_gpu_partition(tmp_path, slurm_env):
    """The test cluster's GPUs are fake gres: a training job given one must stop at once
    with the cause, not train on the CPU until its time limit."""
    config = test_config(
        tmp_path, "nocuda", ["train", "val"], {"tiny-a": {"model": "resnet10t", "recipe": "quick"}}
    )
    study = Path("results") / "nocuda"
    snakemake(tmp_path, "-s", SNAKEFILE, "--configfile", config, "--cores", "2",
              study / "index" / "train.parquet", study / "checkpoints" / "tiny-a" / "init.pt",
              env=slurm_env, timeout=300, slurm=False)  # fmt: skip
    t0 = time.monotonic()
    # The target before --set-resources: that option takes every word up to the next option,
    # so a target after it is parsed as a resource and Snakemake stops before submitting.
    proc = snakemake(tmp_path, "-s", SNAKEFILE, "--configfile", config, "--retries", "0",
                     study / "checkpoints" / "tiny-a" / "final.pt",
                     "--set-resources", "train:gpu=1", "train:slurm_partition='gpu'",
                     env=slurm_env, timeout=300, check=False)  # fmt: skip
    seconds = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    # One SLURM job, on the GPU partition, that failed (no retry: --retries 0).
    jobs = slurm_jobs(run_id(tmp_path))
    print(jobs.to_string())
    assert jobs.State.tolist() == ["FAILED"], jobs
    assert jobs.Partition.tolist() == ["gpu"], jobs
    log = (tmp_path / "logs" / "nocuda" / "train" / "tiny-a.log").read_text()
    assert "asked for a GPU (--device cuda)" in log and "no CUDA device is visible" in log, log
    assert seconds < 240, f"the failing GPU job took {seconds:.0f} s"
