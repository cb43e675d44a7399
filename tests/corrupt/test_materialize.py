"""`shiftlab corrupt`: layouts, manifest, determinism, sharding, resume, and on-the-fly parity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from shiftlab.cli import main
from shiftlab.corrupt import image_seed
from shiftlab.corrupt.cells import Cell, corrupt_cells, parse_cell, parse_settings, plan_cells
from shiftlab.corrupt.materialize import Job, materialize, read_manifest
from shiftlab.corrupt.video import read_video
from shiftlab.errors import UserError
from shiftlab.hashing import sha256_file

WNIDS = ("n01514859", "n02123045")
C_SETTINGS = {"params": "tiny", "names": ["gaussian_noise", "contrast"], "severities": [1, 3]}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Five 64-px images in two classes (one greyscale, one PNG) and their index."""
    from skimage import data

    base = tmp_path_factory.mktemp("dataset")
    root = base / "val"
    photo = np.asarray(Image.fromarray(data.astronaut()).resize((128, 128), Image.BILINEAR))
    rows = []
    for i in range(5):
        wnid = WNIDS[i % 2]
        crop = photo[i * 12 : i * 12 + 64, i * 10 : i * 10 + 72]
        name = f"ILSVRC2012_val_{i:08d}." + ("png" if i == 4 else "JPEG")
        (root / wnid).mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(crop)
        if i == 3:
            img = img.convert("L")
        img.save(root / wnid / name, **({"quality": 95} if name.endswith("JPEG") else {}))
        rows.append({"sample": f"{wnid}/{name}", "target": i % 2, "wnid": wnid, "variant": ""})
    frame = pd.DataFrame(rows).sort_values(["variant", "sample"])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {
        "kind": "imagenet_val",
        "root": str(root),
        "benchmark": "val",
        "label_space": "mininet",
        "fingerprint": "test",
        "n": len(rows),
    }
    table = table.replace_schema_metadata({b"shiftlab": json.dumps(meta).encode()})
    pq.write_table(table, base / "val.parquet")
    return base / "val.parquet"


def run_job(
    index: Path, out: Path, kind: str = "c", settings=None, shard=(0, 1), fmt: str = "jpeg"
) -> Path | None:
    job = Job(
        index=index,
        kind=kind,
        out=out,
        seed=7,
        settings=parse_settings(settings or C_SETTINGS),
        shard=shard,
        fmt=fmt,
    )
    return materialize(job, progress=False)


def file_hashes(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): sha256_file(p)
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and not p.relative_to(out).parts[0].startswith(".")
        and p.name != "manifest.parquet"
    }


def test_imagenet_c_layout_and_manifest(dataset, tmp_path, caplog):
    import logging

    out = tmp_path / "val-c"
    with caplog.at_level(logging.INFO):
        manifest_path = run_job(dataset, out)
    assert manifest_path == out / "manifest.parquet"
    manifest = read_manifest(manifest_path)
    assert list(manifest.columns) == ["file", "sample", "wnid", "variant", "seed", "sha256"]
    assert len(manifest) == 5 * 4
    assert "gaussian_noise/3/n01514859/ILSVRC2012_val_00000000.JPEG" in set(manifest.file)
    assert "contrast/1/n01514859/ILSVRC2012_val_00000004.JPEG" in set(
        manifest.file
    )  # .png -> .JPEG
    assert set(manifest.variant) == {
        "gaussian_noise/1",
        "gaussian_noise/3",
        "contrast/1",
        "contrast/3",
    }
    for row in manifest.itertuples():
        assert sha256_file(out / row.file) == row.sha256
        name, severity = row.variant.split("/")
        assert row.seed == image_seed(7, row.sample, name, int(severity))
    with Image.open(out / manifest.file[0]) as img:
        assert img.format == "JPEG" and img.size == (72, 64)
    assert any("greyscale" in r.getMessage() for r in caplog.records)  # the converted image


def test_same_seed_same_bytes_and_sharding_does_not_matter(dataset, tmp_path):
    whole = tmp_path / "whole"
    run_job(dataset, whole)
    again = tmp_path / "again"
    run_job(dataset, again)
    assert file_hashes(whole) == file_hashes(again)

    sharded = tmp_path / "sharded"
    assert run_job(dataset, sharded, shard=(1, 3)) is None  # parts missing: no manifest yet
    assert run_job(dataset, sharded, shard=(0, 3)) is None
    assert run_job(dataset, sharded, shard=(2, 3)) == sharded / "manifest.parquet"
    assert file_hashes(sharded) == file_hashes(whole)
    columns = ["file", "sample", "wnid", "variant", "seed", "sha256"]
    pd.testing.assert_frame_equal(
        read_manifest(sharded / "manifest.parquet")[columns],
        read_manifest(whole / "manifest.parquet")[columns],
    )
    parts = sorted(p.name for p in (sharded / ".shards").glob("*.parquet"))
    assert parts == ["0-of-3.parquet", "1-of-3.parquet", "2-of-3.parquet"]


def test_resume_after_losing_a_shard(dataset, tmp_path):
    out = tmp_path / "resume"
    for i in range(2):
        run_job(dataset, out, shard=(i, 2))
    reference = file_hashes(out)
    untouched = out / read_manifest(out / ".shards" / "0-of-2.parquet").file[0]
    stamp = untouched.stat().st_mtime_ns
    lost = read_manifest(out / ".shards" / "1-of-2.parquet").file[0]
    (out / ".shards" / "1-of-2.parquet").unlink()
    (out / "manifest.parquet").unlink()
    (out / lost).unlink()
    run_job(dataset, out, shard=(0, 2))  # complete: skipped, manifest still waits for shard 1
    assert not (out / "manifest.parquet").exists()
    run_job(dataset, out, shard=(1, 2))
    assert file_hashes(out) == reference
    assert untouched.stat().st_mtime_ns == stamp
    assert len(read_manifest(out / "manifest.parquet")) == 20
    with pytest.raises(UserError, match="different settings"):
        run_job(dataset, out, settings={**C_SETTINGS, "severities": [2]})


def test_on_the_fly_pixels_equal_materialized_png(dataset, tmp_path):
    from shiftlab.corrupt.imageio import load_rgb

    out = tmp_path / "png"
    run_job(dataset, out, fmt="png")
    manifest = read_manifest(out / "manifest.parquet")
    sample = "n02123045/ILSVRC2012_val_00000003.JPEG"  # the greyscale one
    image = load_rgb(_root(dataset) / sample).pixels
    cells = plan_cells("c", C_SETTINGS)
    for variant, pixels in corrupt_cells(image, sample, [c.variant for c in cells], 7, C_SETTINGS):
        row = manifest[(manifest["sample"] == sample) & (manifest["variant"] == variant)].iloc[0]
        assert np.array_equal(np.asarray(Image.open(out / row.file)), pixels)


def _root(index: Path) -> Path:
    return Path(json.loads(pq.read_schema(index).metadata[b"shiftlab"])["root"])


def test_imagenet_p_sequences(dataset, tmp_path):
    settings = {
        "params": "tiny",
        "perturbations": ["gaussian_noise", "translate"],
        "difficulty": [1, 3],
        "x264_preset": "ultrafast",
    }
    out = tmp_path / "val-p"
    run_job(dataset, out, kind="p", settings=settings)
    manifest = read_manifest(out / "manifest.parquet")
    assert set(manifest.variant) == {"gaussian_noise", "gaussian_noise_3", "translate"}
    assert len(manifest) == 5 * 3
    path = out / "gaussian_noise_3" / "n01514859" / "ILSVRC2012_val_00000000.mp4"
    frames = read_video(path)
    assert frames.shape == (31, 64, 64, 3)
    sample = "n01514859/ILSVRC2012_val_00000000.JPEG"
    from shiftlab.corrupt.imageio import load_rgb

    image = load_rgb(_root(dataset) / sample).pixels
    ((_, expected),) = corrupt_cells(image, sample, ["gaussian_noise_3"], 7, settings, kind="p")
    ((_, other_seed),) = corrupt_cells(image, sample, ["gaussian_noise_3"], 8, settings, kind="p")
    # the same noise draws, up to lossy H.264 (noise costs many bits: ~25 dB at crf 23 / grain)
    assert psnr(frames, expected) > psnr(frames, other_seed) + 1
    ((_, expected),) = corrupt_cells(image, sample, ["translate"], 7, settings, kind="p")
    assert (
        psnr(read_video(out / "translate" / "n01514859" / "ILSVRC2012_val_00000000.mp4"), expected)
        > 30
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def test_transforms_layout(dataset, tmp_path):
    settings = {"transforms": {"hflip": {}, "crop_shift": {"max_shift": 2}}}
    out = tmp_path / "val-t"
    run_job(dataset, out, kind="t", settings=settings, fmt="png")
    manifest = read_manifest(out / "manifest.parquet")
    assert set(manifest.variant) == {"hflip", "crop_shift_0", "crop_shift_1", "crop_shift_2"}
    flipped = np.asarray(Image.open(out / "hflip" / "n01514859" / "ILSVRC2012_val_00000004.png"))
    original = np.asarray(Image.open(_root(dataset) / "n01514859" / "ILSVRC2012_val_00000004.png"))
    assert np.array_equal(flipped, original[:, ::-1])


def test_cells_and_settings():
    assert parse_cell("c", "fog/3") == Cell("c", "fog", 3)
    assert parse_cell("p", "shot_noise_2") == Cell("p", "shot_noise", 2)
    assert parse_cell("t", "embed_black_4").variant == "embed_black_4"
    assert len(plan_cells("c", {})) == 19 * 5
    p_cells = plan_cells("p", {"difficulty": [1, 2, 3]})
    assert len(p_cells) == 14 + 2 * 3  # only the three noise sequences have _2/_3 folders
    with pytest.raises(UserError, match="unknown key.*severity"):
        parse_settings({"severity": [1]})
    with pytest.raises(UserError, match="severities"):
        parse_settings({"severities": [0, 6]})
    with pytest.raises(UserError, match="unknown corruption 'smoke'"):
        plan_cells("c", {"names": ["smoke"]})


def test_cli_end_to_end_and_errors(dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    params = json.dumps({"params": "tiny", "names": ["brightness"], "severities": [2]})
    for i in range(2):
        code = main(
            [
                "corrupt",
                "--index",
                str(dataset),
                "--kind",
                "c",
                "--out",
                str(out),
                "--seed",
                "7",
                "--params-json",
                params,
                "--shard",
                f"{i}/2",
                "--quiet",
            ]
        )
        assert code == 0
    (out / "manifest.parquet").unlink()
    assert (
        main(
            [
                "corrupt",
                "--index",
                str(dataset),
                "--kind",
                "c",
                "--out",
                str(out),
                "--seed",
                "7",
                "--params-json",
                params,
                "--merge",
            ]
        )
        == 0
    )
    assert len(read_manifest(out / "manifest.parquet")) == 5
    code = main(
        [
            "corrupt",
            "--index",
            str(dataset),
            "--kind",
            "c",
            "--out",
            str(tmp_path / "bad"),
            "--seed",
            "7",
            "--params-json",
            '{"nmes": []}',
        ]
    )
    assert code == 2
    assert "unknown key(s) nmes" in capsys.readouterr().err
    assert (
        main(
            [
                "corrupt",
                "--index",
                str(dataset),
                "--kind",
                "c",
                "--out",
                str(out),
                "--seed",
                "7",
                "--shard",
                "2/2",
            ]
        )
        == 2
    )


@pytest.mark.parametrize("quality", [85, 30, 100])
def test_jpeg_files_have_the_bytes_pil_writes(quality):
    """Materialized JPEGs come from torchvision's encoder; a file must be byte-identical
    to PIL's ``save(quality=q)`` (the official ImageNet-C writer), odd sizes included."""
    import io

    from skimage import data

    from shiftlab.corrupt.materialize import encode_image

    rng = np.random.default_rng(quality)
    for image in (
        data.chelsea(),
        data.astronaut()[13:110, 7:138],
        rng.integers(0, 256, (33, 47, 3), np.uint8),
    ):
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="JPEG", quality=quality)
        assert encode_image(image, "jpeg", quality) == buffer.getvalue()
