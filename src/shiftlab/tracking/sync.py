"""Single-writer logging of a study's jobs to MLflow (the `track` rule), idempotently.

Each job's MLflow run carries tag `shiftlab.key` (e.g. `metrics/resnet18/val`) and
`shiftlab.source_sha256` (digest of the files it was logged from). A re-run skips jobs whose
files did not change; a job whose files changed gets a fresh run and the old one is deleted
(soft: it stays readable by id, tagged `shiftlab.superseded_by`), so metric histories never mix
two versions of a result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shiftlab.atomic import write_json
from shiftlab.tracking.sources import TrackedJob, study_jobs
from shiftlab.tracking.store import (
    artifact_location,
    client_for,
    experiment_id,
    init_store,
    log_in_batches,
    now_ms,
    retry,
)

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

KEY_TAG = "shiftlab.key"
SOURCE_TAG = "shiftlab.source_sha256"
COMPLETE_TAG = "shiftlab.complete"
PARENT_TAG = "mlflow.parentRunId"  # what the MLflow UI nests runs by
PARENT_PREFIX = "study-run/"  # key of a study run's (model's) parent MLflow run


@dataclass
class SyncResult:
    experiment_id: str
    run_ids: dict[str, str]  # job key -> MLflow run id
    created: int
    skipped: int
    replaced: int
    parents: dict[str, str] = field(default_factory=dict)  # study run -> parent run id


def existing_runs(client: MlflowClient, exp_id: str) -> dict[str, Any]:
    """Active runs of the experiment by `shiftlab.key` (the newest wins if there are several)."""
    from mlflow.entities import ViewType

    found: dict[str, Any] = {}
    token = None
    while True:
        page = retry(
            lambda t=token: client.search_runs(
                [exp_id],
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=1000,
                page_token=t,
                order_by=["attributes.start_time ASC"],
            )
        )
        for run in page:
            key = run.data.tags.get(KEY_TAG)
            if key:
                found[key] = run
        token = page.token
        if not token:
            return found


def parent_run(client: MlflowClient, exp_id: str, study: str, run: str, have: dict) -> str:
    """The parent MLflow run of one study run (model): its training and every benchmark's
    metrics are nested under it. Created once, then reused."""
    key = PARENT_PREFIX + run
    if key in have:
        return have[key].info.run_id
    tags = {KEY_TAG: key, "shiftlab.study": study, "shiftlab.kind": "run", "shiftlab.run": run}
    made = retry(lambda: client.create_run(exp_id, tags=tags, run_name=run))
    retry(lambda: client.set_terminated(made.info.run_id, "FINISHED"))
    return made.info.run_id


def log_job(
    client: MlflowClient, exp_id: str, study: str, job: TrackedJob, parent: str | None = None
) -> str:
    """Create one MLflow run holding `job`; tagged complete only after everything landed."""
    from mlflow.entities import Metric, Param, RunTag

    tags = {
        KEY_TAG: job.key,
        SOURCE_TAG: job.source_sha256,
        "shiftlab.study": study,
        "shiftlab.kind": job.kind,
        "shiftlab.run": job.run,
        "mlflow.runName": job.key,
        **({"shiftlab.benchmark": job.benchmark} if job.benchmark else {}),
        **{k: v for k, v in job.tags.items() if v},
        **({PARENT_TAG: parent} if parent else {}),
    }
    run = retry(lambda: client.create_run(exp_id, tags={KEY_TAG: job.key}, run_name=job.key))
    run_id = run.info.run_id
    stamp = now_ms()
    log_in_batches(
        client,
        run_id,
        metrics=[Metric(k, v, stamp, s) for k, v, s in job.metrics],
        params=[Param(k, v) for k, v in job.params.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    retry(lambda: client.set_tag(run_id, COMPLETE_TAG, "1"))
    retry(lambda: client.set_terminated(run_id, "FINISHED"))
    return run_id


def sync_study(results_dir: str | Path, study: str, uri: str) -> SyncResult:
    """Log every job of `results_dir` that MLflow does not already hold in its current form."""
    results_dir = Path(results_dir)
    init_store(uri)
    client = client_for(uri)
    exp_id = experiment_id(client, study, artifact_location(results_dir))
    have = existing_runs(client, exp_id)
    result = SyncResult(exp_id, {}, 0, 0, 0)
    for job in study_jobs(results_dir):
        if job.run not in result.parents:
            result.parents[job.run] = parent_run(client, exp_id, study, job.run, have)
        old = have.get(job.key)
        if (
            old is not None
            and old.data.tags.get(SOURCE_TAG) == job.source_sha256
            and old.data.tags.get(COMPLETE_TAG) == "1"
            and old.data.tags.get(PARENT_TAG) == result.parents[job.run]
        ):
            result.run_ids[job.key] = old.info.run_id
            result.skipped += 1
            continue
        new_id = log_job(client, exp_id, study, job, result.parents[job.run])
        result.run_ids[job.key] = new_id
        if old is not None:
            retry(
                lambda o=old, n=new_id: client.set_tag(o.info.run_id, "shiftlab.superseded_by", n)
            )
            retry(lambda o=old: client.delete_run(o.info.run_id))
            result.replaced += 1
        else:
            result.created += 1
    return result


def write_tracking_json(out: str | Path, study: str, uri: str, result: SyncResult) -> Path:
    """`tracking.json`: `train[run]` and `metrics[run][benchmark]` -> MLflow run id."""
    train: dict[str, str] = {}
    metrics: dict[str, dict[str, str]] = {}
    for key, run_id in sorted(result.run_ids.items()):
        kind, run, *rest = key.split("/", 2)
        if kind == "train":
            train[run] = run_id
        else:
            metrics.setdefault(run, {})[rest[0]] = run_id
    payload = {
        "study": study,
        "tracking_uri": uri,
        "experiment_id": result.experiment_id,
        "train": train,
        "metrics": metrics,
        "parents": dict(sorted(result.parents.items())),
    }
    return write_json(out, payload)


def read_tracking_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def lookup_run_id(tracking: dict[str, Any], run: str, benchmark: str | None = None) -> str | None:
    """MLflow run id of a metrics job (or of a training job when `benchmark` is None)."""
    if benchmark is None:
        return tracking.get("train", {}).get(run)
    return tracking.get("metrics", {}).get(run, {}).get(benchmark)
