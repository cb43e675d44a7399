"""`shiftlab metrics` end to end on tiny predictions parquets written with pyarrow."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import binomtest
from sklearn.metrics import average_precision_score

from shiftlab.cli import main
from shiftlab.hashing import sha256_file
from shiftlab.metrics import ALEXNET_SEVERITY_ERRORS, TEST_CORRUPTIONS


def write_predictions(path, rows, meta=None):
    """Rows: dicts with sample, target, wnid, variant, topk (+ optional columns)."""
    for r in rows:
        r.setdefault("frame", -1)
        r.setdefault("topk_prob", [1.0 / len(r["topk"])] * len(r["topk"]))
        r.setdefault("msp", r["topk_prob"][0])
    table = pa.Table.from_pylist(rows)
    record = {"format": "shiftlab-provenance/1", "rule": "predict", **(meta or {})}
    table = table.replace_schema_metadata({b"shiftlab": json.dumps(record).encode()})
    pq.write_table(table, path)
    return path


def run_cli(tmp_path, kind, preds, *extra, name="out.csv", bench=None):
    out = tmp_path / name
    entry = json.dumps(bench or {"kind": kind, "source": "mininet"})
    argv = ["metrics", "--run", "r18", "--benchmark", "b", "--benchmark-json", entry,
            "--predictions", str(preds), "--out", str(out), "--bootstrap", "50", *extra]  # fmt: skip
    assert main(argv) == 0
    blank_is_nan = {c: [""] for c in ("value", "ci_low", "ci_high")}
    return pd.read_csv(out, dtype={"variant": str}, keep_default_na=False, na_values=blank_is_nan)


def value(table, metric, variant=""):
    sel = table[(table.metric == metric) & (table.variant == variant)]
    assert len(sel) == 1, (metric, variant, sel)
    return sel.iloc[0]


def test_accuracy_kind_csv(tmp_path):
    topk = [[0, 1, 2, 3, 4], [1, 0, 2, 3, 4], [2, 0, 1, 3, 4], [0, 2, 1, 3, 4], [4, 3, 2, 1, 0]]
    targets = [0, 0, 2, 2, 1]
    rows = [
        {"sample": f"n0{t}/img{i}.JPEG", "target": t, "wnid": f"n0{t}", "variant": "", "topk": k,
         "topk_prob": [0.6, 0.1, 0.1, 0.1, 0.1]}
        for i, (t, k) in enumerate(zip(targets, topk, strict=True))
    ]  # fmt: skip
    preds = write_predictions(tmp_path / "val.parquet", rows)
    table = run_cli(tmp_path, "imagenet_val", preds)
    assert list(table.columns) == ["run", "benchmark", "variant", "metric", "value",
                                   "ci_low", "ci_high", "n", "predictions_sha256"]  # fmt: skip
    assert set(table.run) == {"r18"} and set(table.predictions_sha256) == {sha256_file(preds)}
    top1 = value(table, "top1")
    ci = binomtest(2, 5).proportion_ci(method="exact")
    assert top1.value == pytest.approx(40.0) and top1.n == 5
    assert (top1.ci_low, top1.ci_high) == pytest.approx((100 * ci.low, 100 * ci.high))
    assert value(table, "top5").value == pytest.approx(100.0)
    assert value(table, "class_acc/n00").value == pytest.approx(50.0)
    assert value(table, "class_acc/n01").value == pytest.approx(0.0)
    # one ECE bin (0.6 in (0.5333, 0.6]) with accuracy 0.4 -> 0.2
    assert value(table, "ece").value == pytest.approx(20.0)
    sidecar = json.loads((tmp_path / "out.csv.prov.json").read_text())
    assert sidecar["metric_docs"]["top1"]["interval"] == "clopper-pearson"
    assert sidecar["inputs"]["predictions"]["sha256"] == sha256_file(preds)


def _c_rows(n_images, wrong_per_cell, label_space_meta=None):
    rows = []
    for name in TEST_CORRUPTIONS:
        for sev in range(1, 6):
            for i in range(n_images):
                pred = 1 if i < wrong_per_cell else 0
                rows.append({"sample": f"{name}/{sev}/n00/img{i}.JPEG", "target": 0, "wnid": "n00",
                             "variant": f"{name}/{sev}", "topk": [pred, 2, 3, 4, 5]})  # fmt: skip
    return rows


def test_imagenet_c_csv(tmp_path):
    meta = {"params": {"label_space": "imagenet1k"}}
    preds = write_predictions(tmp_path / "c.parquet", _c_rows(4, 2), meta)
    base = write_predictions(tmp_path / "base.parquet", _c_rows(4, 3), meta)
    clean_rows = [{"sample": f"n00/img{i}.JPEG", "target": 0, "wnid": "n00", "variant": "",
                   "topk": [1 if i == 0 else 0, 2, 3, 4, 5]} for i in range(4)]  # fmt: skip
    clean = write_predictions(tmp_path / "clean.parquet", clean_rows, meta)
    table = run_cli(
        tmp_path, "imagenet_c", preds, "--clean-predictions", str(clean),
        "--baseline-predictions", str(base), "--baseline-clean-predictions", str(clean),
        bench={"kind": "imagenet_c", "source": "derived", "from": "val"},
    )  # fmt: skip
    cell = value(table, "error", "fog/3")
    assert cell.value == pytest.approx(50.0) and cell.n == 4
    alex = {c: np.mean(v) for c, v in ALEXNET_SEVERITY_ERRORS.items()}
    assert value(table, "ce_alexnet", "fog").value == pytest.approx(50 / alex["fog"])
    assert value(table, "mce_alexnet").value == pytest.approx(
        np.mean([50 / a for a in alex.values()])
    )
    rel = np.mean([100 * 5 * (0.5 - 0.25) / (5 * a - 5 * 0.43478) for a in alex.values()])
    assert value(table, "relative_mce_alexnet").value == pytest.approx(rel)
    assert value(table, "mce_baseline").value == pytest.approx(100 * 0.5 / 0.75)
    assert value(table, "relative_mce_baseline").value == pytest.approx(100 * 0.25 / 0.5)
    assert value(table, "mean_error").value == pytest.approx(50.0)  # 15 of 19 present
    mce_row = value(table, "mce_alexnet")
    assert mce_row.ci_low <= mce_row.value <= mce_row.ci_high


def test_imagenet_c_without_imagenet_label_space_has_no_alexnet(tmp_path):
    preds = write_predictions(
        tmp_path / "c.parquet", _c_rows(2, 1), {"params": {"label_space": "mininet"}}
    )
    table = run_cli(tmp_path, "imagenet_c", preds)
    assert not table.metric.str.contains("alexnet").any()
    assert "mean_error" in set(table.metric)


def test_tiny_imagenet_c_mce_against_the_baseline_run(tmp_path):
    """Tiny-ImageNet-C (200 wnids): CE and mCE against a baseline run, never AlexNet's."""
    meta = {"params": {"label_space": {"wnids": [f"n{i:02d}" for i in range(200)]}}}
    preds = write_predictions(tmp_path / "tc.parquet", _c_rows(4, 1), meta)
    base = write_predictions(tmp_path / "tb.parquet", _c_rows(4, 2), meta)
    table = run_cli(tmp_path, "tiny_imagenet_c", preds, "--baseline-predictions", str(base),
                    bench={"kind": "tiny_imagenet_c", "source": "derived", "from": "val"})  # fmt: skip
    assert not table.metric.str.contains("alexnet").any()
    assert value(table, "ce_baseline", "fog").value == pytest.approx(100 * 0.25 / 0.5)
    assert value(table, "mce_baseline").value == pytest.approx(50.0)
    assert value(table, "error", "fog/3").value == pytest.approx(25.0)


def test_tiny_imagenet_val_is_evaluated_and_train_is_not():
    from shiftlab.workflow import is_training_set

    assert not is_training_set({"kind": "tiny_imagenet", "variant": "val"})
    assert is_training_set({"kind": "tiny_imagenet", "variant": "train"})
    assert is_training_set({"kind": "imagenet_train"})
    assert not is_training_set({"kind": "imagenet_val"})


def test_imagenet_p_csv(tmp_path):
    def rows(videos):
        out = []
        for variant, vids in videos.items():
            for v, preds in enumerate(vids):
                for f, p in enumerate(preds):
                    out.append({"sample": f"{variant}/n00/vid{v}.mp4", "target": 0, "wnid": "n00",
                                "variant": variant, "frame": f, "topk": [p, 7, 8, 9, 10]})  # fmt: skip
        return out

    run_p = {"gaussian_noise": [[0, 1, 0, 1], [0, 0, 0, 0]], "rotate": [[0, 1, 1, 0, 0]]}
    base_p = {"gaussian_noise": [[0, 1, 1, 1], [0, 1, 0, 0]], "rotate": [[0, 1, 0, 1, 0]]}
    preds = write_predictions(tmp_path / "p.parquet", rows(run_p))
    base = write_predictions(tmp_path / "pb.parquet", rows(base_p))
    table = run_cli(tmp_path, "imagenet_p", preds, "--baseline-predictions", str(base))
    # noise vs frame 0: video0 flips 2/3, video1 0 -> 1/3 ; rotate consecutive: 2/4
    assert value(table, "fp", "gaussian_noise").value == pytest.approx(100 / 3)
    assert value(table, "fp", "rotate").value == pytest.approx(50.0)
    # baseline: noise (1 + 1/3)/2 = 2/3 ; rotate 4/4 = 1
    assert value(table, "mfr").value == pytest.approx(100 * np.mean([(1 / 3) / (2 / 3), 0.5 / 1.0]))
    # T5D of a single top-1 swap out of the top-5: |0 - 5| + |1 - 0| ... computed by hand:
    # reference [0,7,8,9,10] -> current [1,7,8,9,10]: class 0 leaves (|0-5| = 5), others stay
    assert value(table, "t5d", "rotate").value == pytest.approx(5 * 2 / 4)
    assert value(table, "mean_fp").value == pytest.approx(100 * np.mean([1 / 3, 0.5]))


def test_imagenet_p_at_several_difficulties(tmp_path):
    """difficulty [1, 2]: each difficulty's noise folder, the other sequences at stride d."""

    def rows(videos):
        return [{"sample": f"{variant}/n00/vid{v}.mp4", "target": 0, "wnid": "n00",
                 "variant": variant, "frame": f, "topk": [p, 7, 8, 9, 10]}
                for variant, vids in videos.items() for v, preds in enumerate(vids)
                for f, p in enumerate(preds)]  # fmt: skip

    run_p = {"gaussian_noise": [[0, 1, 0, 1]], "gaussian_noise_2": [[0, 1, 1, 1]],
             "rotate": [[0, 1, 1, 0, 0]]}  # fmt: skip
    base_p = {"gaussian_noise": [[0, 1, 1, 1]], "gaussian_noise_2": [[0, 1, 1, 0]],
              "rotate": [[0, 1, 0, 1, 0]]}  # fmt: skip
    preds = write_predictions(tmp_path / "p.parquet", rows(run_p))
    base = write_predictions(tmp_path / "pb.parquet", rows(base_p))
    bench = {"kind": "imagenet_p", "source": "derived", "from": "val", "difficulty": [1, 2]}
    table = run_cli(tmp_path, "imagenet_p", preds, "--baseline-predictions", str(base), bench=bench)
    # d1: noise vs frame 0 -> 2/3; rotate consecutive (0,1,1,0,0) -> 2/4
    assert value(table, "fp", "gaussian_noise@d1").value == pytest.approx(100 * 2 / 3)
    assert value(table, "fp", "rotate@d1").value == pytest.approx(50.0)
    # d2: folder _2 vs frame 0 -> 3/3; rotate stride 2: offsets 0 (0,1,0) -> 2/2, 1 (1,0) -> 1/1
    assert value(table, "fp", "gaussian_noise_2@d2").value == pytest.approx(100.0)
    assert value(table, "fp", "rotate@d2").value == pytest.approx(100.0)
    assert "gaussian_noise_2@d1" not in set(table.variant)  # never mixed into difficulty 1
    # mFR per difficulty against the baseline at the same difficulty
    # d1: base noise 3/3, rotate 4/4 ; d2: base noise _2 2/3, rotate stride 2: (0,0,0) 0/2 + (1,1) 0/1
    assert value(table, "mfr", "difficulty_1").value == pytest.approx(
        100 * np.mean([(2 / 3) / 1, 0.5 / 1])
    )
    assert np.isnan(value(table, "mfr", "difficulty_2").value)  # baseline rotate FP 0: undefined
    assert value(table, "mean_fp", "difficulty_2").value == pytest.approx(100.0)


def test_imagenet_o_csv(tmp_path):
    rng = np.random.default_rng(0)
    subset = ["n01", "n02"]
    out_msp = rng.uniform(0.2, 0.9, 30)
    in_msp = rng.uniform(0.4, 1.0, 60)
    o_rows = [
        {
            "sample": f"n09/o{i}.JPEG",
            "target": -1,
            "wnid": "n09",
            "variant": "",
            "topk": [1, 2],
            "topk_prob": [m, 1 - m],
            "msp": m,
        }
        for i, m in enumerate(out_msp)
    ]
    c_rows = [
        {
            "sample": f"{subset[i % 2]}/v{i}.JPEG",
            "target": 1 + i % 2,
            "wnid": subset[i % 2],
            "variant": "",
            "topk": [1, 2],
            "topk_prob": [m, 1 - m],
            "msp": m,
        }
        for i, m in enumerate(in_msp)
    ]
    c_rows.append(
        {
            "sample": "n05/x.JPEG",
            "target": 5,
            "wnid": "n05",
            "variant": "",
            "topk": [5, 1],
            "topk_prob": [0.01, 0.0],
            "msp": 0.01,
        }
    )  # not an O class: ignored
    # fmt: skip
    preds = write_predictions(tmp_path / "o.parquet", o_rows, {"subset_wnids": subset})
    clean = write_predictions(tmp_path / "v.parquet", c_rows, {"subset_wnids": subset})
    table = run_cli(tmp_path, "imagenet_o", preds, "--clean-predictions", str(clean))
    y = np.r_[np.zeros(60), np.ones(30)]
    ref = average_precision_score(y, -np.r_[in_msp, out_msp])
    assert value(table, "aupr").value == pytest.approx(100 * ref)
    assert value(table, "aupr").n == 90
    assert {"auroc", "fpr95"} <= set(table.metric)


def test_real_cue_conflict_and_shift(tmp_path):
    real_rows = [
        {"sample": "a.JPEG", "target": 0, "wnid": "n00", "variant": "", "topk": [0, 1, 2, 3, 4], "labels": [0]},
        {"sample": "b.JPEG", "target": 1, "wnid": "n01", "variant": "", "topk": [0, 1, 2, 3, 4], "labels": []},
        {"sample": "c.JPEG", "target": 1, "wnid": "n01", "variant": "", "topk": [2, 1, 0, 3, 4], "labels": [1, 0]},
    ]  # fmt: skip
    table = run_cli(
        tmp_path, "imagenet_real", write_predictions(tmp_path / "real.parquet", real_rows)
    )
    assert (
        value(table, "real_top1").value == pytest.approx(50.0) and value(table, "real_top1").n == 2
    )
    assert value(table, "real_top5").value == pytest.approx(100.0)
    assert value(table, "real_excluded").value == 1

    def probs(cat):
        p = [0.01] * 16
        p[["airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat", "chair", "clock",
           "dog", "elephant", "keyboard", "knife", "oven", "truck"].index(cat)] = 0.5  # fmt: skip
        return p

    cue = [
        ("cat/cat1-elephant2.png", "cat"), ("cat/cat2-clock1.png", "clock"),
        ("bird/bird3-bird2.png", "bird"), ("dog/dog1-car3.png", "dog"),
    ]  # fmt: skip
    cue_rows = [{"sample": s, "target": -1, "wnid": "", "variant": "", "topk": [0],
                 "probs_subset16": probs(c)} for s, c in cue]  # fmt: skip
    table = run_cli(tmp_path, "cue_conflict", write_predictions(tmp_path / "cue.parquet", cue_rows))
    sb = value(table, "shape_bias")
    assert sb.value == pytest.approx(100 * 2 / 3) and sb.n == 3
    # per shape category: cat 1 of 2 by shape, dog 1 of 1, bird only a shape == texture stimulus
    assert value(table, "shape_bias", "cat").value == pytest.approx(50.0)
    assert value(table, "shape_bias", "dog").n == 1
    assert "bird" not in set(table[table.metric == "shape_bias"].variant)

    # Categories with no class in the label space are NaN and never win the decision.
    for row in cue_rows:
        row["probs_subset16"] = [float("nan")] + row["probs_subset16"][1:]
    table = run_cli(
        tmp_path, "cue_conflict", write_predictions(tmp_path / "cue_nan.parquet", cue_rows)
    )
    sb = value(table, "shape_bias")
    assert sb.value == pytest.approx(100 * 2 / 3) and sb.n == 3

    # A shift probe: steps 0 (the unshifted reference), 1 and 2 of crop_shift.
    shift_rows = []
    for variant, preds, msps in [("crop_shift_0", [0, 1, 2, 3], [0.9, 0.8, 0.7, 0.6]),
                                 ("crop_shift_1", [0, 1, 2, 0], [0.9, 0.7, 0.7, 0.6]),
                                 ("crop_shift_2", [0, 1, 0, 0], [0.8, 0.8, 0.5, 0.6])]:  # fmt: skip
        for i, (p, m) in enumerate(zip(preds, msps, strict=True)):
            shift_rows.append({"sample": f"{variant}/n0{i}/img{i}.JPEG", "target": i, "wnid": f"n0{i}",
                               "variant": variant, "topk": [p], "topk_prob": [m], "msp": m})  # fmt: skip
    table = run_cli(tmp_path, "transforms", write_predictions(tmp_path / "t.parquet", shift_rows))
    assert value(table, "shift_flip_prob", "crop_shift_2").value == pytest.approx(50.0)
    assert value(table, "shift_prob_change", "crop_shift_2").value == pytest.approx(100 * 0.3 / 4)
    assert value(table, "shift_flip_prob", "crop_shift_1").value == pytest.approx(25.0)
    assert value(table, "top1", "crop_shift_0").value == pytest.approx(100.0)
    assert value(table, "shift_msp", "crop_shift_0").value == pytest.approx(75.0)
    # Pooled over the probe's steps, by hand: per-image means, then their mean.
    pooled = {"shift_flip_prob": (0 + 0 + 0.5 + 1) / 4, "shift_flip_prob_consecutive": 0.25,
              "shift_prob_change": (0.05 + 0.05 + 0.1 + 0) / 4}  # fmt: skip
    for metric, expected in pooled.items():
        row = value(table, metric, "crop_shift")
        assert row.value == pytest.approx(100 * expected), metric
        assert row.n == 4 and row.ci_low <= row.value <= row.ci_high, metric


def test_clean_subset_masks_top1(tmp_path):
    a_rows = [{"sample": "n01/a.JPEG", "target": 1, "wnid": "n01", "variant": "", "topk": [1, 3]}]
    clean_rows = [
        {"sample": "n01/v1.JPEG", "target": 1, "wnid": "n01", "variant": "", "topk": [7, 1, 3]},  # 7 masked out -> correct
        {"sample": "n03/v2.JPEG", "target": 3, "wnid": "n03", "variant": "", "topk": [1, 3, 7]},  # wrong
        {"sample": "n07/v3.JPEG", "target": 7, "wnid": "n07", "variant": "", "topk": [7, 1, 3]},  # not in subset
    ]  # fmt: skip
    meta = {"subset_wnids": ["n01", "n03"]}
    preds = write_predictions(tmp_path / "a.parquet", a_rows, meta)
    clean = write_predictions(tmp_path / "val.parquet", clean_rows)
    table = run_cli(tmp_path, "imagenet_a", preds, "--clean-predictions", str(clean))
    row = value(table, "top1_clean_subset")
    assert row.value == pytest.approx(50.0) and row.n == 2


def test_user_errors(tmp_path, capsys):
    out = tmp_path / "x.csv"
    argv = ["metrics", "--run", "r", "--benchmark", "b", "--benchmark-json", '{"kind": "nope"}',
            "--predictions", str(tmp_path / "missing.parquet"), "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    assert "not found" in capsys.readouterr().err
    assert not out.exists()
