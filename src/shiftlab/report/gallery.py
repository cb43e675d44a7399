"""The class-sensitivity gallery: what the most and least affected classes look like.

For each transformation of a transforms benchmark, the classes of `stats/seed_ttests.csv`
(level `class`) with the most negative accuracy change and those with the change closest to
zero or positive, each as a row of clean / transformed image pairs. The images are found
through the dataset indexes: a transformed copy keeps its source's class folder and file
stem (`<transform>/<wnid>/<stem>.<ext>`, see `shiftlab.corrupt.materialize`). Thumbnails
are small inline JPEGs, and the quality is lowered (then the size) until the whole gallery
fits `BUDGET_BYTES`, so the report stays one small file. Shift-probe steps (`crop_shift_3`
…) are left out: one-pixel steps look alike, and the shift-probe section covers them.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

import pandas as pd

from shiftlab.report.cells import escape

log = logging.getLogger(__name__)

N_CLASSES = 3  # most and least affected classes per transformation
N_PAIRS = 3  # image pairs per class
THUMB_SIDE = 64  # long side of a thumbnail, px
BUDGET_BYTES = 300_000  # the gallery's HTML for 9 transformations at most
BUDGET_CONDITIONS = 9
# (long side, JPEG quality), tried in order until a pair fits its share of the budget
LADDER = ((64, 75), (64, 60), (64, 45), (64, 30), (56, 30), (48, 30), (40, 30), (32, 30))
PER_IMAGE_HTML = 110  # bytes of markup around one data URI
PER_CLASS_HTML = 260  # bytes of markup of one class row's label


@dataclass
class Pair:
    clean: Path
    transformed: Path
    name: str  # the file stem, shown as the images' title


@dataclass
class ClassRow:
    wnid: str
    clean_acc: float
    transformed_acc: float
    affected: bool
    pairs: list[Pair] = field(default_factory=list)


@dataclass
class Gallery:
    benchmark: str
    condition: str
    most: list[ClassRow]
    least: list[ClassRow]

    def pairs(self) -> list[Pair]:
        return [p for row in self.most + self.least for p in row.pairs]


def read_indexes(paths: list[str | Path]) -> list[tuple[pd.DataFrame, dict]]:
    """The dataset indexes the gallery looks images up in (transforms and their sources)."""
    from shiftlab.data import read_index

    return [read_index(p) for p in paths]


def _key(sample: str, wnid: str) -> tuple[str, str]:
    """(class folder, file stem): what a source image and its transformed copies share."""
    path = PurePosixPath(sample)
    return wnid or path.parent.name or "unlabelled", path.stem


def _lookup(frame: pd.DataFrame, meta: dict) -> dict[tuple[str, str], Path]:
    root = Path(meta.get("root", "."))
    pairs = frame[["sample", "wnid"]].drop_duplicates("sample")
    return {_key(s, w): root / s for s, w in pairs.itertuples(index=False)}


def _is_probe_step(condition: str) -> bool:
    from shiftlab.corrupt.transforms import parse_variant
    from shiftlab.errors import UserError

    try:
        return parse_variant(condition)[1] is not None
    except UserError:
        return False


def pick_classes(classes: pd.DataFrame, n: int = N_CLASSES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The n classes with the most negative `diff` and the n with the largest (closest to
    0 or positive), disjoint; ties broken by wnid."""
    ranked = classes.dropna(subset=["diff"]).sort_values(["diff", "unit"], kind="stable")
    most = ranked.head(n)
    rest = ranked.drop(most.index)
    least = rest.sort_values(["diff", "unit"], ascending=[False, True], kind="stable").head(n)
    return most, least


def _rows(picked: pd.DataFrame, images: pd.DataFrame, clean: dict, root: Path) -> list[ClassRow]:
    rows = []
    for r in picked.itertuples(index=False):
        row = ClassRow(str(r.unit), float(r.mean_control), float(r.mean_experimental),
                       str(r.affected_corrected) == "True")  # fmt: skip
        for sample in sorted(images.loc[images["wnid"] == row.wnid, "sample"]):
            source = clean.get(_key(sample, row.wnid))
            if source is not None and len(row.pairs) < N_PAIRS:
                row.pairs.append(Pair(source, root / sample, PurePosixPath(sample).stem))
        rows.append(row)
    return rows


def plan(seed: pd.DataFrame, indexes: list[tuple[pd.DataFrame, dict]]) -> list[Gallery]:
    """One gallery per condition of each transforms benchmark in `indexes` (its images
    paired with those of the source index sharing the most class folders and stems)."""
    if seed.empty or "level" not in seed:
        return []
    transforms = [(f, m) for f, m in indexes if m.get("kind") == "transforms"]
    sources = [_lookup(f, m) for f, m in indexes if m.get("kind") != "transforms"]
    classes = seed[seed["level"] == "class"]
    out = []
    for frame, meta in transforms:
        bench = str(meta.get("benchmark", ""))
        keys = {_key(s, w) for s, w in frame[["sample", "wnid"]].itertuples(index=False)}
        clean = max(sources, key=lambda s: len(keys & s.keys()), default={})
        root = Path(meta.get("root", "."))
        rows = classes[classes["benchmark"].astype(str) == bench]
        for condition in dict.fromkeys(rows["condition"]):
            if _is_probe_step(condition):
                continue
            most, least = pick_classes(rows[rows["condition"] == condition])
            images = frame[frame["variant"] == condition]
            out.append(Gallery(bench, condition, _rows(most, images, clean, root),
                               _rows(least, images, clean, root)))  # fmt: skip
    return out


@cache
def _thumbnail(path: Path):  # noqa: ANN202 - a PIL image, or None for an unreadable file
    """The image decoded once (the project's decoder), shrunk to THUMB_SIDE on its long side."""
    from PIL import Image

    from shiftlab.corrupt.imageio import load_rgb
    from shiftlab.errors import UserError

    try:
        pixels = load_rgb(path, min_side=1).pixels
    except UserError as exc:
        log.warning("gallery: %s", exc)
        return None
    img = Image.fromarray(pixels)
    img.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return img


def _jpeg(path: Path, side: int, quality: int) -> bytes | None:
    from PIL import Image

    img = _thumbnail(path)
    if img is None:
        return None
    if max(img.size) > side:
        img = img.copy()
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def encode_pair(pair: Pair, budget: int) -> tuple[bytes, bytes] | None:
    """Both thumbnails of a pair at the first (side, quality) step where they fit `budget`
    bytes together: the same settings for both, so a difference is the transformation's."""
    encoded = None
    for side, quality in LADDER:
        a, b = _jpeg(pair.clean, side, quality), _jpeg(pair.transformed, side, quality)
        if a is None or b is None:
            return None
        encoded = (a, b)
        if len(a) + len(b) <= budget:
            break
    return encoded


def _img(data: bytes, alt: str) -> str:
    from PIL import Image

    width, height = Image.open(io.BytesIO(data)).size
    uri = base64.b64encode(data).decode("ascii")
    return (f'<img src="data:image/jpeg;base64,{uri}" width="{width}" height="{height}" '
            f'alt="{escape(alt)}" title="{escape(alt)}">')  # fmt: skip


def _class_row(row: ClassRow, condition: str, budget: int) -> str:
    label = (f'<td class="l"><code>{escape(row.wnid)}</code><br>{100 * row.clean_acc:.1f} % → '
             f"{100 * row.transformed_acc:.1f} %<br>"
             f"{'affected' if row.affected else 'not affected'}</td>")  # fmt: skip
    cells = []
    for pair in row.pairs:
        encoded = encode_pair(pair, budget)
        if encoded is not None:
            cells.append('<td class="pair">' + _img(encoded[0], f"{pair.name} clean")
                         + _img(encoded[1], f"{pair.name} {condition}") + "</td>")  # fmt: skip
    if not cells:
        cells.append('<td class="l">no images found</td>')
    return f"<tr>{label}{''.join(cells)}</tr>"


def _pair_budget(galleries: list[Gallery]) -> int:
    """Bytes two JPEGs of a pair may take so the whole gallery stays within BUDGET_BYTES."""
    n_rows = sum(len(g.most) + len(g.least) for g in galleries)
    n_pairs = max(sum(len(g.pairs()) for g in galleries), 1)
    scale = max(len(galleries) / BUDGET_CONDITIONS, 1.0)
    html = n_rows * PER_CLASS_HTML + 2 * n_pairs * PER_IMAGE_HTML
    return int((BUDGET_BYTES * scale - html) * 3 / 4 / n_pairs)


def gallery_html(galleries: list[Gallery]) -> str:
    """The galleries as one block of HTML ('' when there is none)."""
    if not galleries:
        return ""
    _thumbnail.cache_clear()  # files may have changed since an earlier report
    budget = _pair_budget(galleries)
    blocks = []
    for g in galleries:
        rows = []
        for title, picked in (("most affected", g.most), ("least affected", g.least)):
            rows.append(f'<tr><th class="l" colspan="{N_PAIRS + 1}">{title}</th></tr>')
            rows += [_class_row(r, g.condition, budget) for r in picked]
        anchor = escape(f"gallery-{g.benchmark}-{g.condition}")
        blocks.append(f'<div class="gallery" id="{anchor}"><h3>{escape(g.benchmark)}: '
                      f"{escape(g.condition)}</h3><table>{''.join(rows)}</table></div>")  # fmt: skip
    intro = (f"<p>Per transformation, the {N_CLASSES} classes with the largest accuracy drop and "
             f"the {N_CLASSES} with the smallest (or a gain): mean class accuracy over the runs, "
             "clean → transformed, and whether the corrected paired test calls the class "
             f"affected. Each pair: a clean image (left) and its transformed copy (right), at "
             f"most {THUMB_SIDE} px.</p>")  # fmt: skip
    return f'{intro}<div class="galleries">{"".join(blocks)}</div>'
