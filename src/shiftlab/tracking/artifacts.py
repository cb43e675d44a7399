"""The study's deliverables in MLflow: report, summary and figures as artifacts of one
study-level run, and (optionally, `tracking.log_models`) each study run's checkpoint as an
artifact of its parent run. Runs after `report`, on the head node, like `track`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shiftlab.tracking.store import client_for, experiment_id, retry
from shiftlab.tracking.sync import KEY_TAG, existing_runs

STUDY_PREFIX = "study/"  # key of the study-level run holding the report


def _study_run(client: Any, exp_id: str, study: str) -> str:
    key = STUDY_PREFIX + study
    have = existing_runs(client, exp_id)
    if key in have:
        return have[key].info.run_id
    tags = {KEY_TAG: key, "shiftlab.study": study, "shiftlab.kind": "study"}
    made = retry(lambda: client.create_run(exp_id, tags=tags, run_name=f"{study} (report)"))
    retry(lambda: client.set_terminated(made.info.run_id, "FINISHED"))
    return made.info.run_id


def publish(
    tracking: dict[str, Any],
    files: list[Path],
    figures: Path | None,
    models: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Log `files` (and the `figures` folder) to the study run, `models` to the parents.
    Re-publishing writes the same artifact paths again (the newest files win)."""
    uri, study = tracking["tracking_uri"], tracking["study"]
    client = client_for(uri)
    exp_id = experiment_id(client, study)
    run_id = _study_run(client, exp_id, study)
    for path in files:
        retry(lambda p=path: client.log_artifact(run_id, str(p)))
    if figures is not None and figures.is_dir():
        retry(lambda: client.log_artifacts(run_id, str(figures), "figures"))
    logged: dict[str, str] = {}
    for run, checkpoint in sorted((models or {}).items()):
        parent = tracking.get("parents", {}).get(run)
        if parent:
            retry(lambda p=parent, c=checkpoint: client.log_artifact(p, str(c), "model"))
            logged[run] = parent
    return {"study": study, "tracking_uri": uri, "study_run": run_id, "models": logged,
            "artifacts": sorted(p.name for p in files) + (["figures"] if figures else [])}  # fmt: skip
