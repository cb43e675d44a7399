"""Live training metrics (built on shiftlab.tracking.live): a fine-tuning job logs loss, learning rate and images/s to the
tracking server at the moment it computes them (the `track` rule logs the per-epoch history
only after the job). Used when `tracking.uri` names a server; a SQLite file is not shared
safely with jobs on other nodes, so there the history stays the record.

The live run is nested under the study run's parent (`shiftlab.tracking.sync.parent_run`)
and a resumed job logs into the same run. A tracking failure never stops training: it is
logged once and live logging stops.
"""

from __future__ import annotations

import logging
from typing import Any

from shiftlab.tracking.live import LiveRun
from shiftlab.tracking.store import client_for, experiment_id, retry

log = logging.getLogger("shiftlab.train")
LIVE_PREFIX = "train-live/"


def is_server(uri: str | None) -> bool:
    return bool(uri) and str(uri).startswith(("http://", "https://"))


class LiveMetrics:
    """Callable sink for `shiftlab.train.feed.Progress`: (global step, {name: value})."""

    def __init__(self, uri: str, study: str, run: str) -> None:
        self.uri, self.study, self.run = uri, study, run
        self.run_id: str | None = None
        self.client: Any = None
        self.live: LiveRun | None = None
        self.failed = False

    def _open(self) -> None:
        from shiftlab.tracking.sync import KEY_TAG, PARENT_TAG, existing_runs, parent_run

        self.client = client_for(self.uri)
        exp_id = experiment_id(self.client, self.study)
        have = existing_runs(self.client, exp_id)
        key = LIVE_PREFIX + self.run
        if key in have:
            self.run_id = have[key].info.run_id
            self.live = LiveRun(self.client, self.run_id, flush_every=1000)
            return
        parent = parent_run(self.client, exp_id, self.study, self.run, have)
        tags = {KEY_TAG: key, PARENT_TAG: parent, "shiftlab.study": self.study,
                "shiftlab.kind": "train-live", "shiftlab.run": self.run}  # fmt: skip
        made = retry(lambda: self.client.create_run(exp_id, tags=tags, run_name=key))
        self.run_id = made.info.run_id
        self.live = LiveRun(self.client, self.run_id, flush_every=1000)

    def __call__(self, step: int, values: dict[str, float]) -> None:
        if self.failed:
            return
        try:
            if self.live is None:
                self._open()
            assert self.live is not None
            self.live.log_metrics({f"train/{k}": v for k, v in values.items()}, step)
            self.live.flush()  # now, not at the end: the point is to see it while it runs
        except Exception as exc:  # noqa: BLE001 - tracking must never stop a training job
            self.failed = True
            log.warning("live metrics to %s stopped: %s", self.uri, exc)

    def close(self) -> None:
        if self.run_id is not None and not self.failed:
            try:
                retry(lambda: self.client.set_terminated(self.run_id, "FINISHED"), attempts=3)
            except Exception as exc:  # noqa: BLE001 - see __call__
                log.warning("could not close the live MLflow run: %s", exc)
