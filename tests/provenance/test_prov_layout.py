"""`shiftlab audit` follows the files a study's records name, not a fixed path layout.

A small study made with the real `metrics` and `aggregate` commands (predictions are written
directly, as in conftest.py) covering the layouts of the test study:
- run `r2` has no recipe: it is evaluated with `checkpoints/r2/init.pt` (no final.pt);
- `fly` is an on-the-fly benchmark: predicted from the clean set's index (`index/val.parquet`);
- `a` is a class-subset benchmark: its `top1_clean_subset` number is computed from the clean
  val predictions, so its summary row must carry val's predictions hash and fingerprint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from shiftlab.audit.dataset import compute_fingerprint
from shiftlab.cli import main
from shiftlab.hashing import sha256_file
from shiftlab.provenance import make_record, read_parquet_record, write_parquet

FLY = {"kind": "imagenet_c", "source": "on_the_fly", "from": "val"}
A = {"kind": "imagenet_a", "source": "mininet"}
BENCHES = {"val": {"kind": "imagenet_val"}, "fly": FLY, "a": A}
RUNS = ("r1", "r2")  # as conftest.py builds them
WNIDS = ["n01514859", "n02099601"]


def _predictions(path: Path, index: pd.DataFrame, variant: str, record: dict) -> None:
    rows = index.assign(
        variant=variant,
        frame=-1,
        topk=[[t, 1 - t] if i % 3 else [1 - t, t] for i, t in enumerate(index["target"])],
        topk_prob=[[0.75, 0.25]] * len(index),
        msp=0.75,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(rows[["sample", "target", "wnid", "variant", "frame", "topk", "topk_prob", "msp"]],
                  path, record)  # fmt: skip


def _build(pristine: Path, workdir: Path) -> Path:
    """conftest.py's study (runs r1, r2 on val), rewired: see the module docstring."""
    shutil.copytree(pristine, workdir)
    os.chdir(workdir)
    r = Path("results/demo")
    # r2 has no recipe: evaluated with its initial weights
    os.replace(r / "checkpoints/r2/final.pt", r / "checkpoints/r2/init.pt")
    os.remove(r / "checkpoints/r2/history.csv")
    val_index = pd.read_parquet(r / "index/val.parquet")
    # A: its own root (a distinct fingerprint) holding one of the two classes
    shutil.copytree("data/bench/" + WNIDS[0], f"data/bench-a/{WNIDS[0]}")
    a_fp = compute_fingerprint("data/bench-a")
    a_index = val_index[val_index["wnid"] == WNIDS[0]].reset_index(drop=True)
    write_parquet(a_index, r / "index/a.parquet",
                  {"kind": "imagenet_a", "root": "data/bench-a", "benchmark": "a",
                   "label_space": "mininet", "fingerprint": a_fp, "n": len(a_index)})  # fmt: skip
    for run in RUNS:
        ckpt = r / f"checkpoints/{run}/{'final' if run == 'r1' else 'init'}.pt"
        val_pred = r / f"predictions/{run}/val.parquet"
        record = read_parquet_record(val_pred)
        val_fp = record["inputs"]["dataset"]["sha256"]
        for bench, index_path, index, variant, fingerprint in (
            ("val", r / "index/val.parquet", val_index, "", val_fp),
            ("fly", r / "index/val.parquet", val_index, "gaussian_noise/1", val_fp),
            ("a", r / "index/a.parquet", a_index, "", a_fp),
        ):
            extra = {"subset_wnids": [WNIDS[0]]} if bench == "a" else {}
            _predictions(
                r / f"predictions/{run}/{bench}.parquet", index, variant,
                make_record("predict", params={"benchmark": BENCHES[bench]},
                            inputs={"checkpoint": ckpt, "index": index_path},
                            input_hashes={"dataset": fingerprint},
                            wildcards={"run": run, "benchmark": bench}, extra=extra),
            )  # fmt: skip
    metrics, preds = [], []
    for run in RUNS:
        for bench, entry in BENCHES.items():
            pred = f"{r}/predictions/{run}/{bench}.parquet"
            out = f"{r}/metrics/{run}/{bench}.csv"
            refs = []
            if bench != "val":
                refs += ["--clean-predictions", f"{r}/predictions/{run}/val.parquet"]
            if bench == "fly":
                refs += ["--baseline-predictions", f"{r}/predictions/r1/fly.parquet",
                         "--baseline-clean-predictions", f"{r}/predictions/r1/val.parquet"]  # fmt: skip
            argv = ["metrics", "--run", run, "--benchmark", bench, "--benchmark-json",
                    json.dumps(entry), "--predictions", pred, *refs, "--bootstrap", "20",
                    "--out", out]  # fmt: skip
            assert main(argv) == 0, argv
            metrics.append(out)
            preds.append(pred)
    stats = {"alpha": 0.05, "correction": "holm", "bootstrap": 20, "seed": 0,
             "baseline_run": "r1", "clean_benchmark": "val"}  # fmt: skip
    argv = ["aggregate", "--study", "demo", "--metrics", *metrics, "--predictions", *preds,
            "--stats-json", json.dumps(stats), "--out-dir", str(r)]  # fmt: skip
    assert main(argv) == 0
    return workdir / r / "summary.csv"


@pytest.fixture(scope="module")
def layout_study(pristine_study, tmp_path_factory) -> Path:
    cwd = Path.cwd()
    try:
        return _build(pristine_study.workdir, tmp_path_factory.mktemp("layout") / "work")
    finally:
        os.chdir(cwd)


@pytest.fixture
def summary(layout_study: Path, tmp_path: Path, monkeypatch) -> Path:
    """A private copy (tests tamper with it), audited from its workflow directory."""
    workdir = tmp_path / "work"
    shutil.copytree(layout_study.parents[2], workdir)
    monkeypatch.chdir(workdir)
    for root in ("data/bench", "data/bench-a"):
        compute_fingerprint(root)  # as indexing it here would have (warms the cache)
    return Path("results/demo/summary.csv")


def audit(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(["audit", *args])
    out = capsys.readouterr()
    text = out.out + out.err
    return code, [line for line in text.splitlines() if line.startswith("error:")], text


def test_layout_study_audits_clean(summary, capsys):
    code, errors, out = audit(capsys, str(summary))
    assert code == 0 and errors == [], out
    frame = pd.read_csv(summary, keep_default_na=False)
    assert {"r1", "r2"} <= set(frame["run"]) and "*" in set(frame["run"])


def test_clean_subset_row_carries_the_clean_predictions_provenance(summary):
    frame = pd.read_csv(summary, keep_default_na=False)
    r = summary.parent
    for run in RUNS:
        row = frame[(frame.run == run) & (frame.benchmark == "a")
                    & (frame.metric == "top1_clean_subset")].iloc[0]  # fmt: skip
        val = r / f"predictions/{run}/val.parquet"
        assert row.predictions_sha256 == sha256_file(val)
        assert row.dataset_fingerprint == read_parquet_record(val)["inputs"]["dataset"]["sha256"]
        metrics = pd.read_csv(r / f"metrics/{run}/a.csv", keep_default_na=False)
        own = metrics[metrics.metric == "top1"].iloc[0]
        assert own.predictions_sha256 == sha256_file(r / f"predictions/{run}/a.parquet")


def test_recompute_on_the_layout_study_is_clean(summary, capsys):
    code, errors, out = audit(capsys, str(summary), "--recompute")
    assert code == 0 and errors == [], out


def test_flipped_byte_in_clean_predictions_is_named(summary, capsys):
    path = summary.parent / "predictions/r2/val.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    code, errors, out = audit(capsys, str(summary))
    assert code == 1 and errors, out
    assert all("results/demo/predictions/r2/val.parquet: sha256 " in e for e in errors), out
    # the A number computed from it is named too
    assert any("(r2 a top1_clean_subset=" in e for e in errors), out


def test_swapped_initial_checkpoint_is_named(summary, capsys):
    shutil.copy(
        summary.parent / "checkpoints/r1/final.pt", summary.parent / "checkpoints/r2/init.pt"
    )
    code, errors, out = audit(capsys, str(summary))
    assert code == 1 and errors, out
    assert all("results/demo/checkpoints/r2/init.pt: sha256 " in e for e in errors), out
    assert any("(r2 fly " in e for e in errors), out


def test_replaced_image_behind_an_on_the_fly_benchmark_is_named(summary, capsys):
    images = sorted(Path("data/bench").rglob("*.png"))
    shutil.copy(images[0], images[1])
    code, errors, out = audit(capsys, str(summary))
    assert code == 1 and errors, out
    assert all(f"{images[1].as_posix()}: dataset file changed" in e for e in errors), out
    assert any("(r1 fly " in e for e in errors) and any("(r2 val " in e for e in errors), out
    assert not any("(r1 a top1=" in e for e in errors), out  # A's own root is untouched


def test_edited_summary_number_is_named(summary, capsys):
    frame = pd.read_csv(summary, keep_default_na=False, dtype=str)
    pick = frame.index[(frame.run == "r2") & (frame.benchmark == "fly")][0]
    frame.loc[pick, "value"] = str(float(frame.loc[pick, "value"]) + 0.5)
    frame.to_csv(summary, index=False)
    code, errors, out = audit(capsys, str(summary))
    # named twice: against its metrics file, and against the re-derivation
    assert code == 1 and len(errors) == 2, out
    assert all(
        e.startswith(f"error: row {pick} ") and "results/demo/summary.csv: value " in e
        for e in errors
    ), out
    assert any("!= re-derived" in e for e in errors), out
    assert "results/demo/metrics/r2/fly.csv" in errors[0]
