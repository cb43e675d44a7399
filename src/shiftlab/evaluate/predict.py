"""`predict`: one run x one benchmark -> a predictions parquet (docs/contracts.md).

Stores what every metric needs (top-k, their probabilities, the max softmax probability,
and per-benchmark extras), not full logits, so metrics are cheap pure functions later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm import tqdm

from shiftlab.errors import UserError
from shiftlab.evaluate.batching import Background, batches_of, start_batches
from shiftlab.evaluate.engine import Scorer, bf16_supported, pick_device
from shiftlab.evaluate.loaders import CleanImages, ImageRows, Normalizer, VideoRows, collate_videos
from shiftlab.evaluate.protocol import protocol_for
from shiftlab.evaluate.results import Collector
from shiftlab.provenance import write_parquet

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from shiftlab.evaluate.protocol import Protocol

log = logging.getLogger(__name__)
META_KEY = b"shiftlab"
DECODERS = ("auto", "cpu", "nvjpeg")


def predict(
    checkpoint: str | Path,
    index: str | Path,
    benchmark: dict[str, Any],
    out: str | Path,
    threads: int = 1,
    batch_size: int = 64,
    fp32: bool = False,
    device: str = "auto",
    topk: int = 5,
    full: bool = False,
    clean_index: str | Path | None = None,
    decode: str = "auto",
) -> Path:
    """Predict every sample (or frame, or corruption cell) of an indexed benchmark.

    ``decode``: "nvjpeg" decodes JPEG batches on the GPU (CUDA only; benchmarks read
    without resizing, i.e. ImageNet-C files), "cpu" decodes with libjpeg in the loader
    processes (bit-identical to a CPU run's pixels), "auto" picks nvjpeg where it applies.
    """
    if decode not in DECODERS:
        raise UserError(f"decode={decode!r}; allowed: {', '.join(DECODERS)}")

    from shiftlab.data import read_index
    from shiftlab.hashing import sha256_files_in_background
    from shiftlab.models import model_from_checkpoint, read_checkpoint
    from shiftlab.provenance import make_record, now

    started = now()
    torch.set_num_threads(max(1, threads))
    dev = pick_device(device)
    if decode == "nvjpeg" and dev.type != "cuda":
        raise UserError(f"decode='nvjpeg' needs a CUDA device; this run uses {dev.type}")
    ckpt = read_checkpoint(checkpoint)
    wnids = list(ckpt["model"]["wnids"])
    cfg = dict(ckpt["model"]["data_config"])
    frame, index_meta = read_index(index)
    kind = benchmark.get("kind") or index_meta["kind"]
    proto = protocol_for(kind, wnids, frame["wnid"].tolist(), full=full)
    # Decoding runs beside the forward pass (which uses `threads` torch threads), so it
    # hides behind compute even at one thread: on a background thread for a CPU run, in
    # `threads` loader processes feeding a GPU (evaluate/batching.py says why).
    workers = max(1, threads)
    rows, pixels = _start_rows(
        frame, index_meta["root"], cfg, proto, dev, benchmark, kind, decode, batch_size, workers
    )
    # Start-up overlaps: the loader is already decoding, and the inputs are hashed for
    # the provenance record on a side thread (after any fork) while the model is built.
    inputs = {"checkpoint": checkpoint, "index": index}
    if kind == "imagenet_o" and clean_index is not None:
        inputs["clean_index"] = clean_index
    digests = sha256_files_in_background(inputs)
    model, meta = model_from_checkpoint(ckpt, checkpoint)
    del ckpt
    scorer = Scorer(model, proto.class_ids, dev, bf16=bf16_supported(dev) and not fp32)
    if kind == "imagenet_o":
        frame = frame.assign(target=-1)  # O images are anomalies, whatever folder they sit in
    table = _collect(rows(scorer), proto, topk, wnids, dev).table(frame)
    if kind == "imagenet_o" and clean_index is not None:
        import pyarrow as pa

        clean = _in_distribution(
            clean_index, scorer, cfg, proto, dev, topk, wnids, batch_size, workers
        )
        table = pa.concat_tables([table, clean])
    params = _run_params(benchmark, topk, full, fp32 or not scorer.bf16, dev, batch_size, threads)
    record = make_record(
        rule="predict",
        params=params | pixels,
        inputs=inputs,
        digests=digests(),
        input_hashes={"dataset_fingerprint": index_meta.get("fingerprint", "")},
        started=started,
        extra=_record_extra(meta, proto, wnids, index_meta, kind),
    )
    return _write(table, record, Path(out))


def _start_rows(
    frame: pd.DataFrame,
    root: str,
    cfg: dict[str, Any],
    proto: Protocol,
    dev: torch.device,
    benchmark: dict[str, Any],
    kind: str,
    decode: str,
    batch_size: int,
    workers: int,
) -> tuple[Rows, dict[str, str]]:
    """Start the loader that fits the benchmark and device, so it decodes while the model
    is built; with it, what the record must say about how its pixels were made."""
    on_the_fly = benchmark.get("source") == "on_the_fly"
    if on_the_fly:
        # CUDA batches are corrupted by the batched torch operators (rounding-level
        # differences from materialized pixels); the CPU path is bit-exact.
        backend = "torch" if dev.type == "cuda" else "numpy"
        rows = _on_the_fly(frame, root, cfg, proto, dev, benchmark, batch_size, workers)
        return rows, {"corrupt_backend": backend}
    if kind == "imagenet_p":
        return _videos(frame, root, cfg, proto, dev, batch_size, workers), {}
    nvjpeg = dev.type == "cuda" and decode != "cpu" and not proto.resize
    pixels = {"decode": "nvjpeg" if nvjpeg else "cpu"}  # nvJPEG: tiny IDCT differences
    if nvjpeg:
        return _images_gpu_decode(frame, root, cfg, proto, dev, batch_size, workers), pixels
    return _images(frame, root, cfg, proto, dev, batch_size, workers), pixels


def _in_distribution(
    clean_index: str | Path,
    scorer: Scorer,
    cfg: dict[str, Any],
    proto: Protocol,
    dev: torch.device,
    topk: int,
    wnids: list[str],
    batch_size: int,
    workers: int,
) -> pa.Table:
    """ImageNet-O's in-distribution half (official: val on O's 200 wnids), scored over the
    same class mask as the anomalies so the two halves are comparable."""
    from shiftlab.data import read_index

    clean, clean_meta = read_index(clean_index)
    clean = clean[clean["wnid"].isin(set(proto.subset_wnids))].reset_index(drop=True)
    clean = clean.assign(variant="in_distribution")
    rows = _images(clean, clean_meta["root"], cfg, proto, dev, batch_size, workers)
    return _collect(rows(scorer), proto, topk, wnids, dev).table(clean)


def _run_params(
    benchmark: dict[str, Any],
    topk: int,
    full: bool,
    fp32: bool,
    dev: torch.device,
    batch_size: int,
    threads: int,
) -> dict[str, Any]:
    """The settings a predictions file was made with, as its record states them."""
    return {
        "benchmark": benchmark,
        "topk": topk,
        "full_1000": full,
        "fp32": fp32,
        "device": dev.type,
        "batch_size": batch_size,
        "threads": threads,
        "loader": "thread" if dev.type == "cpu" else f"{max(1, threads)} processes",
    }


def _record_extra(
    meta: dict[str, Any],
    proto: Protocol,
    wnids: list[str],
    index_meta: dict[str, Any],
    kind: str,
) -> dict[str, Any]:
    """What the metrics and the audit read back about the model, classes and benchmark."""
    return {
        "run_model": meta["name"],
        "training_provenance": meta.get("provenance", {}).get("params", {}),
        "subset_wnids": list(proto.subset_wnids),
        "label_space_size": len(wnids),
        "label_space": index_meta.get("label_space"),
        "benchmark_id": index_meta.get("benchmark"),
        "kind": kind,
        "geometry": geometry_record(meta.get("data_config") or {}, proto.resize),
        "pretrained": meta.get("pretrained"),
        "checkpoint_rule": meta.get("provenance", {}).get("rule"),
    }


GEOMETRY_KEYS = ("zoo", "size", "input_size", "crop_pct", "crop_mode", "interpolation")


def geometry_record(cfg: dict[str, Any], resize: bool) -> dict[str, Any]:
    """How the model input was made, as the record and the report's zoo check state it."""
    from shiftlab.models.preprocess import describe

    out = {k: cfg[k] for k in (*GEOMETRY_KEYS, "resize_size", "antialias") if k in cfg}
    out["resized"] = bool(resize)
    out["text"] = describe(cfg) if resize and "input_size" in cfg else "normalise only"
    return out


# A batch scored by the model: (probabilities, index rows, video frames or None, the
# variant when it is not the index row's own, i.e. an on-the-fly corruption cell).
Scored = tuple[torch.Tensor, Sequence[int], Sequence[int] | None, str | None]
Rows = Callable[[Scorer], Iterator[Scored]]


def _collect(
    scored: Iterator[Scored], proto, k: int, wnids: list[str], dev: torch.device
) -> Collector:
    results = Collector(proto, k, wnids, dev)
    for probs, rows, frames, variant in scored:
        results.add(probs, rows, frames, variant)
    return results


def _images(
    frame, root, cfg, proto, dev, batch_size, workers, normalize_on_device: bool | None = None
) -> Rows:
    """Still images; the loader starts now, the rows flow once a scorer is given.

    On CUDA the workers hand over uint8 pixels and normalisation runs on the device: a
    quarter of the bytes through shared memory, pinning and the host-to-device copy
    (timm's prefetcher does the same). On the CPU the loader thread normalises, off the
    forward's critical path.
    """
    if normalize_on_device is None:
        normalize_on_device = dev.type == "cuda"
    data = ImageRows(
        root, frame["sample"].tolist(), cfg, resize=proto.resize, raw=normalize_on_device
    )
    batches = start_batches(data, batch_size, dev, workers, pin_memory=dev.type == "cuda")
    norm = Normalizer(cfg)

    def rows(scorer: Scorer) -> Iterator[Scored]:
        for x, index in tqdm(batches, desc="predict", unit="batch", mininterval=5):
            if normalize_on_device:
                x = norm.batch(x.to(dev, non_blocking=True))
            probs = scorer(x)
            yield probs, index.numpy(), None, None

    return rows


def _images_gpu_decode(frame, root, cfg, proto, dev, batch_size, workers) -> Rows:
    """Benchmarks read without resizing (ImageNet-C files) on CUDA: workers read bytes,
    nvJPEG decodes the batch on the GPU, normalisation runs there too. CPU decoding of
    224-px JPEGs tops out far below an H100's ResNet-50 rate."""
    from shiftlab.evaluate.loaders import EncodedRows, decode_on_device

    samples = frame["sample"].tolist()
    data = EncodedRows(root, samples)
    batches = start_batches(data, batch_size, dev, workers, collate_fn=list)
    norm = Normalizer(cfg)

    def rows(scorer: Scorer) -> Iterator[Scored]:
        for items in tqdm(batches, desc="predict (GPU decode)", unit="batch", mininterval=5):
            decoded = decode_on_device(items, Path(root), samples, dev)
            for shape in sorted({tuple(img.shape) for img, _ in decoded}):
                group = [(img, r) for img, r in decoded if tuple(img.shape) == shape]
                x = norm.batch(torch.stack([img for img, _ in group]).permute(0, 2, 3, 1))
                probs = scorer(x)
                yield probs, [r for _, r in group], None, None

    return rows


def _videos(frame, root, cfg, proto, dev, batch_size, workers) -> Rows:
    data = VideoRows(root, frame["sample"].tolist(), cfg)
    per_batch = max(1, batch_size // 32)  # ~31 frames per video
    batches = start_batches(data, per_batch, dev, workers, collate_fn=collate_videos)

    def rows(scorer: Scorer) -> Iterator[Scored]:
        for x, where in tqdm(batches, desc="predict videos", unit="batch", mininterval=5):
            probs = scorer(x)
            yield probs, [r for r, _ in where], [f for _, f in where], None

    return rows


def _on_the_fly(frame, root, cfg, proto, dev, bench, batch_size, workers) -> Rows:
    """ImageNet-C without files: decode each clean image once, give it the materializer's
    geometry, then corrupt it in memory for every corruption x severity cell with the same
    per-image seeds, so the pixels equal a materialized set's before JPEG encoding.

    On the CPU, decoding and corrupting run on a background thread while the main thread
    runs the forward pass; on CUDA, loader processes decode and the batched torch
    operators corrupt on the GPU."""
    from shiftlab.corrupt import apply_batch, image_seed
    from shiftlab.corrupt.cells import parse_settings, plan_cells

    settings = parse_settings(
        {key: bench[key] for key in ("params", "names", "severities") if key in bench}
    )
    cells = plan_cells("c", settings)
    study_seed = int(bench.get("seed", 0))
    samples = frame["sample"].tolist()
    data = CleanImages(root, samples, settings)
    norm = Normalizer(cfg)

    def corrupted(batches: Iterable[list]) -> Iterator[tuple[torch.Tensor, list[int], str]]:
        for batch in batches:
            for shape in sorted({img.shape for img, _ in batch}):  # one size per forward
                group = [(img, r) for img, r in batch if img.shape == shape]
                images = torch.from_numpy(np.stack([img for img, _ in group]))
                if dev.type == "cuda":  # corrupt on the GPU (apply_batch's torch path)
                    images = images.to(dev, non_blocking=True)
                index = [r for _, r in group]
                for cell in cells:
                    seeds = [
                        image_seed(study_seed, samples[r], cell.name, cell.level) for r in index
                    ]
                    x = apply_batch(images, cell.name, cell.level, seeds, params=settings.params)
                    yield norm.batch(x), index, cell.variant

    if dev.type == "cpu":
        inputs = Background(corrupted(batches_of(data, batch_size)))
    else:
        inputs = corrupted(start_batches(data, batch_size, dev, workers, collate_fn=list))

    def rows(scorer: Scorer) -> Iterator[Scored]:
        for x, index, variant in tqdm(inputs, desc="predict on-the-fly C", mininterval=5):
            yield scorer(x), index, None, variant

    return rows


def _write(table, record: dict[str, Any], out: Path) -> Path:
    """Atomic parquet write with the provenance record in the file metadata."""
    return write_parquet(table.replace_schema_metadata({}), out, record)
