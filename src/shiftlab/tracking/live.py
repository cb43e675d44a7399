"""Live logging from inside a job, for sites where compute nodes reach a tracking server.

The file-based path (jobs write files, the `track` rule logs them) is the default; this is
the opt-in alternative. Metrics are buffered and sent with `log_batch`, retrying transient
failures, so a busy server or a locked SQLite file delays a job instead of losing numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from shiftlab.tracking.store import (
    MAX_METRICS_PER_BATCH,
    client_for,
    experiment_id,
    flatten,
    log_in_batches,
    mlflow_name_safe,
    now_ms,
    retry,
)


class LiveRun:
    """A started MLflow run that buffers metrics and flushes them in batches."""

    def __init__(self, client: Any, run_id: str, flush_every: int) -> None:
        self.client = client
        self.run_id = run_id
        self.flush_every = min(flush_every, MAX_METRICS_PER_BATCH)
        self._buffer: list[Any] = []
        self.sent = 0

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        from mlflow.entities import Metric

        self._buffer.append(Metric(mlflow_name_safe(key), float(value), now_ms(), int(step)))
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def log_metrics(self, values: Mapping[str, float], step: int = 0) -> None:
        for key, value in values.items():
            self.log_metric(key, value, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        log_in_batches(
            self.client, self.run_id, params=[Param(k, v) for k, v in flatten(dict(params)).items()]
        )

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        log_in_batches(self.client, self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def flush(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            log_in_batches(self.client, self.run_id, metrics=batch)
            self.sent += len(batch)


@contextmanager
def live_logger(
    experiment: str,
    run_name: str | None = None,
    *,
    tracking_uri: str | None = None,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    flush_every: int = 500,
) -> Iterator[LiveRun]:
    """Open a run in `experiment` (created if needed) on `tracking_uri` (default:
    `MLFLOW_TRACKING_URI`); the run ends FINISHED, or FAILED if the block raises.

    A SQLite store must already be initialised (`shiftlab.tracking.init_store`)."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ValueError("live_logger needs tracking_uri or MLFLOW_TRACKING_URI")
    client = client_for(uri)
    exp_id = retry(lambda: experiment_id(client, experiment))
    run = retry(lambda: client.create_run(exp_id, run_name=run_name))
    live = LiveRun(client, run.info.run_id, flush_every)
    if tags:
        live.set_tags(tags)
    if params:
        live.log_params(params)
    status = "FAILED"
    try:
        yield live
        live.flush()
        status = "FINISHED"
    finally:
        retry(lambda: client.set_terminated(live.run_id, status))
