"""`shiftlab audit` on a tiny real study: clean audits pass, each kind of tampering is named."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from shiftlab.cli import main


def audit(capsys, *args: str) -> tuple[int, str]:
    # This study's summary.csv is written here from metrics rows, not by `shiftlab aggregate`,
    # so its numbers cannot be re-derived (test_prov_layout audits an aggregated study).
    code = main(["audit", "--allow-underived", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_untouched_study_verifies(study, capsys):
    code, out = audit(capsys, str(study.summary))
    assert code == 0, out
    assert error_lines(out) == []
    assert "4 rows, verified" in out


def test_flipped_byte_in_predictions_is_named(study, capsys):
    path = study.predictions("r1")
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    code, out = audit(capsys, str(study.summary))
    assert code != 0
    errors = error_lines(out)
    assert errors and all("predictions/r1/val.parquet" in line for line in errors), out
    # both numbers resting on that file are named
    assert any("top1=" in line for line in errors) and any("ece=" in line for line in errors)


def test_swapped_checkpoint_is_named(study, capsys):
    shutil.copy(study.checkpoint("r2"), study.checkpoint("r1"))
    code, out = audit(capsys, str(study.summary))
    assert code != 0
    errors = error_lines(out)
    assert errors and all("checkpoints/r1/final.pt" in line for line in errors), out
    assert any("training config" in line for line in errors)


def test_edited_summary_number_is_named(study, capsys):
    frame = pd.read_csv(study.summary, keep_default_na=False)
    frame.loc[2, "value"] = float(frame.loc[2, "value"]) + 0.01
    frame.to_csv(study.summary, index=False)
    code, out = audit(capsys, str(study.summary))
    assert code != 0
    errors = error_lines(out)
    assert len(errors) == 1 and errors[0].startswith("error: row 2 "), out
    assert "summary.csv" in errors[0] and "metrics/r2/val.csv" in errors[0]


def test_replaced_dataset_image_is_named(study, capsys):
    victim = sorted(study.data_root.rglob("*.png"))[1]
    shutil.copy(sorted(study.data_root.rglob("*.png"))[0], victim)
    code, out = audit(capsys, str(study.summary))
    assert code != 0
    errors = error_lines(out)
    assert len(errors) == 4, out  # every number on that benchmark
    assert all("data/bench/n01514859/img1.png: dataset file changed" in e for e in errors), out


def test_replaced_dataset_image_without_manifest_cache_names_the_root(study, capsys, tmp_path):
    os.environ["SHIFTLAB_CACHE_DIR"], old = (
        str(tmp_path / "empty-cache"),
        os.environ["SHIFTLAB_CACHE_DIR"],
    )
    try:
        image = sorted(study.data_root.rglob("*.png"))[0]
        image.write_bytes(image.read_bytes() + b"\0")
        code, out = audit(capsys, str(study.summary))
    finally:
        os.environ["SHIFTLAB_CACHE_DIR"] = old
    assert code != 0
    errors = error_lines(out)
    assert errors and all("data/bench: dataset fingerprint" in e for e in errors), out


def test_edited_metrics_file_is_named(study, capsys):
    path = study.metrics("r1")
    frame = pd.read_csv(path, keep_default_na=False)
    frame.loc[frame["metric"] == "class_acc/n01514859", "value"] += 1.0  # a row not in summary
    frame.to_csv(path, index=False)
    code, out = audit(capsys, str(study.summary))
    assert code != 0
    errors = error_lines(out)
    assert len(errors) == 1 and "metrics/r1/val.csv" in errors[0], out
    assert "recorded as input" in errors[0] and "summary.csv" in errors[0]


def test_row_selection_and_json(study, capsys):
    path = study.predictions("r2")
    path.write_bytes(path.read_bytes()[:-1] + b"X")  # breaks the parquet footer magic
    code, out = audit(capsys, str(study.summary), "--row", "0", "--json")
    assert code == 0, out  # row 0 is r1: untouched
    code, out = audit(capsys, str(study.summary), "--row", "3", "--json")
    report = json.loads(out)
    assert code == 1 and report["rows_checked"] == 1 and not report["ok"]
    assert {
        f["file"].split("/results/")[-1] for f in report["findings"] if f["level"] == "error"
    } >= {"demo/predictions/r2/val.parquet"}


def test_out_of_range_row_is_a_user_error(study, capsys):
    code, out = audit(capsys, str(study.summary), "--row", "99")
    assert code == 2 and "out of range" in out


@pytest.mark.parametrize(
    "column", ["predictions_sha256", "checkpoint_sha256", "dataset_fingerprint"]
)
def test_wrong_hash_in_summary_is_named(study, capsys, column):
    frame = pd.read_csv(study.summary, keep_default_na=False)
    frame.loc[1, column] = "0" * 64
    frame.to_csv(study.summary, index=False)
    code, out = audit(capsys, str(study.summary))
    assert code != 0
    errors = error_lines(out)
    assert (
        len(errors) == 1 and errors[0].startswith("error: row 1 ") and "summary.csv" in errors[0]
    ), out


def test_cross_run_statistic_rows_check_their_listed_hashes(study, capsys):
    frame = pd.read_csv(study.summary, keep_default_na=False)
    joined = ";".join(dict.fromkeys(frame["predictions_sha256"]))
    extra = frame.iloc[[0]].assign(
        run="*", metric="mcnemar_p", value=0.5, predictions_sha256=joined
    )
    pd.concat([frame, extra]).to_csv(study.summary, index=False)
    code, out = audit(capsys, str(study.summary))
    assert code == 0 and "warning: row 4 (* val mcnemar_p=0.5)" in out, out

    frame = pd.read_csv(study.summary, keep_default_na=False)
    frame.loc[4, "predictions_sha256"] = joined.replace(joined[:8], "f" * 8)
    frame.to_csv(study.summary, index=False)
    code, out = audit(capsys, str(study.summary))
    errors = error_lines(out)
    assert code == 1 and len(errors) == 1 and errors[0].startswith("error: row 4 "), out
