"""`shiftlab predict` on a generated MiniNet world with a random-init timm model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from shiftlab.data import read_index
from shiftlab.data.index import build_index, write_index
from shiftlab.data.mininet.spec import MiniNetParams
from shiftlab.data.mininet.write import generate
from shiftlab.errors import UserError
from shiftlab.evaluate import predict
from shiftlab.evaluate.engine import Scorer
from shiftlab.evaluate.loaders import ImageRows
from shiftlab.hashing import sha256_file
from shiftlab.labels import label_space
from shiftlab.models import create_model, data_config, load_checkpoint, model_meta, save_checkpoint

KINDS = {
    "val": ("imagenet_val", "imagenet/val"),
    "a": ("imagenet_a", "imagenet-a"),
    "cue": ("cue_conflict", "cue-conflict"),
    "real": ("imagenet_real", "imagenet/val"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("world")
    generate(
        root / "mininet",
        MiniNetParams(
            seed=3, image_size=32, train_per_class=1, val_per_class=2, shifted_per_class=2
        ),
    )
    space = label_space("mininet")
    torch.manual_seed(0)
    model = create_model("resnet10t", len(space))
    ckpt = root / "ck.pt"
    save_checkpoint(
        ckpt,
        model,
        model_meta(model, list(space.wnids), None, data_config(model, image_size=32)),
        {},
    )
    indexes = {}
    for bid, (kind, sub) in KINDS.items():
        extra = {"real_json": root / "mininet" / "real.json"} if kind == "imagenet_real" else {}
        frame, meta = build_index(kind, root / "mininet" / sub, "mininet", bid, **extra)
        indexes[bid] = write_index(frame, meta, root / f"{bid}.parquet")
    return {"root": root, "ckpt": ckpt, "index": indexes}


def _predict(world, bid, out, **kw):
    kind = KINDS[bid][0] if bid in KINDS else "imagenet_c"
    bench = kw.pop("bench", {"kind": kind})
    return predict(world["ckpt"], world["index"].get(bid, world["index"]["val"]), bench, out, **kw)


def test_predictions_are_deterministic_and_follow_the_contract(world, tmp_path):
    a = pq.read_table(_predict(world, "val", tmp_path / "a.parquet", batch_size=4))
    b = pq.read_table(_predict(world, "val", tmp_path / "b.parquet", batch_size=4))
    assert a.drop(["msp"]).equals(b.drop(["msp"])) and a.column("msp").equals(b.column("msp"))
    frame = a.to_pandas()
    assert list(frame.columns[:8]) == [
        "sample",
        "target",
        "wnid",
        "variant",
        "frame",
        "topk",
        "topk_prob",
        "msp",
    ]
    assert frame["sample"].is_monotonic_increasing
    assert all(len(t) == 5 for t in frame["topk"])
    assert np.allclose(frame["msp"], [p[0] for p in frame["topk_prob"]])
    assert (frame["frame"] == -1).all()
    record = json.loads(a.schema.metadata[b"shiftlab"])
    assert record["rule"] == "predict"
    # hashed on a side thread while the job runs: still the files' own digests
    assert record["inputs"]["checkpoint"]["sha256"] == sha256_file(world["ckpt"])
    assert record["inputs"]["index"]["sha256"] == sha256_file(world["index"]["val"])
    assert (
        record["inputs"]["dataset_fingerprint"]["sha256"]
        == read_index(world["index"]["val"])[1]["fingerprint"]
    )


def test_batch_size_does_not_change_predictions(world, tmp_path):
    one = pq.read_table(_predict(world, "val", tmp_path / "1.parquet", batch_size=1)).to_pandas()
    many = pq.read_table(_predict(world, "val", tmp_path / "7.parquet", batch_size=7)).to_pandas()
    assert [list(t) for t in one["topk"]] == [list(t) for t in many["topk"]]
    assert np.allclose(np.stack(one["topk_prob"]), np.stack(many["topk_prob"]), atol=1e-5)


def test_subset_benchmark_is_scored_over_its_own_classes(world, tmp_path):
    frame, meta = read_index(world["index"]["a"])
    model, ckmeta = load_checkpoint(world["ckpt"])
    present = sorted({ckmeta["wnids"].index(w) for w in frame["wnid"]})
    data = ImageRows(meta["root"], frame["sample"].tolist(), ckmeta["data_config"], resize=True)
    x = torch.stack([data[i][0] for i in range(len(data))])
    with torch.inference_mode():
        logits = model(x)[:, present]  # the official `output[:, mask]`
    expected_top1 = np.asarray(present)[logits.argmax(1).numpy()]
    expected_msp = torch.softmax(logits, 1).max(1).values.numpy()
    got = pq.read_table(_predict(world, "a", tmp_path / "a.parquet")).to_pandas()
    got = got.set_index("sample").loc[frame["sample"]]
    assert [t[0] for t in got["topk"]] == expected_top1.tolist()
    assert np.allclose(got["msp"], expected_msp, atol=1e-6)
    assert all(set(t) <= set(present) for t in got["topk"])
    full = pq.read_table(_predict(world, "a", tmp_path / "full.parquet", full=True))
    assert json.loads(full.schema.metadata[b"shiftlab"])["subset_wnids"] == []


def test_cue_conflict_probabilities_are_category_means(world, tmp_path):
    from shiftlab.data.subsets import CUE_CONFLICT_CATEGORIES, cue_conflict_label_space_indices

    got = pq.read_table(_predict(world, "cue", tmp_path / "cue.parquet")).to_pandas()
    frame, meta = read_index(world["index"]["cue"])
    model, ckmeta = load_checkpoint(world["ckpt"])
    data = ImageRows(meta["root"], [got["sample"].iat[0]], ckmeta["data_config"], resize=True)
    with torch.inference_mode():
        probs = torch.softmax(model(data[0][0][None]), 1)[0].numpy()
    members = cue_conflict_label_space_indices(label_space("mininet"))
    for j, cat in enumerate(CUE_CONFLICT_CATEGORIES):
        value = got["probs_subset16"].iat[0][j]
        if members[cat]:
            assert value == pytest.approx(np.mean(probs[list(members[cat])]), abs=1e-6)
        else:
            assert np.isnan(value)


def test_real_labels_are_passed_through(world, tmp_path):
    got = pq.read_table(_predict(world, "real", tmp_path / "real.parquet")).to_pandas()
    frame, _ = read_index(world["index"]["real"])
    expected = dict(zip(frame["sample"], (list(x) for x in frame["labels"]), strict=True))
    assert {s: list(x) for s, x in zip(got["sample"], got["labels"], strict=True)} == expected
    assert any(len(x) == 0 for x in expected.values())


def test_on_the_fly_corruption_equals_corrupting_the_same_pixels(world, tmp_path):
    from shiftlab.corrupt import apply, image_seed

    bench = {
        "kind": "imagenet_c",
        "source": "on_the_fly",
        "names": ["gaussian_noise", "contrast"],
        "severities": [2, 5],
        "params": "tiny",
        "seed": 7,
    }
    got = pq.read_table(
        _predict(world, "c", tmp_path / "c.parquet", bench=bench, batch_size=3)
    ).to_pandas()
    assert sorted(set(got["variant"])) == [
        "contrast/2",
        "contrast/5",
        "gaussian_noise/2",
        "gaussian_noise/5",
    ]
    from shiftlab.corrupt.cells import corrupt_cells

    frame, meta = read_index(world["index"]["val"])
    model, ckmeta = load_checkpoint(world["ckpt"])
    rows = ImageRows(meta["root"], frame["sample"].tolist(), ckmeta["data_config"], resize=False)
    sample = frame["sample"].iat[1]
    clean = rows.pixels(1)
    corrupted = apply(
        clean, "gaussian_noise", 5, image_seed(7, sample, "gaussian_noise", 5), params="tiny"
    )
    # the materializer's own path gives the same pixels
    ((variant, materialized),) = corrupt_cells(
        clean, sample, ["gaussian_noise/5"], 7, {"params": "tiny"}
    )
    assert variant == "gaussian_noise/5" and np.array_equal(materialized, corrupted)
    with torch.inference_mode():
        probs = torch.softmax(model(rows.norm.one(corrupted)[None]), 1)[0]
    row = got[(got["sample"] == sample) & (got["variant"] == "gaussian_noise/5")].iloc[0]
    assert row["msp"] == pytest.approx(float(probs.max()), abs=1e-6)
    assert row["topk"][0] == int(probs.argmax())


class _OutOfMemoryAbove(torch.nn.Module):
    """A real model wrapper that fails like a full GPU when a batch is larger than `limit`."""

    def __init__(self, inner: torch.nn.Module, limit: int):
        super().__init__()
        self.inner, self.limit, self.calls = inner, limit, []

    def forward(self, x):
        self.calls.append(x.shape[0])
        if x.shape[0] > self.limit:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(x)


def test_out_of_memory_halves_the_batch(world):
    model, _ = load_checkpoint(world["ckpt"])
    x = torch.randn(10, 3, 32, 32)
    reference = Scorer(model, np.arange(10), torch.device("cpu"))(x)
    wrapped = _OutOfMemoryAbove(model, limit=3)
    scorer = Scorer(wrapped, np.arange(10), torch.device("cpu"))
    scorer._num_outputs = lambda: 10
    scorer._all = True
    out = scorer(x)
    assert torch.allclose(out, reference, atol=1e-6)
    assert wrapped.calls == [10, 5, 2, 2, 2, 2, 2]  # two failures, then halves that fit
    assert scorer.max_batch == 2


def _predict_cli(world, out, benchmark_json: str) -> subprocess.CompletedProcess:
    args = ["predict", "--checkpoint", str(world["ckpt"]), "--index", str(world["index"]["val"]),
            "--benchmark-json", benchmark_json, "--out", str(out)]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "shiftlab.cli", *args], capture_output=True, text=True
    )


def test_cli_writes_predictions(world, tmp_path):
    out = tmp_path / "cli.parquet"
    proc = _predict_cli(world, out, '{"kind": "imagenet_val"}')
    assert proc.returncode == 0, proc.stderr
    assert pq.read_table(out).num_rows == 20
    bad = _predict_cli(world, out, "{kind")
    assert bad.returncode == 2 and "--benchmark-json is not valid JSON" in bad.stderr


def test_device_side_normalisation_gives_the_same_inputs(world):
    """On CUDA, workers send uint8 pixels and the batch is normalised on the device; on
    the CPU the workers normalise each image. Both paths must feed the model the same
    numbers (run here on the CPU, where they are bit-identical)."""
    from shiftlab.evaluate.engine import Scorer
    from shiftlab.evaluate.predict import _images
    from shiftlab.evaluate.protocol import protocol_for

    frame, meta = read_index(world["index"]["val"])
    model, ckmeta = load_checkpoint(world["ckpt"])
    proto = protocol_for("imagenet_val", list(ckmeta["wnids"]), frame["wnid"].tolist())
    cfg, cpu = ckmeta["data_config"], torch.device("cpu")
    scorer = Scorer(model, proto.class_ids, cpu)
    got = {}
    for on_device in (False, True):
        batches = _images(frame, meta["root"], cfg, proto, cpu, 5, 1, on_device)(scorer)
        got[on_device] = {
            row: p
            for probs, rows, _, _ in batches
            for row, p in zip(rows, probs.numpy(), strict=True)
        }
    assert sorted(got[True]) == list(range(len(frame)))
    for row, probs in got[False].items():
        assert np.array_equal(probs, got[True][row])


def test_decoder_choice_is_checked_and_recorded(world, tmp_path):
    out = tmp_path / "d.parquet"
    record = json.loads(pq.read_schema(_predict(world, "val", out)).metadata[b"shiftlab"])
    assert record["params"]["decode"] == "cpu"  # libjpeg in the loader processes
    with pytest.raises(UserError, match="decode='nvjpeg' needs a CUDA device"):
        _predict(world, "val", out, decode="nvjpeg", device="cpu")
    with pytest.raises(UserError, match="allowed: auto, cpu, nvjpeg"):
        _predict(world, "val", out, decode="pil")


def test_a_broken_image_names_the_file_and_leaves_no_output(world, tmp_path):
    import shutil

    root = tmp_path / "val"
    shutil.copytree(world["root"] / "mininet" / "imagenet" / "val", root)
    victim = sorted(root.rglob("*.JPEG"))[3]
    victim.write_bytes(victim.read_bytes()[:40])  # a truncated download
    frame, meta = build_index("imagenet_val", root, "mininet", "val")
    index = write_index(frame, meta, tmp_path / "broken.parquet")
    out = tmp_path / "p.parquet"
    with pytest.raises(UserError, match=rf"{victim.name}: cannot decode image"):
        predict(world["ckpt"], index, {"kind": "imagenet_val"}, out, device="cpu")
    assert not out.exists() and not list(tmp_path.glob(".p.parquet*"))
