"""Dataset index: the parquet table of samples and targets that every later step reads.

Columns (docs/contracts.md): `sample`, `target` (label-space index, -1 outside it), `wnid`,
`variant`, plus `labels` for ImageNet ReaL, `shape`/`texture` for cue-conflict and `group`
for a folder of your own with repeated-capture groups. Rows are
sorted by (variant, sample). Parquet metadata `shiftlab` holds kind, root, benchmark,
label_space, fingerprint and n, plus the benchmark's evaluation protocol.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shiftlab.atomic import atomic_path, write_csv
from shiftlab.data.own import (
    MANIFEST_COLUMNS,
    FolderLayout,
    assign_split,
    manifest_path,
    sample_groups,
    split_summary,
)
from shiftlab.data.readers import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Listing,
    ReadOptions,
    get_reader,
    resolve_root,
)
from shiftlab.data.registry import Benchmark, get_benchmark
from shiftlab.errors import UserError
from shiftlab.hashing import sha256_bytes
from shiftlab.labels import LabelSpace, label_space

if TYPE_CHECKING:
    import pandas as pd

META_KEY = b"shiftlab"


def list_samples(
    kind: str,
    root: str | Path,
    variant: str | None = None,
    real_json: str | Path | None = None,
    class_map: str | Path | None = None,
    ground_truth: str | Path | None = None,
    space: LabelSpace | None = None,
    layout: FolderLayout | None = None,
) -> tuple[Benchmark, Path, Listing]:
    """Read a benchmark root with its kind's layout reader -> (entry, resolved root, listing).

    With a label space, folders named by its class names map to them (your own data)."""
    bench = get_benchmark(kind)
    bench.check_variant(variant)
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{kind} root {root} is not a folder")
    resolved = resolve_root(root, bench.top_dirs, variant)
    opts = ReadOptions(
        variant=variant,
        real_json=Path(real_json) if real_json else None,
        class_map=Path(class_map) if class_map else None,
        ground_truth=Path(ground_truth) if ground_truth else None,
        extensions=VIDEO_EXTENSIONS if bench.media == "video" else IMAGE_EXTENSIONS,
        classes=space.resolver() if space is not None else None,
        class_map_entries=layout.class_map if layout else None,
        group_folders=layout.group_folders if layout else False,
    )
    listing = get_reader(bench.reader)(resolved, opts)
    return bench, resolved, listing


def build_index(
    kind: str,
    root: str | Path,
    space_spec: str,
    benchmark: str,
    variant: str | None = None,
    real_json: str | Path | None = None,
    class_map: str | Path | None = None,
    ground_truth: str | Path | None = None,
    fingerprint: bool = True,
    layout: FolderLayout | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Index a benchmark root in a study's label space -> (DataFrame, metadata).

    With a split (`layout.split`), the frame holds the samples of its part and
    `frame.attrs["split_manifest"]` the whole tree's assignment (written by `write_index`)."""
    import pandas as pd

    from shiftlab.labels import imagenet1k_wnids

    space = label_space(space_spec)
    bench, resolved, listing = list_samples(
        kind, root, variant, real_json, class_map, ground_truth, space, layout
    )
    if not listing.samples:
        raise UserError(
            f"no {kind} samples under {resolved}: check the path and the layout ({bench.description})"
        )
    lookup = {w: i for i, w in enumerate(space.wnids)}
    frame = pd.DataFrame(
        {
            "sample": [s.sample for s in listing.samples],
            "target": pd.array([lookup.get(s.wnid, -1) for s in listing.samples], dtype="int64"),
            "wnid": [s.wnid for s in listing.samples],
            "variant": [s.variant for s in listing.samples],
        }
    )
    meta: dict[str, Any] = {
        "kind": kind,
        "root": str(resolved),
        "benchmark": benchmark,
        "label_space": space_spec,
        "label_space_sha256": sha256_bytes("\n".join(space.wnids).encode()),
        "variant": variant or "",
        "protocol": {"preprocess": bench.protocol.preprocess, "masking": bench.protocol.masking},
        "out_of_space": int((frame["target"] < 0).sum()),
    }
    if kind == "imagenet_real":
        all_wnids = imagenet1k_wnids()
        frame["labels"] = [
            [lookup[all_wnids[i]] for i in s.labels or () if all_wnids[i] in lookup]
            for s in listing.samples
        ]
        meta["real_empty"] = sum(1 for s in listing.samples if not s.labels)
        meta["real_empty_in_space"] = int((frame["labels"].map(len) == 0).sum())
        meta["real_json_sha256"] = listing.notes["real_json_sha256"]
    groups = sample_groups(layout, resolved, listing.samples) if layout else None
    if groups is not None:
        frame["group"] = groups
    if kind == "cue_conflict":
        frame["shape"] = [s.extra["shape"] for s in listing.samples]
        frame["texture"] = [s.extra["texture"] for s in listing.samples]
    frame = frame.sort_values(["variant", "sample"], kind="stable", ignore_index=True)
    if layout and layout.split:
        frame, meta["split"] = _split_part(frame, layout.split)
    meta["fingerprint"] = (
        index_fingerprint(resolved, meta.get("real_json_sha256")) if fingerprint else None
    )
    meta["n"] = len(frame)
    return frame, meta


def _split_part(frame: pd.DataFrame, split: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows of the split's part, with the whole tree's manifest in `attrs`."""
    import pandas as pd

    units = frame["group"] if "group" in frame else frame["sample"]
    parts = assign_split(frame["wnid"].tolist(), units.astype(str).tolist(), split)
    manifest = pd.DataFrame(
        {
            "path": frame["sample"],
            "class": frame["wnid"],
            "split": parts,
            "group": frame["group"] if "group" in frame else "",
        },
        columns=list(MANIFEST_COLUMNS),
    )
    part = frame[manifest["split"].to_numpy() == split["part"]].reset_index(drop=True)
    part.attrs["split_manifest"] = manifest
    return part, split_summary(manifest, split)


def index_fingerprint(root: Path, real_json_sha256: str | None = None) -> str:
    """Fingerprint of the root's content; for ReaL also of the label file, so either changing
    changes the dataset identity."""
    from shiftlab.data.fingerprint import dataset_fingerprint

    digest = dataset_fingerprint(root)
    if real_json_sha256:
        digest = sha256_bytes(f"{digest}\n{real_json_sha256}\n".encode())
    return digest


def write_index(frame: pd.DataFrame, meta: dict[str, Any], out: str | Path) -> Path:
    """Write atomically (temp file + rename) so a killed job never leaves a half index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    manifest = frame.attrs.get("split_manifest")
    frame = frame.copy()
    frame.attrs = {}  # pyarrow would try to store them
    fields = [
        pa.field("sample", pa.string()),
        pa.field("target", pa.int64()),
        pa.field("wnid", pa.string()),
        pa.field("variant", pa.string()),
    ]
    if "labels" in frame:
        fields.append(pa.field("labels", pa.list_(pa.int64())))
    fields += [pa.field(c, pa.string()) for c in ("shape", "texture", "group") if c in frame]
    table = pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[META_KEY] = json.dumps(meta, sort_keys=True).encode()
    table = table.replace_schema_metadata(metadata)
    if manifest is not None:
        write_csv(manifest, manifest_path(out))
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return out


def read_index(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an index written by `write_index` -> (DataFrame, metadata dict)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise UserError(f"index {path} does not exist (run `shiftlab index`)") from None
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file, reported the same way
        raise UserError(f"cannot read dataset index {path}: {exc}") from None
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise UserError(f"{path} is not a shiftlab dataset index (no `shiftlab` metadata)")
    missing = {"sample", "target", "wnid"} - set(table.column_names)
    if missing:
        raise UserError(f"dataset index {path} lacks columns {sorted(missing)}")
    return table.to_pandas(), json.loads(raw)
