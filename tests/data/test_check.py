"""`datasets check`: counts (registry or --expect-count), classes, unreadable images, exit codes."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from shiftlab.cli import main
from shiftlab.data.check import check_dataset
from shiftlab.data.registry import get_benchmark
from shiftlab.data.subsets import subset_wnids
from shiftlab.labels import MININET_WNIDS, imagenet1k_wnids


def jpeg_bytes(color: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (color, 0, 0)).save(buf, "JPEG")
    return buf.getvalue()


def test_registered_counts_are_the_published_ones():
    counts = {
        k: get_benchmark(k).expected_count
        for k in (
            "imagenet_v2",
            "imagenet_a",
            "imagenet_r",
            "imagenet_sketch",
            "imagenet_c",
            "imagenet_o",
            "imagenet_real",
            "imagenet_val",
            "cue_conflict",
        )
    }
    assert counts == {
        "imagenet_v2": 10_000, "imagenet_a": 7_500, "imagenet_r": 30_000, "imagenet_sketch": 50_889,
        "imagenet_c": 50_000, "imagenet_o": 2_000, "imagenet_real": 50_000, "imagenet_val": 50_000, "cue_conflict": 1_280,
    }  # fmt: skip
    assert get_benchmark("imagenet_c").count_per_variant
    assert get_benchmark("imagenet_real").extra["empty_lists"] == 3_163


def test_real_json_bundled_with_timm_has_3163_empty_lists():
    """Independent check of the registered ReaL facts against timm's byte-identical copy."""
    import timm

    from shiftlab.data.readers.real import REAL_JSON_SHA256
    from shiftlab.hashing import sha256_file

    path = Path(timm.__file__).parent / "data" / "_info" / "imagenet_real_labels.json"
    assert sha256_file(path) == REAL_JSON_SHA256
    labels = json.loads(path.read_text())
    assert len(labels) == 50_000 and sum(not x for x in labels) == 3_163


def test_count_logic_and_problems(tmp_path):
    a = subset_wnids("imagenet_a")
    for i, wnid in enumerate(a[:3]):
        (tmp_path / wnid).mkdir()
        for j in range(2):
            (tmp_path / wnid / f"{j}.jpg").write_bytes(jpeg_bytes(i * 10 + j))
    (tmp_path / "README.txt").write_text("not a class")
    report = check_dataset("imagenet_a", tmp_path, expect_count=6)
    assert report["n"] == 6 and report["ignored"] == ["README.txt"]
    assert len(report["missing_classes"]) == 197  # the full benchmark's classes are expected
    assert report["problems"] == [f"197 expected classes missing (e.g. {', '.join(a[3:8])})"]
    report = check_dataset("imagenet_a", tmp_path)
    assert "6 samples, expected 7500" in report["problems"]
    # a truncated JPEG, an empty file and a folder that names no class are reported
    (tmp_path / a[0] / "bad.JPEG").write_bytes(jpeg_bytes()[:60])
    (tmp_path / a[1] / "empty.png").write_bytes(b"")
    (tmp_path / "not_a_wnid").mkdir()
    (tmp_path / "n01440764").mkdir()  # tench: an ImageNet class, but not in A
    report = check_dataset("imagenet_a", tmp_path, expect_count=8)
    assert sorted(u["sample"] for u in report["unreadable"]) == [
        f"{a[0]}/bad.JPEG",
        f"{a[1]}/empty.png",
    ]
    assert report["bad_folders"] == ["not_a_wnid"] and report["extra_classes"] == ["n01440764"]
    assert not check_dataset("imagenet_a", tmp_path, expect_count=8, decode=False)["unreadable"]


def test_per_cell_counts_for_imagenet_c(tmp_path):
    wnid = imagenet1k_wnids()[8]
    for cell, n in (("fog/1", 2), ("fog/2", 3)):
        (tmp_path / cell / wnid).mkdir(parents=True)
        for j in range(n):
            (tmp_path / cell / wnid / f"{j}.JPEG").write_bytes(b"x")
    report = check_dataset("imagenet_c", tmp_path, expect_count=2, decode=False)
    assert report["per_variant"] == {"fog/1": 2, "fog/2": 3}
    assert "3 samples in fog/2, expected 2" in report["problems"]


def test_mininet_world_is_recognised(tmp_path):
    world = tmp_path / "mininet"
    (world / "MANIFEST.json").parent.mkdir()
    (world / "MANIFEST.json").write_text("{}")
    root = world / "imagenet-r"
    for wnid in sorted(MININET_WNIDS)[:2]:
        (root / wnid).mkdir(parents=True)
        (root / wnid / "x.jpg").write_bytes(jpeg_bytes())
    report = check_dataset("imagenet_r", root)
    assert report["mininet_world"] == str(world.resolve()) and report["expected_count"] is None
    assert report["problems"] == []
    assert check_dataset("imagenet_r", root, expect_count=3)["problems"] == [
        "2 samples, expected 3"
    ]


@pytest.mark.slow
def test_sketch_real_count_50889_passes(tmp_path):
    """1,000 wnid folders holding 50,889 files pass `check` against the registered count."""
    wnids = imagenet1k_wnids()
    top = tmp_path / "sketch"
    for i, wnid in enumerate(wnids):
        folder = top / wnid
        folder.mkdir(parents=True)
        for j in range(50 + (i < 889)):
            with open(folder / f"sketch_{j}.JPEG", "wb"):
                pass
    assert sum(len(os.listdir(top / w)) for w in wnids) == 50_889
    assert main(["datasets", "check", "imagenet_sketch", str(tmp_path), "--no-decode"]) == 0


def test_cli_check_json_and_exit_codes(tmp_path, capsys):
    wnid = subset_wnids("imagenet_o")[0]
    (tmp_path / wnid).mkdir()
    (tmp_path / wnid / "a.jpg").write_bytes(jpeg_bytes())
    assert main(["datasets", "check", "imagenet_o", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 1 and report["expected_count"] == 2000 and report["classes"] == 1
    assert main(["datasets", "check", "folder", str(tmp_path)]) == 0
    assert "OK" in capsys.readouterr().out
