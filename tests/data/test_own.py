"""Your own dataset: label spaces by class name, folder class maps, groups, seeded splits,
the one image decoder, and the plan-time checks (each a one-line error naming the fix)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from own_data import CLASSES, make_dataset
from PIL import Image

from shiftlab import config as study_config
from shiftlab.corrupt.imageio import load_rgb
from shiftlab.data.index import build_index, read_index, write_index
from shiftlab.data.own import FolderLayout, manifest_path, part_sizes
from shiftlab.errors import UserError
from shiftlab.labels import label_space

SPLIT = {"seed": 0, "train": 0.5, "val": 0.25, "test": 0.25}


@pytest.fixture
def own(tmp_path) -> tuple[Path, Path]:
    return make_dataset(tmp_path)


def test_label_space_file_of_names_wnids_and_pairs(tmp_path):
    path = tmp_path / "space.txt"
    path.write_text("# comment\ngood\ndefect   # trailing comment\ntench n01440764\nn01443537 goldfish\nn01484850 great white shark\n")  # fmt: skip
    space = label_space(str(path))
    assert space.wnids == ("good", "defect", "n01440764", "n01443537", "n01484850")
    assert space.names == ("", "", "tench", "goldfish", "")
    assert space.resolver()["tench"] == "n01440764" and space.resolver()["good"] == "good"
    path.write_text("good\nbad name here\n")
    with pytest.raises(UserError, match="line 2: expected `name`, `wnid` or `name wnid`"):
        label_space(str(path))


def test_folder_index_maps_class_names_and_class_map(own, tmp_path):
    tree, labels = own
    (tree / "good").rename(tree / "ok")  # a folder named otherwise, mapped in the config
    layout = FolderLayout(class_map={"ok": "good"}, groups={"by": "folder"})
    frame, meta = build_index("folder", tree, str(labels), "own", layout=layout)
    space = label_space(str(labels))
    assert sorted(frame["wnid"].unique()) == sorted(CLASSES)
    expected = [space.index(w) for w in frame["wnid"]]
    assert frame["target"].tolist() == expected and min(expected) >= 0
    assert frame["group"].tolist() == [s.rsplit("/", 1)[0] for s in frame["sample"]]
    assert meta["out_of_space"] == 0
    with pytest.raises(UserError, match="no folder samples"):
        build_index("folder", tree, "mininet", "own")  # names are no wnids of MiniNet


def test_split_is_seeded_stratified_and_keeps_groups_whole(own, tmp_path):
    tree, labels = own
    parts = {}
    for part in ("train", "val", "test"):
        layout = FolderLayout(groups={"by": "folder"}, split={"part": part, **SPLIT})
        frame, meta = build_index("folder", tree, str(labels), f"own-{part}", layout=layout)
        write_index(frame, meta, tmp_path / "index" / f"own-{part}.parquet")
        parts[part] = frame
    samples = [set(f["sample"]) for f in parts.values()]
    assert not (samples[0] & samples[1] or samples[0] & samples[2] or samples[1] & samples[2])
    assert sum(map(len, samples)) == 5 * 4 * 2
    for frame, groups in zip(parts.values(), (2, 1, 1), strict=True):  # 4 parts: 2/1/1
        assert (frame.groupby("wnid")["group"].nunique() == groups).all()
    groups = [set(f["group"]) for f in parts.values()]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    manifest = pd.read_csv(manifest_path(tmp_path / "index" / "own-test.parquet"))
    assert list(manifest.columns) == ["path", "class", "split", "group"]
    test = manifest[manifest["split"] == "test"]
    assert set(test["path"]) == samples[2]
    _, meta = read_index(tmp_path / "index" / "own-test.parquet")
    assert meta["split"]["counts"] == {"train": 20, "val": 10, "test": 10}
    again, _ = build_index("folder", tree, str(labels), "own-test",
                           layout=FolderLayout(groups={"by": "folder"}, split={"part": "test", **SPLIT}))  # fmt: skip
    assert again["sample"].tolist() == parts["test"]["sample"].tolist()
    other, _ = build_index("folder", tree, str(labels), "own-test",
                           layout=FolderLayout(groups={"by": "folder"}, split={"part": "test", **SPLIT, "seed": 5}))  # fmt: skip
    assert other["sample"].tolist() != parts["test"]["sample"].tolist()


def test_part_sizes_largest_remainder_and_one_each():
    assert part_sizes(10, (0.6, 0.2, 0.2)) == [6, 2, 2]
    assert part_sizes(7, (0.5, 0.25, 0.25)) == [3, 2, 2]  # 3.5/1.75/1.75: the .75s first
    assert part_sizes(3, (0.8, 0.1, 0.1)) == [1, 1, 1]
    assert part_sizes(1, (0.8, 0.1, 0.1)) == [1, 0, 0]


def test_groups_from_a_manifest_column(own, tmp_path):
    tree, labels = own
    for path in sorted(tree.glob("*/*/*.png")):  # flat: <class>/<file>, groups in a CSV
        path.rename(tree / path.parent.parent.name / path.name)
    frame, _ = build_index("folder", tree, str(labels), "own")
    csv = tmp_path / "groups.csv"
    pd.DataFrame({"path": frame["sample"], "part_id": frame["sample"].str[-8:-6]}).to_csv(csv, index=False)  # fmt: skip
    layout = FolderLayout(groups={"by": "manifest", "file": str(csv), "column": "part_id"})
    flat, _ = build_index("folder", tree, str(labels), "own", layout=layout)
    assert flat["group"].tolist() == frame["sample"].str[-8:-6].tolist()


def test_one_decoder_for_every_format(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    for ext in ("png", "bmp", "tiff", "webp"):
        path = tmp_path / f"x.{ext}"
        Image.fromarray(rgb).save(path, **({"lossless": True} if ext == "webp" else {}))
        assert np.array_equal(load_rgb(path).pixels, rgb), ext
    grey = rgb[..., 0]
    Image.fromarray(grey).save(tmp_path / "g.png")
    assert np.array_equal(load_rgb(tmp_path / "g.png").pixels, np.repeat(grey[..., None], 3, 2))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert np.array_equal(load_rgb(tmp_path / "a.png").pixels, rgb)  # alpha dropped, not composited
    deep = (rng.integers(0, 65536, (40, 56))).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")
    expected = ((deep.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)
    assert np.array_equal(load_rgb(tmp_path / "d.png").pixels[..., 1], expected)


def test_training_reads_the_decoders_pixels(own):
    from shiftlab.train.data import IndexDataset

    tree, labels = own
    frame, meta = build_index("folder", tree, str(labels), "own", layout=FolderLayout(groups={"by": "folder"}))  # fmt: skip
    index = tree.parent / "idx.parquet"
    write_index(frame, meta, index)
    data = IndexDataset(
        index, label_space(str(labels)), transform=lambda img, rng: np.asarray(img), seed=0
    )
    grey = next(i for i, s in enumerate(data.samples) if Image.open(tree / s).mode == "L")
    pixels, _ = data[grey]
    assert np.array_equal(pixels, load_rgb(tree / data.samples[grey]).pixels)


def _config(tree: Path, labels: Path, tmp_path: Path) -> dict:
    entry = {"kind": "folder", "source": "local", "path": str(tree), "groups": {"by": "folder"}}
    return {
        "study": "own", "label_space": str(labels), "data_dir": str(tmp_path / "d"),
        "results_dir": str(tmp_path / "r"),
        "benchmarks": {"own-train": {**entry, "split": {"part": "train", **SPLIT}},
                       "own-test": {**entry, "split": {"part": "test", **SPLIT}}},
        "runs": {"r": {"model": "resnet10t", "recipe": "ft", "train_data": "own-train"}},
        "recipes": {"ft": {"base": "baseline", "epochs": 1}},
        "stats": {"clean_benchmark": "own-test"},
    }  # fmt: skip


def _problems(cfg: dict) -> list[str]:
    with pytest.raises(UserError) as info:
        study_config.validate(copy.deepcopy(cfg))
    return str(info.value).splitlines()[1:]


def test_a_valid_own_dataset_config_passes(own, tmp_path):
    study_config.validate(_config(*own, tmp_path))


@pytest.mark.parametrize(
    "breakage, words",
    [
        ("stranger", ["benchmarks.own-train.path", "'stranger'", "name no class", "class_map"]),
        ("empty", ["benchmarks.own-train.path", "'dent'", "hold no image"]),
        ("corrupt", ["benchmarks.own-train.path", "crack-01-0.png", "cannot decode image"]),
        ("single", ["benchmarks.own-train.groups", "'good/part03'", "hold one image"]),
        ("missing", ["benchmarks.own-train.path", "'stain'", "have no folder"]),
    ],
)
def test_bad_input_is_one_line_before_any_job(own, tmp_path, breakage, words):
    tree, labels = own
    if breakage == "stranger":
        (tree / "stranger" / "p0").mkdir(parents=True)
        Image.new("RGB", (40, 40)).save(tree / "stranger" / "p0" / "x.png")
    elif breakage == "empty":
        for path in sorted((tree / "dent").rglob("*.png")):
            path.unlink()
    elif breakage == "corrupt":
        path = tree / "crack" / "part01" / "crack-01-0.png"
        path.write_bytes(path.read_bytes()[:60])
    elif breakage == "single":
        (tree / "good" / "part03" / "good-03-1.png").unlink()
    else:
        labels.write_text(labels.read_text() + "pit\n")
        words = ["benchmarks.own-train.path", "'pit'", "have no folder"]
    problems = _problems(_config(tree, labels, tmp_path))
    hits = [p for p in problems if all(w in p for w in words)]
    assert hits, problems
    assert len(hits[0].splitlines()) == 1


def test_derived_sets_need_distinct_stems_per_class(own, tmp_path):
    tree, labels = own
    cfg = _config(tree, labels, tmp_path)
    cfg["benchmarks"]["own-c"] = {"kind": "imagenet_c", "source": "derived", "from": "own-train"}
    study_config.validate(copy.deepcopy(cfg))
    clash = tree / "good" / "part01" / "good-00-0.png"  # the stem of a capture of part00
    (tree / "good" / "part01" / "good-01-0.png").rename(clash)
    problems = _problems(cfg)
    assert any("have one file stem in class 'good'" in p for p in problems), problems


def test_datasets_check_reads_class_names_and_groups(own):
    from shiftlab.data.check import check_dataset

    tree, labels = own
    layout = FolderLayout(groups={"by": "folder"})
    report = check_dataset("folder", tree, space_spec=str(labels), layout=layout)
    assert report["problems"] == [] and report["n"] == 5 * 4 * 2
    assert check_dataset("folder", tree)["problems"]  # names are no wnids without the space


def test_index_rule_gets_the_layout_and_the_groups_manifest(own, tmp_path):
    from shiftlab.workflow import Study

    tree, labels = own
    cfg = study_config.validate(_config(tree, labels, tmp_path))
    study = Study(cfg)
    args = study.index_args("own-test")
    assert "--folder-json" in args and '"part": "test"' in args
    assert study.dataset_ready("own-test") == [] and study.eval_benchmarks() == ["own-test"]
    csv = tmp_path / "groups.csv"
    csv.write_text("path,group\n")
    cfg["benchmarks"]["own-test"]["groups"] = {
        "by": "manifest",
        "file": str(csv),
        "column": "group",
    }
    assert Study(cfg).dataset_ready("own-test") == [str(csv)]
