"""ImageNet val in either form: `<wnid>/<file>` folders, or the raw flat archive plus ground truth.

The flat form (`ILSVRC2012_val_00000001.JPEG` … in one folder) is labelled by either
- the devkit: `ILSVRC2012_validation_ground_truth.txt` holds one ILSVRC2012_ID per image (line
  i ↔ `ILSVRC2012_val_{i:08d}`), and those IDs follow the devkit's `data/meta.mat` ordering,
  *not* the sorted-wnid order, so meta.mat is read to map ID → wnid; or
- Kaggle's `LOC_val_solution.csv` (`ImageId,PredictionString`, the wnid first in the string).
"""

from __future__ import annotations

import csv
import io
import re
import tarfile
from pathlib import Path

from shiftlab.data.readers import (
    WNID_RE,
    Listing,
    ReadOptions,
    Sample,
    has_extension,
    register_reader,
    scan_dir,
)
from shiftlab.data.readers.folders import wnid_folders
from shiftlab.errors import UserError

VAL_NAME_RE = re.compile(r"ILSVRC2012_val_(\d{8})")
DEVKIT_TAR = "ILSVRC2012_devkit_t12.tar.gz"
GT_TXT = "ILSVRC2012_validation_ground_truth.txt"
KAGGLE_CSV = "LOC_val_solution.csv"


def val_number(name: str) -> int | None:
    """1-based image number of an `ILSVRC2012_val_XXXXXXXX.*` file name, else None."""
    match = VAL_NAME_RE.match(Path(name).name)
    return int(match.group(1)) if match else None


def devkit_id_to_wnid(meta_mat: bytes) -> dict[int, str]:
    """ILSVRC2012_ID -> wnid for the 1000 leaf synsets of the devkit's meta.mat."""
    from scipy.io import loadmat

    synsets = loadmat(io.BytesIO(meta_mat), squeeze_me=True)["synsets"]
    mapping = {
        int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0
    }
    if len(mapping) != 1000:
        raise UserError(f"devkit meta.mat lists {len(mapping)} leaf synsets, expected 1000")
    return mapping


def labels_from_devkit(ground_truth: bytes, meta_mat: bytes) -> dict[int, str]:
    id_to_wnid = devkit_id_to_wnid(meta_mat)
    labels = {}
    for number, token in enumerate(ground_truth.decode().split(), 1):
        try:
            labels[number] = id_to_wnid[int(token)]
        except (KeyError, ValueError):
            raise UserError(
                f"{GT_TXT} line {number}: {token!r} is not a devkit ILSVRC2012_ID"
            ) from None
    return labels


def labels_from_kaggle(path: Path) -> dict[int, str]:
    labels = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"ImageId", "PredictionString"} <= set(reader.fieldnames):
            raise UserError(f"{path}: expected Kaggle columns ImageId,PredictionString")
        for row in reader:
            number = val_number(row["ImageId"])
            wnid = (row["PredictionString"].split() or [""])[0]
            if number is None or not WNID_RE.fullmatch(wnid):
                raise UserError(f"{path}: cannot read row {row!r}")
            labels[number] = wnid
    return labels


def _read_devkit_tar(path: Path) -> dict[int, str]:
    with tarfile.open(path) as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        try:
            gt = tar.extractfile(members[GT_TXT]).read()  # type: ignore[union-attr]
            meta = tar.extractfile(members["meta.mat"]).read()  # type: ignore[union-attr]
        except KeyError as exc:
            raise UserError(f"{path} has no {exc.args[0]}; is it the ILSVRC2012 devkit?") from None
    return labels_from_devkit(gt, meta)


def find_ground_truth(root: Path, explicit: Path | None) -> dict[int, str]:
    """Image number -> wnid from the first ground truth found (explicit file first)."""
    if explicit is not None:
        if explicit.name.endswith(".csv"):
            return labels_from_kaggle(explicit)
        if explicit.name.endswith((".tar.gz", ".tgz", ".tar")):
            return _read_devkit_tar(explicit)
        meta = next((p for p in (explicit.parent / "meta.mat",) if p.is_file()), None)
        if meta is None:
            raise UserError(
                f"{explicit} needs the devkit's meta.mat next to it (ILSVRC2012_ID order)"
            )
        return labels_from_devkit(explicit.read_bytes(), meta.read_bytes())
    for base in (root, root.parent):
        if (base / KAGGLE_CSV).is_file():
            return labels_from_kaggle(base / KAGGLE_CSV)
        if (base / DEVKIT_TAR).is_file():
            return _read_devkit_tar(base / DEVKIT_TAR)
        for data in (base, base / "ILSVRC2012_devkit_t12" / "data"):
            if (data / GT_TXT).is_file() and (data / "meta.mat").is_file():
                return labels_from_devkit(
                    (data / GT_TXT).read_bytes(), (data / "meta.mat").read_bytes()
                )
    raise UserError(
        f"{root} holds flat ImageNet val files but no ground truth: put {DEVKIT_TAR} (or its "
        f"data/{GT_TXT} + data/meta.mat) or Kaggle's {KAGGLE_CSV} next to the images, or pass "
        "--ground-truth FILE"
    )


@register_reader("imagenet_val")
def imagenet_val(root: Path, opts: ReadOptions) -> Listing:
    dirs, files = scan_dir(root)
    if any(WNID_RE.fullmatch(d) for d in dirs) or not any(val_number(f) for f in files):
        return wnid_folders(root, opts)
    truth = find_ground_truth(root, opts.ground_truth)
    listing = Listing(notes={"form": "flat"})
    for name in files:
        number = val_number(name)
        if number is None or not has_extension(name, opts.extensions):
            listing.ignored.append(name)
            continue
        if number not in truth:
            raise UserError(f"the ground truth has no label for {name}")
        listing.samples.append(Sample(name, truth[number]))
        listing.classes.add(truth[number])
    listing.ignored.extend(f"{d}/" for d in dirs)  # e.g. an unpacked devkit
    return listing
