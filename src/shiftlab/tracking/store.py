"""Where runs are tracked: URI resolution, one-time store initialisation, batched logging.

The default store is SQLite under `results/<study>/`. A fresh SQLite store must be created
by exactly one process: MLflow builds the schema with a migration on first open, and several
processes opening a fresh file at once race in it. `init_store` does that once under a file
lock, so writers that start afterwards (jobs, the `track` rule, tests) only open it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shiftlab.errors import UserError

if TYPE_CHECKING:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

T = TypeVar("T")

DB_NAME = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"
# MLflow's per-request limits for log_batch.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
_UNSET = ("", "none", "null")


def default_uri(results_dir: str | Path) -> str:
    """`sqlite:////abs/results/<study>/mlflow.db` (absolute, so the cwd does not matter)."""
    return "sqlite:///" + str((Path(results_dir) / DB_NAME).resolve())


def resolve_uri(explicit: str | None, results_dir: str | Path) -> str:
    """Explicit URI (CLI flag / config `tracking.uri`) > `MLFLOW_TRACKING_URI` > SQLite default."""
    for candidate in (explicit, os.environ.get("MLFLOW_TRACKING_URI")):
        if candidate and candidate.strip().lower() not in _UNSET:
            return candidate.strip()
    return default_uri(results_dir)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


@contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def init_store(uri: str) -> None:
    """Create or upgrade a SQL store's schema once (what `mlflow db upgrade` does), under a
    lock so concurrent callers serialise; a no-op for an up-to-date store or a server URI."""
    db = sqlite_path(uri)
    if db is None:
        return
    from mlflow.store.db import utils as db_utils

    with _file_lock(db.with_name(db.name + ".lock")):
        engine = db_utils.create_sqlalchemy_engine_with_retry(uri)
        try:
            if db_utils._is_empty_database(engine):
                db_utils._initialize_tables(engine)
            elif db_utils._get_schema_version(engine) != db_utils._get_latest_schema_revision():
                db_utils._upgrade_db(engine)
        finally:
            engine.dispose()


def client_for(uri: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def experiment_id(client: MlflowClient, name: str, artifact_location: str | None = None) -> str:
    """Id of experiment `name`, created if missing (tolerates a concurrent creator)."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def retry(call: Callable[[], T], attempts: int = 8, first_wait: float = 0.2) -> T:
    """Run `call`, retrying transient store errors (a locked SQLite file, a 5xx) with backoff."""
    from mlflow.exceptions import MlflowException

    wait = first_wait
    for attempt in range(attempts):
        try:
            return call()
        except (MlflowException, OSError) as exc:
            if attempt == attempts - 1 or not _transient(exc):
                raise
            time.sleep(wait)
            wait = min(wait * 2, 5.0)
    raise AssertionError("unreachable")


def _transient(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, OSError) or any(
        marker in text
        for marker in (
            "locked",
            "busy",
            "timeout",
            "timed out",
            "connection",
            "temporarily",
            "503",
            "502",
            "500",
            "429",
        )
    )


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def log_in_batches(
    client: MlflowClient,
    run_id: str,
    metrics: Sequence[Metric] = (),
    params: Sequence[Param] = (),
    tags: Sequence[RunTag] = (),
) -> int:
    """`log_batch` within MLflow's per-request limits; returns the number of requests."""
    requests = 0
    for chunk in _chunks(list(params), MAX_PARAMS_TAGS_PER_BATCH):
        retry(lambda c=chunk: client.log_batch(run_id, params=c))
        requests += 1
    for chunk in _chunks(list(tags), MAX_PARAMS_TAGS_PER_BATCH):
        retry(lambda c=chunk: client.log_batch(run_id, tags=c))
        requests += 1
    for chunk in _chunks(list(metrics), MAX_METRICS_PER_BATCH):
        retry(lambda c=chunk: client.log_batch(run_id, metrics=c))
        requests += 1
    return requests


def flatten(params: Any, prefix: str = "") -> dict[str, str]:
    """Nested params as MLflow params: dotted keys, string values cut to MLflow's limit."""
    import json

    out: dict[str, str] = {}
    if isinstance(params, dict) and params:
        for key, value in params.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    key = prefix.rstrip(".") or "value"
    value = params if isinstance(params, str) else json.dumps(params, sort_keys=True, default=str)
    out[key] = value[:MAX_PARAM_LENGTH]
    return out


def check_reachable(client: MlflowClient, uri: str) -> None:
    """Fail with a one-line error when the store does not answer."""
    try:
        retry(lambda: client.search_experiments(max_results=1), attempts=3)
    except Exception as exc:  # noqa: BLE001 - any failure here means the same thing to the user
        raise UserError(f"MLflow tracking store {uri} is not usable: {exc}") from exc


def mlflow_name_safe(text: str) -> str:
    """MLflow metric/param keys allow letters, digits, `_-. :/`; other characters become `_`."""
    return "".join(ch if ch.isalnum() or ch in "_-. :/" else "_" for ch in text)


def artifact_location(results_dir: str | Path) -> str:
    return (Path(results_dir).resolve() / ARTIFACTS_DIR).as_uri()


def now_ms() -> int:
    return int(time.time() * 1000)
