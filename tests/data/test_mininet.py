"""MiniNet world: deterministic bytes, official layouts, learnable, readable by the readers."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shiftlab.cli import main
from shiftlab.data.mininet.items import ValPlan, item_rng, plan
from shiftlab.data.mininet.spec import CLASSES, MANIFEST, SUBSETS, MiniNetParams
from shiftlab.data.mininet.write import encode, generate, manifest_digest
from shiftlab.errors import UserError
from shiftlab.labels import MININET_WNIDS

TINY = MiniNetParams(seed=0, image_size=32, train_per_class=2, val_per_class=2, shifted_per_class=2)
CATEGORIES_16 = {
    "airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat",
    "chair", "clock", "dog", "elephant", "keyboard", "knife", "oven", "truck",
}  # fmt: skip
INDEX = {c.wnid: c.imagenet_index for c in CLASSES}
IMAGE_SUFFIXES = {".JPEG", ".jpeg", ".jpg", ".png"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mininet") / "world"
    generate(root, TINY)
    return root


@pytest.fixture(scope="module")
def manifest(world) -> dict:
    return json.loads((world / MANIFEST).read_text())


def files_under(root: Path, rel: str) -> list[Path]:
    return sorted(p for p in (root / rel).rglob("*") if p.is_file())


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(world, manifest, tmp_path):
    again = tmp_path / "again"
    generate(again, TINY)
    assert (again / MANIFEST).read_bytes() == (world / MANIFEST).read_bytes()
    on_disk = sorted(p.relative_to(world).as_posix() for p in world.rglob("*") if p.is_file())
    assert on_disk == sorted([*manifest["files"], MANIFEST])
    for rel, sha in manifest["files"].items():
        data = (world / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha, rel
        assert (again / rel).read_bytes() == data, rel
    assert manifest["digest"] == manifest_digest(manifest["files"])


def test_different_seed_changes_every_image(world, manifest, tmp_path):
    other = generate(tmp_path / "other", MiniNetParams(**{**TINY.__dict__, "seed": 1}))
    assert other["digest"] != manifest["digest"]

    def image_hashes(m: dict) -> set[str]:
        return {sha for rel, sha in m["files"].items() if Path(rel).suffix in IMAGE_SUFFIXES}

    assert not image_hashes(other) & image_hashes(manifest)
    assert other["counts"] == manifest["counts"]


def test_an_image_does_not_depend_on_generation_order(manifest):
    items = list(plan(TINY))
    for item in items[::-1][:: max(1, len(items) // 12)]:  # a spread of benchmarks, backwards
        pixels = item.render(item_rng(TINY.seed, item.stream, item.cls, item.k))
        data = encode(pixels, Path(item.path).suffix)
        assert hashlib.sha256(data).hexdigest() == manifest["files"][item.path], item.path


# --- layouts -------------------------------------------------------------------------------------


def test_train_and_val_layout(world, manifest):
    train = files_under(world, "imagenet/train")
    assert len(train) == 10 * TINY.train_per_class == manifest["counts"]["imagenet/train"]
    for p in train:
        assert p.parent.name in MININET_WNIDS and re.fullmatch(
            rf"{p.parent.name}_\d+\.JPEG", p.name
        )
    val = files_under(world, "imagenet/val")
    numbers = sorted(int(re.fullmatch(r"ILSVRC2012_val_(\d{8})\.JPEG", p.name)[1]) for p in val)
    assert numbers == list(range(1, len(val) + 1))  # global and unique
    first_class = [p.parent.name for p in sorted(val, key=lambda p: p.name)][
        : TINY.val_per_class + 1
    ]
    assert len(set(first_class)) > 1  # shuffled across classes, not blocked by class
    with Image.open(train[0]) as img:
        assert img.format == "JPEG" and img.mode == "RGB" and img.size == (32, 32)
        assert "exif" not in img.info


def test_v2_folders_are_decimal_imagenet_indices(world):
    for variant in ("matched-frequency", "threshold0.7", "top-images"):
        top = world / f"imagenetv2-{variant}-format-val"
        folders = sorted(p.name for p in top.iterdir())
        assert sorted(folders, key=int) == [str(c.imagenet_index) for c in CLASSES]
        assert folders != sorted(folders, key=int)  # a string sort would mislabel
        for p in files_under(world, top.name):
            assert re.fullmatch(r"[0-9a-f]{40}\.jpeg", p.name), p.name
        assert len(files_under(world, top.name)) == 10 * TINY.shifted_per_class


def test_sketch_is_greyscale_line_art(world):
    files = files_under(world, "sketch")
    assert {p.parent.name for p in files} == set(MININET_WNIDS)
    assert all(p.suffix == ".JPEG" for p in files)
    with Image.open(files[0]) as img:
        assert img.mode == "RGB"
        px = np.asarray(img, dtype=np.int16)
    assert np.abs(px[..., 0] - px[..., 1]).max() <= 8  # grey up to JPEG chroma rounding


def test_r_a_o_class_subsets_and_files(world, manifest):
    r = files_under(world, "imagenet-r")
    assert {p.parent.name for p in r} == set(SUBSETS["imagenet-r"]) and len(
        SUBSETS["imagenet-r"]
    ) == 8
    assert all(p.suffix == ".jpg" for p in r)

    a_root = world / "imagenet-a"
    assert (a_root / "README.txt").is_file()
    listed = (a_root / "README.txt").read_text().splitlines()[11:]
    assert [line.split()[0] for line in listed] == list(SUBSETS["imagenet-a"])
    a = [p for p in files_under(world, "imagenet-a") if p.name != "README.txt"]
    assert {p.parent.name for p in a} == set(SUBSETS["imagenet-a"]) and len(
        SUBSETS["imagenet-a"]
    ) == 7
    assert {p.suffix for p in a} == {".jpg", ".JPEG"}
    assert set(SUBSETS["imagenet-a"]) != set(SUBSETS["imagenet-r"])

    o = files_under(world, "imagenet-o")
    assert {p.parent.name for p in o} == set(SUBSETS["imagenet-o"]) and len(
        SUBSETS["imagenet-o"]
    ) == 6
    assert manifest["subsets"] == {k: list(v) for k, v in SUBSETS.items()}


def test_real_json_matches_val_files(world):
    val = sorted(files_under(world, "imagenet/val"), key=lambda p: p.name)
    real = json.loads((world / "real.json").read_text())
    assert len(real) == len(val)
    assert all(isinstance(x, list) and all(isinstance(i, int) for i in x) for x in real)
    sizes = Counter(len(x) for x in real)
    assert sizes[0] >= 1 and sizes[2] >= 1 and sizes[1] > len(real) // 2
    for path, labels in zip(val, real, strict=True):
        if labels:  # the folder's class is always among a non-empty label set
            assert INDEX[path.parent.name] in labels and labels == sorted(labels)


def test_real_fractions_at_demo_size():
    real = ValPlan.make(MiniNetParams()).real_labels()
    sizes = Counter(len(x) for x in real)
    assert (len(real), sizes[0], sizes[2]) == (100, 5, 10)


def test_cue_conflict_names_parse(world):
    files = files_under(world, "cue-conflict")
    pairs = []
    for p in files:
        m = re.fullmatch(r"([a-z]+)(\d+)-([a-z]+)(\d+)\.png", p.name)
        assert m and m[1] == p.parent.name, p.name
        assert {m[1], m[3]} <= CATEGORIES_16
        pairs.append((m[1], m[3]))
        with Image.open(p) as img:
            assert img.format == "PNG" and "exif" not in img.info
    shapes = {s for s, _ in pairs}
    assert shapes == {c.category for c in CLASSES if c.category}  # 9; the turtle has none
    same = [s for s, t in pairs if s == t]
    assert len(same) == len(shapes)  # one same-category row per shape: the metric drops them
    assert len(pairs) - len(same) == len(shapes) * TINY.shifted_per_class


# --- atomic writing and the CLI ------------------------------------------------------------------


def test_regenerating_replaces_the_world_and_leaves_no_temp(tmp_path):
    out = tmp_path / "w"
    small = MiniNetParams(image_size=16, train_per_class=1, val_per_class=1, shifted_per_class=1)
    generate(out, small)
    (out / MANIFEST).unlink()  # as Snakemake does before re-running a rule
    m = generate(out, MiniNetParams(**{**small.__dict__, "seed": 3}))
    assert json.loads((out / MANIFEST).read_text())["digest"] == m["digest"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_refuses_foreign_folder_and_bad_params(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(UserError, match="refusing"):
        generate(tmp_path / "mine", TINY)
    assert (tmp_path / "mine" / "thesis.tex").is_file()
    with pytest.raises(UserError, match="image size"):
        generate(tmp_path / "x", MiniNetParams(image_size=8))
    with pytest.raises(UserError, match="train_per_class"):
        generate(tmp_path / "x", MiniNetParams(train_per_class=0))
    assert not (tmp_path / "x").exists()


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["mininet", "--out", str(out), "--seed", "5", "--image-size", "16"]
    args += ["--train-per-class", "1", "--val-per-class", "1", "--shifted-per-class", "1"]
    assert main(args) == 0
    assert "MiniNet seed 5" in capsys.readouterr().out
    assert json.loads((out / MANIFEST).read_text())["params"]["seed"] == 5
    assert main(["mininet", "--out", str(out), "--image-size", "4"]) == 2


# --- learnable, not trivial ----------------------------------------------------------------------


def test_world_is_learnable(tmp_path):
    """A linear model on Fourier magnitudes (texture cues only) beats chance (0.1) clearly."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    root = tmp_path / "learn"
    generate(
        root,
        MiniNetParams(
            seed=1, image_size=32, train_per_class=20, val_per_class=10, shifted_per_class=1
        ),
    )

    def load(split: str) -> tuple[np.ndarray, np.ndarray]:
        paths = files_under(root, f"imagenet/{split}")
        grey = np.stack(
            [np.asarray(Image.open(p).convert("L"), dtype=np.float32) / 255 for p in paths]
        )
        grey -= grey.mean(axis=(1, 2), keepdims=True)
        spectrum = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(grey), axes=(1, 2))))
        feats = spectrum.reshape(len(paths), 16, 2, 16, 2).mean(axis=(2, 4)).reshape(len(paths), -1)
        return feats, np.array([MININET_WNIDS.index(p.parent.name) for p in paths])

    x_train, y_train = load("train")
    x_val, y_val = load("val")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.05))
    accuracy = clf.fit(x_train, y_train).score(x_val, y_val)
    assert 0.35 < accuracy < 1.0


# --- readable by the dataset readers (the same code that reads the real layouts) -----------------


@pytest.mark.parametrize(
    "kind, rel, variant, count_key",
    [
        ("imagenet_train", "imagenet/train", None, "imagenet/train"),
        ("imagenet_val", "imagenet/val", None, "imagenet/val"),
        ("imagenet_v2", ".", "matched-frequency", "imagenetv2-matched-frequency-format-val"),
        ("imagenet_v2", ".", "threshold0.7", "imagenetv2-threshold0.7-format-val"),
        ("imagenet_v2", ".", "top-images", "imagenetv2-top-images-format-val"),
        ("imagenet_sketch", "sketch", None, "sketch"),
        ("imagenet_a", "imagenet-a", None, "imagenet-a"),
        ("imagenet_r", "imagenet-r", None, "imagenet-r"),
        ("imagenet_o", "imagenet-o", None, "imagenet-o"),
        ("cue_conflict", "cue-conflict", None, "cue-conflict"),
    ],
)
def test_readers_index_every_benchmark(world, manifest, kind, rel, variant, count_key):
    from shiftlab.data.check import check_dataset
    from shiftlab.data.index import build_index

    root = world / rel
    frame, meta = build_index(kind, root, "mininet", kind, variant=variant, fingerprint=False)
    assert meta["n"] == len(frame) == manifest["counts"][count_key]
    report = check_dataset(kind, root, variant=variant)
    assert report["problems"] == [] and report["mininet_world"] == str(world.resolve())
    if kind == "cue_conflict":
        for sample, shape, texture in zip(
            frame["sample"], frame["shape"], frame["texture"], strict=True
        ):
            m = re.fullmatch(r"([a-z]+)/([a-z]+)\d+-([a-z]+)\d+\.png", sample)
            assert (m[1], m[3]) == (shape, texture)
        return
    space = sorted(MININET_WNIDS)
    for sample, wnid, target in zip(frame["sample"], frame["wnid"], frame["target"], strict=True):
        folder = sample.split("/")[0]
        assert wnid == (
            folder
            if kind != "imagenet_v2"
            else CLASSES[[c.imagenet_index for c in CLASSES].index(int(folder))].wnid
        )
        assert target == space.index(wnid)


def test_readers_attach_real_labels(world):
    from shiftlab.data.index import build_index

    frame, meta = build_index(
        "imagenet_real", world / "imagenet/val", "mininet", "real", fingerprint=False
    )
    real = json.loads((world / "real.json").read_text())
    assert len(frame) == len(real) and meta["real_empty"] == sum(1 for r in real if not r)
    space = sorted(MININET_WNIDS)
    by_name = {
        Path(s).name: labels for s, labels in zip(frame["sample"], frame["labels"], strict=True)
    }
    for i, labels in enumerate(real):
        wnids = [c.wnid for c in CLASSES if c.imagenet_index in labels]
        assert sorted(by_name[f"ILSVRC2012_val_{i + 1:08d}.JPEG"]) == sorted(
            space.index(w) for w in wnids
        )
