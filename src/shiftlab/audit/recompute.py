"""`audit --recompute`: derive each number again from its predictions with the installed
metric code, and compare it with what MLflow holds for the row's run.

Only numbers a metrics file holds are recomputed and looked up in MLflow (the `track` rule logs
metrics files); statistics the aggregate step derived across files are re-derived by `audit.rederive`."""

from __future__ import annotations

import json
from typing import Any

from shiftlab.audit.files import StudyFiles, blank, same_number, text
from shiftlab.audit.findings import ERROR, NOTE, AuditReport, Finding

# Names the `metrics` rule's sidecar record uses for its inputs -> `Options` fields.
_EXTRA_PREDICTIONS = {
    "clean": ("clean_predictions", "clean"),
    "baseline": ("baseline_predictions", "baseline"),
    "baseline_clean": ("baseline_clean_predictions", "baseline_clean"),
}


def recompute_rows(files: StudyFiles, run: str, benchmark: str) -> Any:
    """The tidy metric rows of one (run, benchmark), computed now with the installed
    `shiftlab.metrics.compute` from the inputs and params the metrics CSV's sidecar records."""
    import pandas as pd

    try:
        from shiftlab.metrics.compute import Options, compute_metrics, read_predictions
    except ImportError as exc:
        raise LookupError(f"metric code not importable: {exc}") from exc
    csv_path = files.metrics_csv(run, benchmark)
    record, _ = files.record(csv_path)
    if not record:
        raise LookupError(f"{files.rel(csv_path)} has no provenance sidecar to replay")
    params = record.get("params") or {}
    bench = next(
        (params[k] for k in ("benchmark_entry", "benchmark", "benchmark_json") if params.get(k)),
        None,
    )
    if isinstance(bench, str) and bench.lstrip().startswith("{"):
        bench = json.loads(bench)
    if not isinstance(bench, dict) or "kind" not in bench:
        raise LookupError(f"{files.rel(csv_path)} sidecar records no benchmark params")
    inputs = record.get("inputs") or {}

    def load(names: tuple[str, ...]) -> Any:
        for name in names:
            entry = inputs.get(name)
            if isinstance(entry, dict) and entry.get("path"):
                return read_predictions(files.resolve(str(entry["path"])))
        return None

    options = Options(
        bench=bench, **{field: load(names) for field, names in _EXTRA_PREDICTIONS.items()}
    )
    for name, recorded in (
        ("reps", "bootstrap"),
        ("reps", "reps"),
        ("seed", "seed"),
        ("alpha", "alpha"),
    ):
        if params.get(recorded) is not None:
            setattr(options, name, type(getattr(options, name))(params[recorded]))
    rows = compute_metrics(read_predictions(files.predictions(run, benchmark)), options)
    return pd.DataFrame(rows)


def check_recomputed(files: StudyFiles, report: AuditReport, rows: list[tuple[int, dict]]) -> None:
    """Compare every selected row's value with a fresh computation (one per run/benchmark)."""
    cache: dict[tuple[str, str], Any] = {}
    for index, row in rows:
        run, benchmark = text(row.get("run")), text(row.get("benchmark"))
        if not run or not benchmark or files.metrics_number(row) is None:
            continue
        number = f"{run} {benchmark} {text(row.get('metric'))}={text(row.get('value'))}"
        path = files.predictions(run, benchmark)
        key = (run, benchmark)
        if key not in cache:
            try:
                cache[key] = recompute_rows(files, run, benchmark)
            except LookupError as exc:
                cache[key] = exc
            except Exception as exc:  # noqa: BLE001 - e.g. a damaged predictions file
                cache[key] = RuntimeError(f"{type(exc).__name__}: {exc}")
        fresh = cache[key]
        if isinstance(fresh, LookupError):
            report.add(Finding(NOTE, files.rel(path), f"not recomputed: {fresh}", index, number))
            continue
        if isinstance(fresh, Exception):
            report.add(
                Finding(ERROR, files.rel(path), f"recomputation failed: {fresh}", index, number)
            )
            continue
        variant = fresh["variant"].fillna("").astype(str) if "variant" in fresh else ""
        match = fresh[
            (variant == text(row.get("variant"))) & (fresh["metric"] == row.get("metric"))
        ]
        if match.empty:
            report.add(
                Finding(
                    ERROR,
                    files.rel(path),
                    "current metric code no longer produces this metric",
                    index,
                    number,
                )
            )
        elif not same_number(match.iloc[0]["value"], row.get("value")):
            report.add(
                Finding(
                    ERROR,
                    files.rel(path),
                    f"recomputed {match.iloc[0]['value']!r} != {text(row.get('value'))} reported",
                    index,
                    number,
                )
            )


def check_mlflow(files: StudyFiles, report: AuditReport, rows: list[tuple[int, dict]]) -> None:
    """Compare each row with the metric its `mlflow_run_id` holds."""
    from shiftlab.tracking.sources import metric_key
    from shiftlab.tracking.store import client_for
    from shiftlab.tracking.sync import read_tracking_json

    wanted = [
        (i, r)
        for i, r in rows
        if not blank(r.get("mlflow_run_id"))
        and ";" not in text(r.get("mlflow_run_id"))
        and files.metrics_number(r) is not None
    ]
    if not wanted:
        return
    tracking_json = files.results / "tracking.json"
    if not tracking_json.is_file():
        report.add(Finding(NOTE, files.rel(tracking_json), "missing: MLflow records not compared"))
        return
    uri = moved_store(files, read_tracking_json(tracking_json)["tracking_uri"])
    client = client_for(uri)
    runs: dict[str, Any] = {}
    for index, row in wanted:
        run_id = text(row["mlflow_run_id"])
        number = f"{text(row.get('run'))} {text(row.get('benchmark'))} {text(row.get('metric'))}={text(row.get('value'))}"
        where = f"{uri} run {run_id}"
        if run_id not in runs:
            try:
                runs[run_id] = client.get_run(run_id)
            except Exception as exc:  # noqa: BLE001 - unknown id or unreachable store
                runs[run_id] = exc
        found = runs[run_id]
        if isinstance(found, Exception):
            report.add(Finding(ERROR, where, f"MLflow run not readable: {found}", index, number))
            continue
        if found.info.lifecycle_stage == "deleted":
            report.add(
                Finding(
                    ERROR,
                    where,
                    "MLflow run was superseded (deleted): summary is stale",
                    index,
                    number,
                )
            )
        key = metric_key(row.get("variant"), text(row.get("metric")))
        logged = found.data.metrics.get(key)
        if logged is None:
            report.add(Finding(ERROR, where, f"MLflow run has no metric {key!r}", index, number))
        elif not same_number(logged, row.get("value")):
            report.add(
                Finding(
                    ERROR,
                    where,
                    f"MLflow {key}={logged!r} != {text(row.get('value'))}",
                    index,
                    number,
                )
            )


def moved_store(files: StudyFiles, uri: str) -> str:
    """The study's own default store when the recorded one is the default store of a study
    directory that has since been moved or copied (`sqlite:////<old>/results/<study>/mlflow.db`)."""
    from shiftlab.tracking.store import DB_NAME, default_uri, sqlite_path

    recorded, local = sqlite_path(uri), files.results / DB_NAME
    if recorded is None or not local.is_file():
        return uri
    if recorded.name != DB_NAME or recorded.parent.name != files.results.name:
        return uri  # a store placed elsewhere on purpose
    return uri if recorded.resolve() == local.resolve() else default_uri(files.results)
