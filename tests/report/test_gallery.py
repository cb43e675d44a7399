"""The class gallery: real images indexed and transformed by the shiftlab verbs, the seed
table from the real aggregate code, and the report's choice of classes and thumbnails."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from study_fixture import WNIDS, make_study

from shiftlab.cli import main
from shiftlab.report.gallery import BUDGET_BYTES, THUMB_SIDE, pick_classes

PER_CLASS = 4


def _images(root):
    """Clean val images <wnid>/img<i>.JPEG (the fixture's sample names), 96x72 noisy
    colour fields, one hue per class."""
    rng = np.random.default_rng(0)
    for c, wnid in enumerate(WNIDS):
        (root / wnid).mkdir(parents=True)
        for i in range(PER_CLASS):
            base = np.array([40 * c % 256, 255 - 40 * c, 60 + 30 * i], dtype=float)
            pixels = base + rng.normal(0, 40, (72, 96, 3)) + np.linspace(0, 60, 96)[None, :, None]
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                root / wnid / f"img{i}.JPEG", quality=90
            )


def _indexes(tmp):
    """val index, the transforms copy (`shiftlab corrupt --kind t`) and its index."""
    space = tmp / "wnids.txt"
    space.write_text("\n".join(WNIDS) + "\n")
    _images(tmp / "data" / "val")
    val, t = tmp / "index" / "val.parquet", tmp / "index" / "t.parquet"
    common = ["--label-space", str(space), "--no-fingerprint"]
    assert main(["index", "imagenet_val", str(tmp / "data" / "val"), "--out", str(val),
                 "--benchmark", "val", *common]) == 0  # fmt: skip
    transforms = {"rotation": {}, "hflip": {}, "crop_shift": {"max_shift": 3}}
    assert main(["corrupt", "--index", str(val), "--kind", "t", "--out", str(tmp / "data" / "val-t"),
                 "--seed", "0", "--params-json", json.dumps({"transforms": transforms}),
                 "--quiet"]) == 0  # fmt: skip
    assert main(["index", "transforms", str(tmp / "data" / "val-t"), "--out", str(t),
                 "--benchmark", "t", *common]) == 0  # fmt: skip
    return [str(val), str(t)]


def _report(root, benchmarks, indexes):
    study = make_study(root, benchmarks=benchmarks, per_class=PER_CLASS)
    assert main(["aggregate", "--study", "demo", "--metrics", *study["metrics"], "--predictions",
                 *study["predictions"], "--stats-json", study["stats_json"], "--out-dir", str(root),
                 "--config-sha256", "feed"]) == 0  # fmt: skip
    out = root / "report.html"
    assert main(["report", "--results-dir", str(root), "--out", str(out),
                 "--indexes", *indexes]) == 0  # fmt: skip
    return out.read_text()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gallery")
    indexes = _indexes(tmp)
    root = tmp / "results" / "demo"
    return root, _report(root, ("val", "t"), indexes), indexes


def _gallery(page: str, condition: str) -> str:
    start = page.index(f'<div class="gallery" id="gallery-t-{condition}">')
    return page[start : page.index("</div>", start)]


def test_gallery_shows_the_most_and_least_affected_classes(study):
    root, page, _ = study
    seed = pd.read_csv(root / "stats" / "seed_ttests.csv", dtype={"condition": str, "unit": str})
    classes = seed[(seed.level == "class") & (seed.benchmark == "t")]
    assert set(classes.condition) >= {"rotation", "hflip", "crop_shift_0"}
    shown = re.findall(r'id="gallery-t-([^"]+)"', page)
    assert shown == ["hflip", "rotation"]  # shift-probe steps are left out
    for condition in shown:
        table = classes[classes.condition == condition]
        # most negative change first; then the largest (closest to 0 or a gain); ties by wnid
        ranked = sorted(table.itertuples(), key=lambda r: (r.diff, r.unit))
        worst = [r.unit for r in ranked[:3]]
        best = [r.unit for r in sorted(ranked[3:], key=lambda r: (-r.diff, r.unit))[:3]]
        html = _gallery(page, condition)
        most, least = html.split("least affected")
        assert re.findall(r"<code>(n\d+)</code>", most) == worst
        assert re.findall(r"<code>(n\d+)</code>", least) == best
        diff = table.set_index("unit")["diff"]
        assert diff[worst].max() <= diff[best].min()
        # the labels: accuracy clean -> transformed in percent, the corrected verdict
        for r in table.itertuples():
            if r.unit in worst + best:
                label = (f"<code>{r.unit}</code><br>{100 * r.mean_control:.1f} % → "
                         f"{100 * r.mean_experimental:.1f} %<br>"
                         f"{'affected' if r.affected_corrected else 'not affected'}")  # fmt: skip
                assert label in html


def test_thumbnails_are_small_jpegs_of_the_right_images(study):
    _, page, _ = study
    html = _gallery(page, "rotation")
    images = re.findall(r'src="data:image/jpeg;base64,([^"]+)"[^>]*alt="([^"]+)"', html)
    assert len(images) == 6 * 3 * 2  # 6 classes, 3 pairs each, clean + transformed
    titles = [alt for _, alt in images]
    assert titles[:2] == ["img0 clean", "img0 rotation"]
    for data, _ in images:
        img = Image.open(io.BytesIO(base64.b64decode(data)))
        assert img.format == "JPEG"
        img.load()
        assert max(img.size) <= THUMB_SIDE and img.size[0] > img.size[1]  # 96x72 kept 4:3
    start = page.index('<div class="galleries">')
    assert len(page[start : page.index("</section>", start)].encode()) < BUDGET_BYTES


def test_classes_without_images_are_said_so():
    from shiftlab.report.gallery import ClassRow, Gallery, gallery_html

    rows = [ClassRow(f"n{i}", 0.5, 0.4, False) for i in range(3)]
    assert gallery_html([]) == ""
    html = gallery_html([Gallery("t", "rotation", rows, rows)])
    assert html.count("no images found") == 6 and "data:image" not in html


def test_pick_classes_orders_by_diff_and_keeps_the_sets_apart():
    table = pd.DataFrame(
        {"unit": ["a", "b", "c", "d", "e"], "diff": [0.1, -0.5, 0.0, -0.2, np.nan]}
    )
    most, least = pick_classes(table)
    assert most.unit.tolist() == ["b", "d", "c"] and least.unit.tolist() == ["a"]


def test_no_gallery_without_a_transforms_benchmark(tmp_path, study):
    _, _, indexes = study
    page = _report(tmp_path / "demo", ("val", "c"), indexes[:1])
    assert 'id="class-sensitivity"' in page  # the corruption's seed analyses are there
    assert 'class="gallery"' not in page and "data:image/jpeg" not in page
