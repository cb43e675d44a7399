"""A tiny but real study tree (dataset images, index, checkpoints, predictions, metrics,
summary, each with its provenance) and a real `mlflow server`, shared by the tests here."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shiftlab.audit.dataset import compute_fingerprint
from shiftlab.hashing import sha256_file
from shiftlab.metrics.compute import Options, compute_metrics, read_predictions
from shiftlab.provenance import (
    code_version_string,
    embed_checkpoint_record,
    make_record,
    params_sha256,
    write_parquet,
    write_sidecar,
)

WNIDS = ["n01514859", "n02099601"]
RUNS = ("r1", "r2")
BENCHMARK = "val"
BENCH = {"kind": "imagenet_val"}
REPS = 50


@dataclass
class Study:
    workdir: Path
    results: Path
    data_root: Path

    @property
    def summary(self) -> Path:
        return self.results / "summary.csv"

    def predictions(self, run: str) -> Path:
        return self.results / "predictions" / run / f"{BENCHMARK}.parquet"

    def checkpoint(self, run: str) -> Path:
        return self.results / "checkpoints" / run / "final.pt"

    def metrics(self, run: str) -> Path:
        return self.results / "metrics" / run / f"{BENCHMARK}.csv"


def _write_images(root: Path) -> list[str]:
    from PIL import Image

    rng = np.random.default_rng(0)
    samples = []
    for wnid in WNIDS:
        (root / wnid).mkdir(parents=True)
        for i in range(3):
            rel = f"{wnid}/img{i}.png"
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / rel)
            samples.append(rel)
    return samples


def _checkpoint(study: Study, run: str, seed: int) -> dict:
    import torch

    torch.manual_seed(seed)
    params = {
        "model": {"model": "tiny", "recipe": "baseline"},
        "recipe": {"epochs": 2, "lr": 0.01 * seed},
    }
    record = make_record("train", params=params, wildcards={"run": run})
    ckpt = {
        "format": "shiftlab-checkpoint/1",
        "state_dict": torch.nn.Linear(4, 2).state_dict(),
        "model": {
            "name": "tiny",
            "num_classes": 2,
            "wnids": WNIDS,
            "source": "timm",
            "pretrained": None,
        },
    }
    path = study.checkpoint(run)
    path.parent.mkdir(parents=True)
    torch.save(embed_checkpoint_record(ckpt, record), path)
    history = path.parent / "history.csv"
    pd.DataFrame(
        {
            "epoch": [1, 2],
            "loss": [1.0, 0.5 + seed],
            "acc": [0.5, 0.75],
            "lr": [0.01, 0.005],
            "images_per_s": [100.0, 110.0],
        }
    ).to_csv(history, index=False)
    return params


def build_study(workdir: Path, study: str = "demo") -> Study:
    """results/<study>/ with two runs evaluated on one benchmark, wired like the DAG does
    (from the workflow directory, so records hold relative paths)."""
    cwd = Path.cwd()
    os.chdir(workdir)
    try:
        _build(Study(Path("."), Path("results") / study, Path("data") / "bench"))
    finally:
        os.chdir(cwd)
    return Study(workdir, workdir / "results" / study, workdir / "data" / "bench")


def _build(s: Study) -> None:
    samples = _write_images(s.data_root)
    fingerprint = compute_fingerprint(s.data_root)
    index = s.results / "index" / f"{BENCHMARK}.parquet"
    index.parent.mkdir(parents=True)
    targets = [WNIDS.index(x.split("/")[0]) for x in samples]
    write_parquet(
        pd.DataFrame(
            {
                "sample": samples,
                "target": targets,
                "wnid": [x.split("/")[0] for x in samples],
                "variant": [""] * len(samples),
            }
        ),
        index,
        {
            "kind": "imagenet_val",
            "root": "data/bench",
            "benchmark": BENCHMARK,
            "label_space": "mininet",
            "fingerprint": fingerprint,
            "n": len(samples),
        },
    )
    summary_rows, metrics_inputs = [], {}
    for seed, run in enumerate(RUNS, start=1):
        params = _checkpoint(s, run, seed)
        pred = s.predictions(run)
        pred.parent.mkdir(parents=True)
        top1 = [(t + (i % (seed + 2) == 0)) % 2 for i, t in enumerate(targets)]
        write_parquet(
            pd.DataFrame(
                {
                    "sample": samples,
                    "target": targets,
                    "wnid": [WNIDS[t] for t in targets],
                    "variant": [""] * len(samples),
                    "frame": [-1] * len(samples),
                    "topk": [[p, 1 - p] for p in top1],
                    "topk_prob": [[0.75, 0.25]] * len(samples),
                    "msp": [0.75] * len(samples),
                }
            ),
            pred,
            make_record(
                "predict",
                params={"benchmark": BENCH, "model": {"num_classes": 2}},
                inputs={"checkpoint": s.checkpoint(run), "index": index},
                input_hashes={"dataset": fingerprint},
                wildcards={"run": run, "benchmark": BENCHMARK},
            ),
        )
        pred_sha = sha256_file(pred)
        metrics = pd.DataFrame(compute_metrics(read_predictions(pred), Options(BENCH, reps=REPS)))
        metrics = metrics.assign(run=run, benchmark=BENCHMARK, predictions_sha256=pred_sha)[
            [
                "run",
                "benchmark",
                "variant",
                "metric",
                "value",
                "ci_low",
                "ci_high",
                "n",
                "predictions_sha256",
            ]
        ]
        s.metrics(run).parent.mkdir(parents=True)
        metrics.to_csv(s.metrics(run), index=False)
        write_sidecar(
            s.metrics(run),
            make_record(
                "metrics",
                params={"benchmark": BENCH, "reps": REPS},
                inputs={"predictions": pred},
                wildcards={"run": run, "benchmark": BENCHMARK},
            ),
        )
        metrics_inputs[f"metrics/{run}/{BENCHMARK}"] = s.metrics(run)
        rows = metrics[metrics["metric"].isin(["top1", "ece"])].drop(columns=["predictions_sha256"])
        rows = rows.assign(
            checkpoint_sha256=sha256_file(s.checkpoint(run)),
            dataset_fingerprint=fingerprint,
            predictions_sha256=pred_sha,
            config_sha256=params_sha256(params),
            code_version=code_version_string(),
            mlflow_run_id="",
        )
        summary_rows.append(rows)
    pd.concat(summary_rows).to_csv(s.summary, index=False)
    write_sidecar(s.summary, make_record("aggregate", inputs=metrics_inputs))


@pytest.fixture(scope="session", autouse=True)
def _private_manifest_cache(tmp_path_factory):
    """Keep the data package's manifest cache out of the user's home."""
    old = os.environ.get("SHIFTLAB_CACHE_DIR")
    os.environ["SHIFTLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("SHIFTLAB_CACHE_DIR", None)
    else:
        os.environ["SHIFTLAB_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def pristine_study(tmp_path_factory) -> Study:
    return build_study(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def study(pristine_study: Study, tmp_path: Path) -> Study:
    """A private copy of the study: tests may tamper with it."""
    workdir = tmp_path / "work"
    shutil.copytree(pristine_study.workdir, workdir)
    rel = pristine_study.results.relative_to(pristine_study.workdir)
    copy = Study(workdir, workdir / rel, workdir / "data" / "bench")
    compute_fingerprint(copy.data_root)  # as indexing it here would have (warms the cache)
    return copy


@pytest.fixture(scope="session")
def mlflow_db_template(tmp_path_factory) -> Path:
    """An initialised (migrated) SQLite store; copying it is instant, migrating takes ~10 s."""
    from shiftlab.tracking import init_store

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    init_store(f"sqlite:///{path}")
    return path


@pytest.fixture
def tracked_study(study: Study, mlflow_db_template: Path) -> Study:
    """The study with its default store (results/<study>/mlflow.db) already initialised."""
    shutil.copy(mlflow_db_template, study.results / "mlflow.db")
    return study


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> str:
    """A real `mlflow server` on 127.0.0.1 (one per test session: it takes seconds to start)."""
    from shiftlab.tracking import init_store

    root = tmp_path_factory.mktemp("mlflow-server")
    store = f"sqlite:///{root / 'server.db'}"
    init_store(store)
    port = free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            store,
            "--default-artifact-root",
            (root / "artifacts").as_uri(),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_TRACKING_URI": ""},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # minutes on a loaded machine
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
