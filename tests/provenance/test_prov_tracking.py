"""`shiftlab track` against a real SQLite store, and audit's comparison with MLflow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from shiftlab.cli import main
from shiftlab.tracking import client_for, lookup_run_id, metric_key, read_tracking_json


def track(study, uri: str | None = None) -> dict:
    out = study.results / "tracking.json"
    args = ["track", "--results-dir", str(study.results), "--study", "demo", "--out", str(out)]
    assert main(args + (["--tracking-uri", uri] if uri else [])) == 0
    return read_tracking_json(out)


def test_track_logs_every_job_once_and_updates_changed_ones(tracked_study, capsys):
    study = tracked_study
    tracking = track(study)
    assert (
        tracking["tracking_uri"].startswith("sqlite:///")
        and (study.results / "mlflow.db").is_file()
    )
    assert set(tracking["train"]) == {"r1", "r2"} and set(tracking["metrics"]) == {"r1", "r2"}
    client = client_for(tracking["tracking_uri"])

    train = client.get_run(lookup_run_id(tracking, "r1"))
    history = client.get_metric_history(train.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 1.0), (2, 1.5)]
    assert {"acc", "lr", "images_per_s"} <= set(train.data.metrics)
    assert train.data.params["recipe.epochs"] == "2"
    assert len(train.data.tags["checkpoint_sha256"]) == 64

    run_id = lookup_run_id(tracking, "r1", "val")
    logged = client.get_run(run_id)
    csv = pd.read_csv(study.metrics("r1"), keep_default_na=False)
    for row in csv.itertuples():
        assert logged.data.metrics[metric_key(row.variant, row.metric)] == pytest.approx(row.value)
    tags = logged.data.tags
    assert tags["shiftlab.benchmark"] == "val" and tags["shiftlab.rule"] == "metrics"
    assert json.loads(tags["shiftlab.wildcards"]) == {"run": "r1", "benchmark": "val"}
    assert tags["predictions_sha256"] == csv["predictions_sha256"][0]
    assert len(tags["dataset_fingerprint"]) == 64

    assert track(study) == tracking  # idempotent: same ids, nothing new
    capsys.readouterr()
    experiment = client.get_experiment_by_name("demo")
    assert len(client.search_runs([experiment.experiment_id])) == 6  # 4 jobs + 2 parents

    frame = csv.copy()
    frame.loc[frame["metric"] == "top1", "value"] += 1
    frame.to_csv(study.metrics("r1"), index=False)
    again = track(study)
    assert "1 updated, 3 unchanged" in capsys.readouterr().out
    new_id = lookup_run_id(again, "r1", "val")
    assert new_id != run_id and lookup_run_id(again, "r2", "val") == lookup_run_id(
        tracking, "r2", "val"
    )
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert len(client.search_runs([experiment.experiment_id])) == 6
    assert client.get_run(new_id).data.tags["mlflow.parentRunId"] == again["parents"]["r1"]


def assert_nested(client, tracking: dict) -> None:
    """One parent run per study run; its training and each benchmark's metrics under it."""
    exp = tracking["experiment_id"]
    assert set(tracking["parents"]) == set(tracking["metrics"]) == {"r1", "r2"}
    for run, parent_id in tracking["parents"].items():
        parent = client.get_run(parent_id)
        assert parent.info.run_name == run and "mlflow.parentRunId" not in parent.data.tags
        children = client.search_runs([exp], f"tags.`mlflow.parentRunId` = '{parent_id}'")
        expected = {tracking["train"][run], *tracking["metrics"][run].values()}
        assert {c.info.run_id for c in children} == expected
        benches = {c.data.tags.get("shiftlab.benchmark") for c in children} - {None}
        assert benches == set(tracking["metrics"][run])


def test_runs_nest_under_one_parent_per_study_run(tracked_study):
    tracking = track(tracked_study)
    assert_nested(client_for(tracking["tracking_uri"]), tracking)


def test_nesting_on_a_real_tracking_server(tracked_study, mlflow_server):
    tracking = track(tracked_study, mlflow_server)
    assert tracking["tracking_uri"] == mlflow_server
    assert_nested(client_for(mlflow_server), tracking)


# conftest.py writes this study's summary.csv from metrics rows, not with `shiftlab aggregate`:
# its numbers cannot be re-derived (test_prov_rederive audits an aggregated study).
def test_audit_recompute_checks_metric_code_and_mlflow(tracked_study, capsys):
    study = tracked_study
    tracking = track(study)
    frame = pd.read_csv(study.summary, keep_default_na=False)
    frame["mlflow_run_id"] = [
        lookup_run_id(tracking, r, b) for r, b in zip(frame.run, frame.benchmark, strict=True)
    ]
    frame.to_csv(study.summary, index=False)
    capsys.readouterr()
    assert main(["audit", "--allow-underived", str(study.summary), "--recompute"]) == 0, (
        capsys.readouterr().out
    )

    # MLflow disagrees with the summary for one number
    client = client_for(tracking["tracking_uri"])
    client.log_metric(frame.loc[0, "mlflow_run_id"], "top1", 1.0)
    assert (
        main(["audit", "--allow-underived", str(study.summary), "--recompute", "--row", "0"]) == 1
    )
    out = capsys.readouterr().out
    assert "MLflow top1=1.0" in out and "row 0" in out


def test_recompute_catches_metrics_not_reproduced_by_current_code(study, capsys):
    # a metrics CSV (and summary) consistently edited: hashes agree, the number does not
    for path in (study.metrics("r2"), study.summary):
        frame = pd.read_csv(path, keep_default_na=False)
        frame.loc[(frame.run == "r2") & (frame.metric == "top1"), "value"] = 99.0
        frame.to_csv(path, index=False)
    (study.summary.parent / "summary.csv.prov.json").unlink()
    assert main(["audit", "--allow-underived", str(study.summary)]) == 0
    capsys.readouterr()
    assert main(["audit", "--allow-underived", str(study.summary), "--recompute"]) == 1
    errors = [x for x in capsys.readouterr().out.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "predictions/r2/val.parquet: recomputed" in errors[0]


def test_report_summary_figures_and_models_as_artifacts_on_a_server(
    tracked_study, mlflow_server, tmp_path
):
    study = tracked_study
    tracking_path = study.results / "tracking.json"
    tracking = track(study, mlflow_server)
    report = study.results / "report.html"
    report.write_text("<html>report</html>")
    figures = study.results / "figures"
    figures.mkdir(exist_ok=True)
    (figures / "er.png").write_bytes(b"\x89PNG fake figure bytes")
    out = tmp_path / "published.json"
    args = ["publish", "--tracking-json", str(tracking_path), "--files", str(report),
            str(study.summary), "--figures-dir", str(figures),
            "--model", f"r1={study.checkpoint('r1')}", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    published = json.loads(out.read_text())
    client = client_for(mlflow_server)
    run = client.get_run(published["study_run"])
    assert run.data.tags["shiftlab.kind"] == "study"
    got = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "dl")))
    assert (got / "report.html").read_bytes() == report.read_bytes()
    assert (got / "summary.csv").read_bytes() == study.summary.read_bytes()
    assert (got / "figures" / "er.png").read_bytes() == (figures / "er.png").read_bytes()
    parent = tracking["parents"]["r1"]
    assert published["models"] == {"r1": parent}
    model = Path(client.download_artifacts(parent, "model", str(tmp_path / "m")))
    assert (model / study.checkpoint("r1").name).read_bytes() == study.checkpoint("r1").read_bytes()
    assert main(args) == 0  # publishing again reuses the study run
    assert json.loads(out.read_text())["study_run"] == published["study_run"]


def test_live_training_metrics_at_their_step_times_on_a_server(mlflow_server, tmp_path):
    import importlib.util
    import subprocess
    import time

    spec = importlib.util.spec_from_file_location(
        "train_helpers", Path(__file__).parents[1] / "train" / "train_helpers.py"
    )
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    index, labels = helpers.make_world(tmp_path / "world", per_class=4)  # 16 images
    recipe = {"base": "baseline", "epochs": 2, "batch_size": 4, "lr": 0.05, "image_size": 32}
    t0 = int(time.time() * 1000)
    proc = subprocess.run(
        helpers.cli(
            "train", "--run", "live", "--model-json", json.dumps({"model": "resnet10t"}),
            "--recipe-json", json.dumps(recipe), "--train-index", str(index),
            "--label-space", str(labels), "--out", str(tmp_path / "final.pt"),
            "--state-dir", str(tmp_path / "state"), "--history", str(tmp_path / "h.csv"),
            "--log-every", "1", "--threads", "1", "--device", "cpu",
            "--tracking-uri", mlflow_server, "--study", "live-study",
        ),
        capture_output=True, text=True, env=helpers.cli_env(), timeout=600, check=False,
    )  # fmt: skip
    t1 = int(time.time() * 1000)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "live metrics" not in proc.stderr  # no tracking failure was reported
    client = client_for(mlflow_server)
    exp = client.get_experiment_by_name("live-study")
    (live,) = client.search_runs([exp.experiment_id], "tags.`shiftlab.kind` = 'train-live'")
    parent = client.get_run(live.data.tags["mlflow.parentRunId"])
    assert parent.info.run_name == "live" and live.info.status == "FINISHED"
    history = client.get_metric_history(live.info.run_id, "train/loss")
    logged = re.findall(r"global step (\d+) loss ([\d.]+)", proc.stderr)
    assert [m.step for m in history] == [int(g) for g, _ in logged] == list(range(1, 9))
    assert [round(m.value, 4) for m in history] == [float(v) for _, v in logged]
    stamps = [m.timestamp for m in history]
    # Logged as the job ran: inside its wall time, in step order, not all at one instant.
    assert t0 <= stamps[0] and stamps[-1] <= t1 and stamps == sorted(stamps)
    assert stamps[-1] > stamps[0]
