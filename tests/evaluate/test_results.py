"""The columnar results collector against a per-row numpy reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch

from shiftlab.evaluate import results
from shiftlab.evaluate.protocol import protocol_for
from shiftlab.evaluate.results import Collector


def _frame(n: int, wnids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample": [f"{wnids[i % len(wnids)]}/img{i:03d}.JPEG" for i in range(n)],
            "target": np.arange(n) % len(wnids),
            "wnid": [wnids[i % len(wnids)] for i in range(n)],
            "variant": ["b" if i % 3 else "a" for i in range(n)],
        }
    )


@pytest.mark.parametrize("block", [1, 2, 1000])  # host copies after every batch .. at the end
def test_collector_matches_a_per_row_reference(monkeypatch, block):
    monkeypatch.setattr(results, "BLOCK", block)
    wnids = [f"n{i:08d}" for i in range(12)]
    frame = _frame(10, wnids)
    # a class-subset protocol: scores over 4 of the 12 classes, labels mapped back
    proto = protocol_for("imagenet_a", wnids, [wnids[i] for i in (1, 4, 7, 9)])
    gen = torch.Generator().manual_seed(0)
    batches = [  # (rows, frames, variant) in the order a loader would yield them
        ([7, 2, 9], None, None),
        ([0, 5], [3, 1], None),
        ([7, 2, 9], None, "cell-x"),
        ([1, 3, 4, 6, 8], None, None),
    ]
    collector = Collector(proto, k=3, wnids=wnids, device=torch.device("cpu"))
    expected = []
    for rows, frames, variant in batches:
        probs = torch.softmax(torch.randn(len(rows), 4, generator=gen), dim=1)
        probs[0, 2] = probs[0, 1]  # a tie: the lower class index comes first
        collector.add(probs, rows, frames, variant)
        p = probs.numpy()
        for i, row in enumerate(rows):
            order = sorted(range(4), key=lambda c: (-p[i, c], c))[:3]
            expected.append(
                {
                    "sample": frame["sample"][row],
                    "target": int(frame["target"][row]),
                    "variant": variant or frame["variant"][row],
                    "frame": frames[i] if frames else -1,
                    "topk": [int(proto.class_ids[c]) for c in order],
                    "topk_prob": [float(p[i, c]) for c in order],
                    "msp": float(p[i].max()),
                }
            )
    table = collector.table(frame)
    assert table.schema.field("topk").type == pa.list_(pa.int64())
    assert table.schema.field("topk_prob").type == pa.list_(pa.float32())
    got = table.to_pylist()
    expected.sort(key=lambda r: (r["variant"], r["sample"], r["frame"]))
    assert len(got) == len(expected) == 13
    for g, e in zip(got, expected, strict=True):
        assert {key: g[key] for key in e} == e  # float32 values compare exactly


def test_collector_rejects_mismatched_rows_and_handles_no_rows():
    wnids = ["n1", "n2", "n3"]
    proto = protocol_for("imagenet_val", wnids, wnids)
    collector = Collector(proto, k=5, wnids=wnids, device=torch.device("cpu"))
    with pytest.raises(ValueError, match="2 score rows for 3 index rows"):
        collector.add(torch.full((2, 3), 1 / 3), [0, 1, 2])
    table = collector.table(_frame(3, wnids))
    assert table.num_rows == 0
    assert table.schema.field("topk").type == pa.list_(pa.int64())


def test_top_k_orders_ties_by_column():
    probs = torch.tensor(
        [
            [0.1, 0.3, 0.3, 0.3, 0.0],  # a three-way tie across the k boundary
            [0.5, 0.2, 0.1, 0.2, 0.0],  # a tie inside the top k
            [0.1, 0.2, 0.3, 0.4, 0.0],  # no tie
        ]
    )
    values, cols = results.top_k(probs, 2)
    assert cols.tolist() == [[1, 2], [0, 1], [3, 2]]
    assert values.tolist() == [[0.30000001192092896] * 2, [0.5, 0.20000000298023224], [0.4000000059604645, 0.30000001192092896]]  # fmt: skip
    # many random rows with ties: the same answer as numpy's stable sort
    gen = torch.Generator().manual_seed(1)
    many = torch.randint(0, 6, (500, 40), generator=gen).float() / 5
    reference = np.argsort(-many.numpy(), axis=1, kind="stable")[:, :5]
    for full_sort in (False, True):  # the CPU's way and the GPU's way
        values, cols = results.top_k(many, 5, full_sort=full_sort)
        assert np.array_equal(cols.numpy(), reference)
        assert torch.equal(values, torch.gather(many, 1, cols))
        assert values.is_contiguous() and values.untyped_storage().nbytes() == values.nbytes
