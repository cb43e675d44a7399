"""`audit --sample K` re-predicts stored samples with the real predict code (CPU, fp32)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shiftlab.audit import audit_summary
from shiftlab.cli import main
from shiftlab.provenance import read_parquet_record, write_parquet


@pytest.mark.slow
def test_sample_repredicts_bit_for_bit_and_catches_edited_topk(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for wnid in ("n01514859", "n02099601"):
        (tmp_path / "data/val" / wnid).mkdir(parents=True)
        for i in range(3):
            pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / f"data/val/{wnid}/img{i}.JPEG")
    r = "results/demo"
    steps = [
        ["init-model", "--run", "r1", "--model-json", '{"model": "resnet10t"}',
         "--label-space", "mininet", "--out", f"{r}/checkpoints/r1/final.pt"],
        ["index", "imagenet_val", "data/val", "--out", f"{r}/index/val.parquet",
         "--label-space", "mininet", "--benchmark", "val"],
        ["predict", "--checkpoint", f"{r}/checkpoints/r1/final.pt", "--index",
         f"{r}/index/val.parquet", "--benchmark-json", '{"kind": "imagenet_val"}',
         "--out", f"{r}/predictions/r1/val.parquet", "--fp32"],
    ]  # fmt: skip
    for argv in steps:
        assert main(argv) == 0, argv
    summary = tmp_path / r / "summary.csv"
    pd.DataFrame(
        [{"run": "r1", "benchmark": "val", "variant": "", "metric": "top1", "value": 0}]
    ).to_csv(summary, index=False)

    def sample_findings() -> list[str]:
        report = audit_summary(summary, sample=4)
        return [f.line() for f in report.findings if "--sample" in f.message]

    assert sample_findings() == []

    path = tmp_path / r / "predictions/r1/val.parquet"
    frame, record = pd.read_parquet(path), read_parquet_record(path)
    frame["topk"] = [list(t)[::-1] for t in frame["topk"]]
    write_parquet(frame, path, record)
    lines = sample_findings()
    assert len(lines) == 4 and all(line.startswith("error:") and "top-k" in line for line in lines)
