"""Materialize corrupted copies of a dataset (ImageNet-C / -P / transforms layouts).

The pixels of every output come from ``cells.corrupt_cells``; this module encodes them and
writes them to disk, resumably and in shards.

Layouts under ``out``:
- kind ``c``: ``<corruption>/<severity>/<wnid>/<stem>.JPEG`` (quality 85, as the official
  ImageNet-C files) or ``.png``;
- kind ``p``: ``<perturbation>[_<difficulty>]/<wnid>/<stem>.mp4`` (H.264, see ``video``);
- kind ``t``: ``<transform>/<wnid>/<stem>.JPEG`` or ``.png``.

Work is split into shards by sample (``--shard i/n`` takes samples i, i+n, ... of the
sorted list), so the output never depends on the shard count. Every file is written to a
temporary name and renamed, so a file that exists is complete; a shard's manifest part
(``.shards/<i>-of-<n>.parquet``) is written last and marks the shard done. A re-run skips
finished shards and, inside an unfinished one, files that already exist. The settings of
the first run are pinned in ``.shards/settings.json``; a re-run with other settings is
refused rather than mixing outputs. When all parts of a sharding exist, they are combined
into ``manifest.parquet`` (file, sample, wnid, variant, seed, sha256).
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from shiftlab.atomic import atomic_path, write_bytes
from shiftlab.corrupt.cells import FORMATS, Cell, Settings, corrupt_cells, plan_cells
from shiftlab.errors import UserError

log = logging.getLogger(__name__)

MANIFEST = "manifest.parquet"
SHARD_DIR = ".shards"
MANIFEST_COLUMNS = ("file", "sample", "wnid", "variant", "seed", "sha256")


# ---- encoding and atomic writes ------------------------------------------------------------------


def encode_image(pixels: np.ndarray, fmt: str, jpeg_quality: int = 85) -> bytes:
    """JPEG (4:2:0, as the official ImageNet-C files) or PNG bytes of a uint8 image.

    JPEG goes through torchvision's libjpeg-turbo, which writes the same bytes as PIL's
    ``save(format="JPEG", quality=q)`` (tested) at a quarter less time per file.
    """
    if fmt == "jpeg":
        from shiftlab.corrupt.ops.digital import encode_jpeg_hwc

        return encode_jpeg_hwc(pixels, jpeg_quality).numpy().tobytes()
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


# ---- materialization ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One run of ``shiftlab corrupt``: which index, how, where, and which shard of it."""

    index: Path
    kind: str
    out: Path
    seed: int
    settings: Settings
    shard: tuple[int, int] = (0, 1)
    fmt: str = "jpeg"


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` (0-based i) -> (i, n)."""
    if text is None:
        return 0, 1
    try:
        first, second = text.split("/")
        i, n = int(first), int(second)
    except ValueError:
        raise UserError(f"--shard {text!r}: expected i/n with integers, e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise UserError(
            f"--shard {text!r}: need n >= 1 and 0 <= i < n (shards are numbered from 0)"
        )
    return i, n


def load_samples(index: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """Distinct (sample, wnid) pairs of an index, sorted by sample, plus its metadata."""
    from shiftlab.data import read_index

    frame, meta = read_index(index)
    missing = {"sample", "wnid"} - set(frame.columns)
    if missing:
        raise UserError(f"{index}: index lacks column(s) {', '.join(sorted(missing))}")
    if "root" not in meta:
        raise UserError(f"{index}: index metadata lacks `root` (the dataset folder)")
    pairs = frame[["sample", "wnid"]].drop_duplicates("sample").sort_values("sample", kind="stable")
    return [(str(s), str(w)) for s, w in pairs.itertuples(index=False)], meta


def output_stem(sample: str, wnid: str) -> tuple[str, str]:
    """(class folder, file stem): the index's wnid, else the sample's parent folder."""
    path = PurePosixPath(sample)
    folder = wnid or (path.parent.name if path.parent.name else "unlabelled")
    return folder, path.stem


def _settings_record(job: Job, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that decide the bytes, as JSON: pinned per output folder and recorded."""
    settings = {k: v for k, v in asdict(job.settings).items() if k != "shards"}
    return {
        "kind": job.kind,
        "seed": job.seed,
        "format": job.fmt,
        "settings": json.loads(json.dumps(settings)),
        "dataset_fingerprint": meta.get("fingerprint"),
    }


def _pin_settings(job: Job, meta: Mapping[str, Any]) -> None:
    """Record the first run's settings; refuse a later run whose outputs would differ."""
    path = job.out / SHARD_DIR / "settings.json"
    record = _settings_record(job, meta)
    if path.exists():
        previous = json.loads(path.read_text())
        if previous != record:
            changed = sorted(k for k in record if previous.get(k) != record[k])
            raise UserError(
                f"{job.out} holds outputs made with different settings ({', '.join(changed)}); "
                "delete the folder or choose another --out"
            )
        return
    write_bytes(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


def part_path(out: Path, shard: tuple[int, int]) -> Path:
    """The manifest part of one shard: its existence marks the shard done."""
    return out / SHARD_DIR / f"{shard[0]}-of-{shard[1]}.parquet"


def materialize(job: Job, progress: bool = True) -> Path | None:
    """Run one shard (skipped when its part exists); merge when every part is present.

    Returns the manifest path once the whole dataset is done, else None.
    """
    if job.fmt not in FORMATS:
        raise UserError(f"--format {job.fmt!r}; allowed: {', '.join(FORMATS)}")
    samples, meta = load_samples(job.index)
    root = Path(meta["root"])
    if not root.is_dir():
        raise UserError(f"{job.index}: dataset root {root} (index metadata `root`) is not a folder")
    cells = plan_cells(job.kind, job.settings)
    _check_unique_outputs(samples, job.index)
    _pin_settings(job, meta)
    part = part_path(job.out, job.shard)
    if part.exists():
        log.info("shard %d/%d already complete (%s); skipping", *job.shard, part)
    else:
        _run_shard(job, meta, root, samples, cells, progress)
    return merge(job, meta, required=False)


def _run_shard(
    job: Job,
    meta: Mapping[str, Any],
    root: Path,
    samples: list[tuple[str, str]],
    cells: list[Cell],
    progress: bool,
) -> None:
    """Write this shard's missing files, then its manifest part, which marks the shard done."""
    import pandas as pd
    from tqdm import tqdm

    rows: list[dict[str, Any]] = []
    conversions: Counter[str] = Counter()
    folders: set[Path] = set()
    mine = samples[job.shard[0] :: job.shard[1]]
    bar = tqdm(
        mine,
        desc=f"corrupt {job.kind} {job.shard[0]}/{job.shard[1]}",
        unit="img",
        disable=not progress,
        mininterval=5.0,
    )
    for sample, wnid in bar:
        rows += _sample_rows(job, root, sample, wnid, cells, conversions, folders)
    for conversion, count in sorted(conversions.items()):
        log.info("converted %d image(s) from %s to RGB", count, conversion)
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    _write_manifest(frame, part_path(job.out, job.shard), job, meta)
    log.info("shard %d/%d: %d samples, %d files", *job.shard, len(mine), len(rows))


def _sample_rows(
    job: Job,
    root: Path,
    sample: str,
    wnid: str,
    cells: list[Cell],
    conversions: Counter[str],
    folders: set[Path],
) -> list[dict[str, Any]]:
    """The manifest rows of one sample, writing only the cells whose file is missing."""
    from hashlib import sha256

    folder, stem = output_stem(sample, wnid)
    targets = {cell: cell.relpath(folder, stem, job.fmt) for cell in cells}
    todo = [cell for cell in cells if not (job.out / targets[cell]).exists()]
    produced = _write_cells(job, root, sample, todo, targets, conversions, folders) if todo else {}
    rows = []
    for cell in cells:
        data = produced.get(cell)
        digest = (
            sha256(data).hexdigest() if data is not None else _sha256_path(job.out / targets[cell])
        )
        rows.append(
            {
                "file": targets[cell],
                "sample": sample,
                "wnid": wnid,
                "variant": cell.variant,
                "seed": np.uint64(cell.seed(job.seed, sample)),
                "sha256": digest,
            }
        )
    return rows


def _write_cells(
    job: Job,
    root: Path,
    sample: str,
    todo: list[Cell],
    targets: Mapping[Cell, str],
    conversions: Counter[str],
    folders: set[Path],
) -> dict[Cell, bytes]:
    """Decode one sample once, corrupt it into each cell of `todo` and write each file."""
    from shiftlab.corrupt.imageio import load_rgb
    from shiftlab.corrupt.sequences import is_noise
    from shiftlab.corrupt.video import write_video

    decoded = load_rgb(root / sample)
    if decoded.conversion:
        conversions[decoded.conversion] += 1
    produced: dict[Cell, bytes] = {}
    for cell, (_, pixels) in zip(
        todo, corrupt_cells(decoded.pixels, sample, todo, job.seed, job.settings), strict=True
    ):
        target = job.out / targets[cell]
        if cell.kind == "p":
            data = write_video(
                target,
                pixels,
                noise=is_noise(cell.name),
                preset=job.settings.x264_preset,
                pix_fmt=job.settings.pix_fmt,
            )
        else:
            data = encode_image(pixels, job.fmt, job.settings.jpeg_quality)
            write_bytes(target, data, folders)
        produced[cell] = data
    return produced


def _sha256_path(path: Path) -> str:
    from shiftlab.hashing import sha256_file

    return sha256_file(path)


def _check_unique_outputs(samples: list[tuple[str, str]], index: Path) -> None:
    seen: dict[tuple[str, str], str] = {}
    for sample, wnid in samples:
        key = output_stem(sample, wnid)
        if key in seen:
            raise UserError(
                f"{index}: samples {seen[key]!r} and {sample!r} would both be written as "
                f"{key[0]}/{key[1]}.*; file stems must be unique within a class"
            )
        seen[key] = sample


def _write_manifest(frame, path: Path, job: Job, meta: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from shiftlab.provenance import make_record

    frame = (
        frame.astype({"seed": "uint64"}).sort_values("file", kind="stable").reset_index(drop=True)
    )
    record = make_record(
        "corrupt",
        params={**_settings_record(job, meta), "shard": list(job.shard)},
        inputs={"index": job.index},
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"shiftlab": json.dumps(record).encode()}
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def merge(job: Job, meta: Mapping[str, Any] | None = None, required: bool = True) -> Path | None:
    """Combine the shard parts of ``job.shard[1]`` shards into ``manifest.parquet``."""
    import pandas as pd

    count = job.shard[1] if job.shard != (0, 1) or not required else _detect_shard_count(job.out)
    parts = [part_path(job.out, (i, count)) for i in range(count)]
    missing = [p.name for p in parts if not p.exists()]
    if missing:
        if required:
            raise UserError(
                f"cannot merge {job.out}: shard part(s) {', '.join(missing)} are missing; run those shards first"
            )
        log.info("%d of %d shard parts missing; manifest not written yet", len(missing), count)
        return None
    if meta is None:
        _, meta = load_samples(job.index)
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    manifest = job.out / MANIFEST
    _write_manifest(frame, manifest, job, meta)
    log.info("wrote %s (%d files)", manifest, len(frame))
    return manifest


def _detect_shard_count(out: Path) -> int:
    """The N of the ``*-of-N.parquet`` parts in ``out`` (for ``--merge`` without ``--shard``)."""
    counts = {p.stem.rpartition("-of-")[2] for p in (out / SHARD_DIR).glob("*-of-*.parquet")}
    if len(counts) != 1 or not next(iter(counts)).isdigit():
        found = ", ".join(sorted(counts)) or "none"
        raise UserError(
            f"cannot tell the shard count in {out / SHARD_DIR} (found N = {found}); pass --shard 0/N"
        )
    return int(counts.pop())


def read_manifest(path: str | Path):
    """The manifest as a DataFrame (file, sample, wnid, variant, seed, sha256)."""
    import pandas as pd

    return pd.read_parquet(path)
