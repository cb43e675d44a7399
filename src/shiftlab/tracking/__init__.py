"""MLflow tracking: the single-writer `track` rule, store set-up, and optional live logging."""

from shiftlab.tracking.live import LiveRun, live_logger
from shiftlab.tracking.sources import TrackedJob, metric_key, study_jobs
from shiftlab.tracking.store import client_for, default_uri, init_store, resolve_uri
from shiftlab.tracking.sync import (
    SyncResult,
    lookup_run_id,
    read_tracking_json,
    sync_study,
    write_tracking_json,
)

__all__ = [
    "LiveRun",
    "SyncResult",
    "TrackedJob",
    "client_for",
    "default_uri",
    "init_store",
    "live_logger",
    "lookup_run_id",
    "metric_key",
    "read_tracking_json",
    "resolve_uri",
    "study_jobs",
    "sync_study",
    "write_tracking_json",
]
