"""Materialize corrupted copies of a dataset (ImageNet-C / -P / transforms layouts).

One function, ``corrupt_cells``, turns a decoded image into every requested *cell*
(corruption x severity, perturbation sequence, or transform variant); materialization
writes its outputs to disk, and on-the-fly evaluation calls the same function and feeds
the arrays to the model, so both see the same pixels (before JPEG/H.264 encoding).

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
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from shiftlab.errors import UserError

log = logging.getLogger(__name__)

KINDS = ("c", "p", "t")
FORMATS = {"jpeg": ".JPEG", "png": ".png"}
MANIFEST = "manifest.parquet"
SHARD_DIR = ".shards"
MANIFEST_COLUMNS = ("file", "sample", "wnid", "variant", "seed", "sha256")


# ---- settings (the config's `corruptions` entry, passed as --params-json) -------------------


@dataclass(frozen=True)
class Settings:
    """What to materialize. Missing keys mean "all" or the documented default.

    ``resize``/``crop``: frame geometry before corrupting. Default for kind c with
    ``params: imagenet``: short side 256, centre crop 224 (make_imagenet_c.py); kind p uses
    the ImageNet-P geometry of its parameter set (see ``sequences.resolve_geometry``);
    otherwise images keep their native size.
    """

    params: str = "auto"
    names: tuple[str, ...] | None = None
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    perturbations: tuple[str, ...] | None = None
    difficulty: tuple[int, ...] = (1,)
    transforms: Any = None
    jpeg_quality: int = 85
    resize: int | None = None
    crop: int | None = None
    x264_preset: str = "veryslow"
    pix_fmt: str = "yuv420p"  # or yuv444p (see video.py)
    # accepted so the whole `corruptions` config entry can be passed through
    shards: int | None = field(default=None, compare=False)


_SETTING_KEYS = tuple(Settings.__dataclass_fields__)


def parse_settings(raw: Mapping[str, Any] | str | Settings | None) -> Settings:
    """Validate a params dict (or a param-set name) into ``Settings``; errors name the key."""
    from shiftlab.corrupt import PARAM_CHOICES, SEVERITIES

    if isinstance(raw, Settings):
        return raw
    if raw is None:
        raw = {}
    if isinstance(raw, str):
        raw = {"params": raw}
    unknown = sorted(set(raw) - set(_SETTING_KEYS))
    if unknown:
        raise UserError(
            f"corruption settings: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_SETTING_KEYS)}"
        )
    values = dict(raw)
    if values.get("params", "auto") not in PARAM_CHOICES:
        raise UserError(
            f"corruption settings: params={values['params']!r}; allowed: {', '.join(PARAM_CHOICES)}"
        )
    for key in ("names", "perturbations"):
        if values.get(key) is not None:
            if isinstance(values[key], str) or not isinstance(values[key], Iterable):
                raise UserError(
                    f"corruption settings: {key} must be a list of names, got {values[key]!r}"
                )
            values[key] = tuple(values[key])
    for key, allowed in (("severities", SEVERITIES), ("difficulty", (1, 2, 3))):
        if key in values:
            value = values[key]
            value = (value,) if isinstance(value, int) else tuple(value)
            bad = [v for v in value if v not in allowed or isinstance(v, bool)]
            if bad or not value:
                raise UserError(
                    f"corruption settings: {key}={values[key]!r}; allowed values: {list(allowed)}"
                )
            values[key] = value
    if values.get("pix_fmt", "yuv420p") not in ("yuv420p", "yuv444p"):
        raise UserError(
            f"corruption settings: pix_fmt={values['pix_fmt']!r}; allowed: yuv420p, yuv444p"
        )
    quality = values.get("jpeg_quality", 85)
    if not isinstance(quality, int) or not 1 <= quality <= 100:
        raise UserError(f"corruption settings: jpeg_quality={quality!r}; allowed: an integer 1-100")
    return Settings(**values)


# ---- cells ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One output per source image: (kind, name, level). ``level`` is the severity (c),
    the difficulty (p) or 0 (t, where ``name`` is the variant, e.g. ``crop_shift_3``)."""

    kind: str
    name: str
    level: int = 0

    @property
    def variant(self) -> str:
        if self.kind == "c":
            return f"{self.name}/{self.level}"
        if self.kind == "p":
            from shiftlab.corrupt.sequences import folder_name

            return folder_name(self.name, self.level)
        return self.name

    def seed(self, study_seed: int, sample: str) -> int:
        from shiftlab.corrupt import image_seed

        return image_seed(study_seed, sample, self.name, self.level)

    def relpath(self, wnid: str, stem: str, fmt: str = "jpeg") -> str:
        ext = ".mp4" if self.kind == "p" else FORMATS[fmt]
        return f"{self.variant}/{wnid}/{stem}{ext}"


def parse_cell(kind: str, variant: str) -> Cell:
    """Inverse of ``Cell.variant``: ``"fog/3"`` (c), ``"shot_noise_2"`` (p), ``"zoom"`` (t)."""
    _check_kind(kind)
    if kind == "c":
        name, _, severity = variant.partition("/")
        if not severity.isdigit():
            raise UserError(
                f"ImageNet-C variant {variant!r} must look like <corruption>/<severity>"
            )
        from shiftlab.corrupt import check_severity, get_corruption

        get_corruption(name)
        return Cell("c", name, check_severity(int(severity)))
    if kind == "p":
        from shiftlab.corrupt.sequences import parse_folder

        name, difficulty = parse_folder(variant)
        return Cell("p", name, difficulty)
    from shiftlab.corrupt.transforms import parse_variant

    parse_variant(variant)
    return Cell("t", variant, 0)


def plan_cells(kind: str, settings: Settings | Mapping[str, Any] | None = None) -> list[Cell]:
    """Every cell a settings object asks for, in a fixed order."""
    from shiftlab.corrupt import get_corruption, names
    from shiftlab.corrupt.sequences import get_perturbation, list_perturbations
    from shiftlab.corrupt.transforms import transform_variants

    _check_kind(kind)
    settings = parse_settings(settings)
    if kind == "c":
        chosen = settings.names if settings.names is not None else tuple(names())
        for name in chosen:
            get_corruption(name)
        return [Cell("c", n, s) for n in chosen for s in settings.severities]
    if kind == "p":
        chosen = (
            settings.perturbations
            if settings.perturbations is not None
            else tuple(list_perturbations())
        )
        cells = []
        for name in chosen:
            noise = get_perturbation(name).noise
            # non-noise difficulty is a frame stride at evaluation: one sequence serves all
            levels = settings.difficulty if noise else (1,)
            cells += [Cell("p", name, d) for d in levels]
        return cells
    return [Cell("t", v, 0) for v in transform_variants(settings.transforms)]


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UserError(f"unknown corruption kind {kind!r}; allowed: {', '.join(KINDS)}")


def prepare_image(image: np.ndarray, kind: str, settings: Settings) -> np.ndarray:
    """Frame geometry applied before kind c/t cells (kind p handles its own)."""
    from shiftlab.corrupt.transforms import center_crop, resize_short_side

    resize, crop = settings.resize, settings.crop
    if kind == "c" and settings.params == "imagenet" and resize is None and crop is None:
        resize, crop = 256, 224  # make_imagenet_c.py: Resize(256) + CenterCrop(224)
    if resize is not None:
        image = resize_short_side(image, int(resize))
    if crop is not None:
        image = np.ascontiguousarray(center_crop(image, int(crop)))
    return image


def corrupt_cells(
    image: np.ndarray,
    sample: str,
    cells: Iterable[Cell | str],
    study_seed: int,
    params: Settings | Mapping[str, Any] | str | None = "auto",
    kind: str = "c",
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (variant, uint8 pixels) for each cell of one decoded RGB image.

    ``cells`` are ``Cell`` objects or variant strings of ``kind``. Kind c/t yield H x W x 3
    images, kind p yields (frames, H, W, 3) sequences. The pixels are exactly what
    ``materialize`` encodes, so on-the-fly evaluation matches the written dataset up to
    the lossy encoding.
    """
    from shiftlab.corrupt import apply
    from shiftlab.corrupt.sequences import make_sequence
    from shiftlab.corrupt.transforms import apply_transform

    settings = parse_settings(params)
    prepared: dict[str, np.ndarray] = {}
    for cell in cells:
        if isinstance(cell, str):
            cell = parse_cell(kind, cell)
        seed = cell.seed(study_seed, sample)
        if cell.kind == "p":
            out = make_sequence(
                image, cell.name, cell.level, seed, settings.params, settings.resize, settings.crop
            )
        else:
            if cell.kind not in prepared:
                prepared[cell.kind] = prepare_image(image, cell.kind, settings)
            base = prepared[cell.kind]
            if cell.kind == "c":
                out = apply(base, cell.name, cell.level, seed, settings.params)
            else:
                out = apply_transform(base, cell.name, seed, settings.transforms)
        yield cell.variant, out


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


def write_atomic(path: Path, data: bytes, folders: set[Path] | None = None) -> None:
    """Write via a temporary sibling and rename: readers never see half a file.

    ``folders``: parent folders already made by this caller (skips one mkdir per file).
    """
    parent = path.parent
    if folders is None or parent not in folders:
        parent.mkdir(parents=True, exist_ok=True)
        if folders is not None:
            folders.add(parent)
    tmp = f"{parent}/.{path.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # a full disk leaves no stray temporary
        raise


# ---- materialization ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
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
    settings = {k: v for k, v in asdict(job.settings).items() if k != "shards"}
    return {
        "kind": job.kind,
        "seed": job.seed,
        "format": job.fmt,
        "settings": json.loads(json.dumps(settings)),
        "dataset_fingerprint": meta.get("fingerprint"),
    }


def _pin_settings(job: Job, meta: Mapping[str, Any]) -> None:
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
    write_atomic(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


def part_path(out: Path, shard: tuple[int, int]) -> Path:
    return out / SHARD_DIR / f"{shard[0]}-of-{shard[1]}.parquet"


def materialize(job: Job, progress: bool = True) -> Path | None:
    """Run one shard (skipped when its part exists); merge when every part is present.

    Returns the manifest path once the whole dataset is done, else None.
    """
    from hashlib import sha256

    import pandas as pd
    from tqdm import tqdm

    from shiftlab.corrupt.imageio import load_rgb
    from shiftlab.corrupt.sequences import is_noise
    from shiftlab.corrupt.video import write_video

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
            folder, stem = output_stem(sample, wnid)
            targets = {cell: cell.relpath(folder, stem, job.fmt) for cell in cells}
            todo = [cell for cell in cells if not (job.out / targets[cell]).exists()]
            produced: dict[Cell, bytes] = {}
            if todo:
                decoded = load_rgb(root / sample)
                if decoded.conversion:
                    conversions[decoded.conversion] += 1
                for cell, (_, pixels) in zip(
                    todo,
                    corrupt_cells(decoded.pixels, sample, todo, job.seed, job.settings),
                    strict=True,
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
                        write_atomic(target, data, folders)
                    produced[cell] = data
            for cell in cells:
                data = produced.get(cell)
                digest = (
                    sha256(data).hexdigest()
                    if data is not None
                    else _sha256_path(job.out / targets[cell])
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
        for conversion, count in sorted(conversions.items()):
            log.info("converted %d image(s) from %s to RGB", count, conversion)
        _write_manifest(pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)), part, job, meta)
        log.info("shard %d/%d: %d samples, %d files", *job.shard, len(mine), len(rows))
    return merge(job, meta, required=False)


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


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
