"""Fixture trees in each official layout index to the right targets (by name, never by sort)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from shiftlab.cli import main
from shiftlab.data import read_index
from shiftlab.data.index import build_index, write_index
from shiftlab.errors import UserError
from shiftlab.labels import MININET_WNIDS, imagenet1k_index, imagenet1k_wnids

WNIDS = imagenet1k_wnids()
HEN, TURTLE = "n01514859", "n01664065"  # ImageNet 8 and 33


def touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_v2_folders_map_by_int_not_string_sort(tmp_path):
    top = tmp_path / "imagenetv2-matched-frequency-format-val"
    for folder in ("0", "8", "10", "33", "100"):
        touch(top, f"{folder}/a{folder}.jpeg", f"{folder}/b{folder}.jpeg")
    touch(top, "README.md")
    frame, meta = build_index(
        "imagenet_v2", tmp_path, "imagenet1k", "v2-mf", variant="matched-frequency"
    )
    assert meta["root"] == str(top)  # descended into the archive's top folder
    by_folder = {s.split("/")[0]: t for s, t in zip(frame["sample"], frame["target"], strict=True)}
    assert by_folder == {"0": 0, "8": 8, "10": 10, "33": 33, "100": 100}
    assert set(frame["wnid"]) == {WNIDS[i] for i in (0, 8, 10, 33, 100)}
    assert set(frame["variant"]) == {"matched-frequency"}
    # In MiniNet's space only hen (8) and turtle (33) exist; the rest is out of space.
    frame, _ = build_index("imagenet_v2", top, "mininet", "v2-mf")
    mininet = sorted(MININET_WNIDS)
    got = {s.split("/")[0]: t for s, t in zip(frame["sample"], frame["target"], strict=True)}
    assert got == {
        "0": -1,
        "8": mininet.index(HEN),
        "10": -1,
        "33": mininet.index(TURTLE),
        "100": -1,
    }


def test_imagenet_a_ignores_readme_and_mixes_extensions(tmp_path):
    a = sorted(__import__("shiftlab.data.subsets", fromlist=["x"]).subset_wnids("imagenet_a"))
    top = tmp_path / "imagenet-a"
    touch(
        top,
        "README.txt",
        f"{a[0]}/0.01_x _ y_0.5.jpg",
        f"{a[0]}/b.JPEG",
        f"{a[1]}/c.jpeg",
        f"{a[1]}/d.png",
    )
    touch(top, f"{a[1]}/notes.txt", f"{a[1]}/.hidden.jpg")
    frame, meta = build_index("imagenet_a", tmp_path, "imagenet1k", "a", fingerprint=False)
    assert len(frame) == 4 and "README.txt" not in set(frame["sample"])
    assert list(frame["target"]) == [imagenet1k_index(w) for w in frame["wnid"]]
    assert meta["protocol"] == {"preprocess": "resize_crop", "masking": "imagenet_a"}
    # Outside the study's space the samples stay, with target -1 (masking is predict's job).
    frame, meta = build_index("imagenet_a", top, "mininet", "a", fingerprint=False)
    assert len(frame) == 4 and set(frame["target"]) == {-1} and meta["out_of_space"] == 4


def test_imagenet_c_cells_and_variant_filter(tmp_path):
    for c in ("gaussian_noise", "fog"):
        for s in ("1", "2"):
            touch(
                tmp_path,
                f"{c}/{s}/{HEN}/ILSVRC2012_val_00000001.JPEG",
                f"{c}/{s}/{TURTLE}/ILSVRC2012_val_00000002.JPEG",
            )
    touch(tmp_path, "manifest.parquet")
    frame, _ = build_index("imagenet_c", tmp_path, "imagenet1k", "c", fingerprint=False)
    assert len(frame) == 8
    assert list(frame["variant"].unique()) == [
        "fog/1",
        "fog/2",
        "gaussian_noise/1",
        "gaussian_noise/2",
    ]
    assert list(frame["sample"][:2]) == [
        f"fog/1/{HEN}/ILSVRC2012_val_00000001.JPEG",
        f"fog/1/{TURTLE}/ILSVRC2012_val_00000002.JPEG",
    ]
    assert set(frame["target"]) == {8, 33}
    frame, meta = build_index(
        "imagenet_c", tmp_path, "imagenet1k", "c", variant="fog/2", fingerprint=False
    )
    assert set(frame["variant"]) == {"fog/2"} and len(frame) == 2
    assert meta["protocol"]["preprocess"] == "none"
    with pytest.raises(UserError, match="no corruption folder 'snow'"):
        build_index("imagenet_c", tmp_path, "imagenet1k", "c", variant="snow/1")
    with pytest.raises(UserError, match="does not match"):
        build_index("imagenet_c", tmp_path, "imagenet1k", "c", variant="Fog-2")


def test_imagenet_p_reads_mp4_sequences_only(tmp_path):
    touch(
        tmp_path,
        f"gaussian_noise/{HEN}/ILSVRC2012_val_00000001.mp4",
        f"gaussian_noise_2/{HEN}/ILSVRC2012_val_00000001.mp4",
    )
    touch(tmp_path, f"rotate/{TURTLE}/ILSVRC2012_val_00000002.mp4", f"rotate/{TURTLE}/frame.JPEG")
    frame, _ = build_index("imagenet_p", tmp_path, "imagenet1k", "p", fingerprint=False)
    assert list(frame["variant"]) == ["gaussian_noise", "gaussian_noise_2", "rotate"]
    assert all(s.endswith(".mp4") for s in frame["sample"])


def test_tiny_imagenet_val_annotations_and_train(tmp_path):
    top = tmp_path / "tiny-imagenet-200"
    (top / "val" / "images").mkdir(parents=True)
    rows = [("val_0.JPEG", TURTLE), ("val_1.JPEG", HEN), ("val_2.JPEG", "n09999999")]
    (top / "val" / "val_annotations.txt").write_text(
        "".join(f"{f}\t{w}\t0\t0\t63\t63\n" for f, w in rows)
    )
    for f, _ in rows:
        touch(top / "val" / "images", f)
    touch(top, f"train/{HEN}/images/{HEN}_0.JPEG", f"train/{HEN}/{HEN}_boxes.txt", "wnids.txt")
    frame, meta = build_index(
        "tiny_imagenet", tmp_path, "imagenet1k", "tiny", variant="val", fingerprint=False
    )
    assert meta["root"] == str(top / "val")
    assert dict(zip(frame["sample"], frame["wnid"], strict=True)) == {
        f"images/{f}": w for f, w in rows
    }
    assert list(frame["target"]) == [33, 8, -1]
    frame, _ = build_index(
        "tiny_imagenet", top / "train", "imagenet1k", "tiny-train", fingerprint=False
    )
    assert list(frame["sample"]) == [f"{HEN}/images/{HEN}_0.JPEG"] and list(frame["target"]) == [8]


def _val_tree(root: Path, wnids: list[str]) -> list[str]:
    names = []
    for i, wnid in enumerate(wnids, 1):
        name = f"ILSVRC2012_val_{i:08d}.JPEG"
        touch(root, f"{wnid}/{name}")
        names.append(name)
    return names


def test_real_labels_by_file_name_with_empty_sets_kept(tmp_path):
    val = tmp_path / "imagenet" / "val"
    wnids = [HEN, TURTLE, HEN, "n02099601"]
    _val_tree(val, wnids)
    # one list per sorted val file name (MiniNet form); ImageNet indices, 0 = tench (outside MiniNet)
    real = [[8], [], [8, 33, 0], [0]]
    (tmp_path / "real.json").write_text(json.dumps(real))
    frame, meta = build_index(
        "imagenet_real", val, "mininet", "real", real_json=tmp_path / "real.json"
    )
    space = sorted(MININET_WNIDS)
    assert list(frame["sample"]) == [
        f"{w}/ILSVRC2012_val_{i:08d}.JPEG"
        for i, w in sorted(enumerate(wnids, 1), key=lambda t: f"{t[1]}/{t[0]}")
    ]
    by_name = {
        Path(s).name: list(lab) for s, lab in zip(frame["sample"], frame["labels"], strict=True)
    }
    assert by_name == {
        "ILSVRC2012_val_00000001.JPEG": [space.index(HEN)],
        "ILSVRC2012_val_00000002.JPEG": [],
        "ILSVRC2012_val_00000003.JPEG": [space.index(HEN), space.index(TURTLE)],
        "ILSVRC2012_val_00000004.JPEG": [],  # its only label is outside the space: dropped
    }
    assert meta["real_empty"] == 1 and meta["real_empty_in_space"] == 2
    # real.json found automatically two levels up (the MiniNet world layout), same result
    frame2, meta2 = build_index("imagenet_real", val, "mininet", "real")
    assert meta2["fingerprint"] == meta["fingerprint"] and frame2.equals(frame)
    (tmp_path / "real.json").write_text(json.dumps(real[:3]))
    with pytest.raises(UserError, match="3 label lists but .* 4 val images"):
        build_index("imagenet_real", val, "mininet", "real")


@pytest.mark.slow
def test_real_official_length_uses_the_number_in_the_name(tmp_path):
    """With 50,000 lists, entry i belongs to ILSVRC2012_val_{i+1:08d} even for a partial val."""
    val = tmp_path / "val"
    for number in (1, 7, 50_000):
        touch(val, f"{HEN}/ILSVRC2012_val_{number:08d}.JPEG")
    real = [[] for _ in range(50_000)]
    real[0], real[6], real[49_999] = [8], [33, 8], [999]
    (tmp_path / "real.json").write_text(json.dumps(real))
    frame, _ = build_index(
        "imagenet_real",
        val,
        "imagenet1k",
        "real",
        real_json=tmp_path / "real.json",
        fingerprint=False,
    )
    assert [list(x) for x in frame["labels"]] == [[8], [33, 8], [999]]


def _meta_mat(path: Path, id_order: list[str]) -> None:
    """A devkit-style meta.mat: 1000 leaves with ILSVRC2012_IDs in `id_order` plus one parent."""
    dtype = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_children", "O")]
    rows = [(i, w, 0) for i, w in enumerate(id_order, 1)] + [(1001, "n00001740", 3)]
    scipy.io.savemat(path, {"synsets": np.array(rows, dtype=dtype)})


def test_flat_val_with_devkit_ground_truth_uses_meta_order(tmp_path):
    rng = np.random.default_rng(0)
    id_order = list(rng.permutation(WNIDS))  # devkit IDs are NOT the sorted-wnid order
    devkit = tmp_path / "ILSVRC2012_devkit_t12" / "data"
    devkit.mkdir(parents=True)
    _meta_mat(devkit / "meta.mat", id_order)
    truth = [HEN, TURTLE, WNIDS[999]]
    ids = [id_order.index(w) + 1 for w in truth]
    (devkit / "ILSVRC2012_validation_ground_truth.txt").write_text("".join(f"{i}\n" for i in ids))
    for n in range(1, 4):
        touch(tmp_path, f"ILSVRC2012_val_{n:08d}.JPEG")
    frame, _ = build_index("imagenet_val", tmp_path, "imagenet1k", "val", fingerprint=False)
    assert list(frame["wnid"]) == truth and list(frame["target"]) == [8, 33, 999]
    # the same ground truth from Kaggle's LOC_val_solution.csv
    (tmp_path / "ILSVRC2012_devkit_t12" / "data" / "meta.mat").unlink()
    csv = "ImageId,PredictionString\n" + "".join(
        f"ILSVRC2012_val_{n:08d},{w} 1 2 3 4 {w} 5 6 7 8\n" for n, w in enumerate(truth, 1)
    )
    (tmp_path / "LOC_val_solution.csv").write_text(csv)
    frame, _ = build_index("imagenet_val", tmp_path, "imagenet1k", "val", fingerprint=False)
    assert list(frame["target"]) == [8, 33, 999]


def test_flat_val_without_ground_truth_says_what_to_do(tmp_path):
    touch(tmp_path, "ILSVRC2012_val_00000001.JPEG")
    with pytest.raises(UserError, match="LOC_val_solution.csv"):
        build_index("imagenet_val", tmp_path, "imagenet1k", "val")


def test_cue_conflict_and_folder_with_class_map(tmp_path):
    cue = tmp_path / "cue-conflict"
    touch(cue, "airplane/airplane1-bicycle2.png", "bird/bird3-bird2.png", "dog/dog1-cat4.png")
    frame, meta = build_index("cue_conflict", tmp_path, "imagenet1k", "cue", fingerprint=False)
    assert list(frame["shape"]) == ["airplane", "bird", "dog"]
    assert list(frame["texture"]) == ["bicycle", "bird", "cat"]
    assert set(frame["target"]) == {-1} and meta["protocol"]["masking"] == "cue_conflict_16"
    mine = tmp_path / "mine"
    touch(mine, "chickens/1.jpg", "turtles/2.png")
    (tmp_path / "map.txt").write_text(f"# folder wnid\nchickens {HEN}\nturtles,{TURTLE}\n")
    frame, _ = build_index(
        "folder", mine, "imagenet1k", "mine", class_map=tmp_path / "map.txt", fingerprint=False
    )
    assert list(frame["target"]) == [8, 33]


def test_cli_index_writes_parquet_with_metadata(tmp_path):
    top = tmp_path / "sketch"
    touch(top, f"{TURTLE}/b.JPEG", f"{HEN}/a.JPEG", f"{HEN}/c.JPEG")
    out = tmp_path / "index" / "sketch.parquet"
    rc = main(
        [
            "index",
            "imagenet_sketch",
            str(tmp_path),
            "--out",
            str(out),
            "--label-space",
            "mininet",
            "--benchmark",
            "sketch",
        ]
    )
    assert rc == 0
    frame, meta = read_index(out)
    assert list(frame.columns) == ["sample", "target", "wnid", "variant"]
    assert str(frame["target"].dtype) == "int64"
    assert list(frame["sample"]) == [f"{HEN}/a.JPEG", f"{HEN}/c.JPEG", f"{TURTLE}/b.JPEG"]
    space = sorted(MININET_WNIDS)
    assert list(frame["target"]) == [space.index(HEN)] * 2 + [space.index(TURTLE)]
    assert {k: meta[k] for k in ("kind", "root", "benchmark", "label_space", "n")} == {
        "kind": "imagenet_sketch", "root": str(top), "benchmark": "sketch", "label_space": "mininet", "n": 3,
    }  # fmt: skip
    assert len(meta["fingerprint"]) == 64
    assert not list(out.parent.glob(".*tmp"))
    # an unknown kind or a missing root is a one-line user error (exit 2)
    assert (
        main(
            [
                "index",
                "imagenet_x",
                str(tmp_path),
                "--out",
                str(out),
                "--label-space",
                "mininet",
                "--benchmark",
                "s",
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "index",
                "imagenet_a",
                str(tmp_path / "nope"),
                "--out",
                str(out),
                "--label-space",
                "mininet",
                "--benchmark",
                "s",
            ]
        )
        == 2
    )


def test_write_index_real_labels_roundtrip(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {
            "sample": ["a"],
            "target": pd.array([1], dtype="int64"),
            "wnid": [HEN],
            "variant": [""],
            "labels": [[]],
        }
    )
    write_index(frame, {"n": 1}, tmp_path / "x.parquet")
    back, meta = read_index(tmp_path / "x.parquet")
    assert list(back["labels"][0]) == [] and meta == {"n": 1}
