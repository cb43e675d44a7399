"""≥ 8 processes logging to one MLflow store at once lose no metric (SQLite and a server)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shiftlab.tracking import client_for

WRITERS = 8
METRICS_PER_WRITER = 1000
WRITER = Path(__file__).with_name("concurrent_writer.py")


def run_writers(uri: str, experiment: str, *extra: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), uri, experiment, str(i), str(METRICS_PER_WRITER), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    failures = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures.append(err[-1500:])
    assert not failures, "\n---\n".join(failures)


def count_logged(uri: str, experiment: str) -> dict[str, int]:
    client = client_for(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=100)
    counts = {}
    for run in runs:
        assert run.info.status == "FINISHED"
        counts[run.data.tags["writer"]] = sum(
            len(client.get_metric_history(run.info.run_id, f"m{k}")) for k in range(10)
        )
    return counts


def expect_all_arrived(counts: dict[str, int]) -> None:
    assert sorted(counts) == sorted(str(i) for i in range(WRITERS))
    lost = WRITERS * METRICS_PER_WRITER - sum(counts.values())
    assert lost == 0, counts


@pytest.mark.slow
def test_concurrent_writers_on_a_fresh_sqlite_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    run_writers(uri, "concurrency", "--init")  # the store does not exist before the fan-out
    expect_all_arrived(count_logged(uri, "concurrency"))


@pytest.mark.slow
def test_concurrent_writers_on_a_tracking_server(mlflow_server):
    run_writers(mlflow_server, "concurrency")
    expect_all_arrived(count_logged(mlflow_server, "concurrency"))
