"""The shipped published figures are the source files' bytes, with their known values."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files

import pytest

from shiftlab.report.zoo import CLEAN_200_FILES, TIMM_FILES, published, timm_results

FOLDER = files("shiftlab.resources") / "timm_results"
NAMES = sorted({f for f, _ in TIMM_FILES.values()} | set(CLEAN_200_FILES.values()))
# (file, tag, img_size) -> top1 as printed in timm's results files
KNOWN = {
    ("results-imagenet.csv", "resnet50.a1_in1k", 288): 81.240,
    ("results-imagenet.csv", "resnet50.a1_in1k", 224): 80.382,
    ("results-imagenet.csv", "resnet18.tv_in1k", 224): 69.752,
    ("results-imagenet-real.csv", "resnet50.a1_in1k", 288): 86.579,
    ("results-imagenetv2-matched-frequency.csv", "resnet50.a1_in1k", 224): 68.470,
    ("results-sketch.csv", "resnet50.a1_in1k", 224): 29.641,
    ("results-imagenet-a.csv", "resnet18.a1_in1k", 224): 2.440,
    ("results-imagenet-a-clean.csv", "resnet50.a1_in1k", 288): 94.770,
    ("results-imagenet-r.csv", "resnet50.a1_in1k", 224): 40.417,
    (
        "results-imagenet-r-clean.csv",
        "eva02_large_patch14_448.mim_in22k_ft_in22k_in1k",
        448,
    ): 98.160,
}


def test_every_file_is_the_recorded_source_copy() -> None:
    readme = (FOLDER / "README.md").read_text()
    recorded = dict((n, h) for h, n in re.findall(r"^([0-9a-f]{64})  (\S+\.csv)$", readme, re.M))
    assert sorted(recorded) == NAMES
    for name in NAMES:
        assert hashlib.sha256((FOLDER / name).read_bytes()).hexdigest() == recorded[name], name


@pytest.mark.parametrize("name", NAMES)
def test_row_counts_and_columns(name: str) -> None:
    table = timm_results(name)
    assert len(table) == 1556 and table["model"].nunique() > 1000
    assert list(table.columns[:9]) == ["model", "img_size", "top1", "top1_err", "top5",
                                       "top5_err", "param_count", "crop_pct", "interpolation"]  # fmt: skip
    assert ((table["top1"] + table["top1_err"]).round(2) == 100.0).all()
    assert not table.duplicated(["model", "img_size"]).any()


@pytest.mark.parametrize(("key", "value"), KNOWN.items())
def test_known_values(key: tuple, value: float) -> None:
    name, tag, size = key
    table = timm_results(name)
    assert (
        float(table[(table["model"] == tag) & (table["img_size"] == size)]["top1"].iat[0]) == value
    )
    kind = next(k for k, (f, _) in TIMM_FILES.items() if f == name) if "clean" not in name else None
    if kind is not None:
        assert published(tag, kind, size)[0] == value


def test_torchvision_figures_are_the_weights_meta() -> None:
    import torchvision

    w = torchvision.models.ResNet50_Weights.IMAGENET1K_V2
    figure, source, _ = published("tv:resnet50.IMAGENET1K_V2", "imagenet_val", 224)
    assert figure == w.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 80.858
    assert "meta['_metrics']" in source
    assert published("tv:resnet50.IMAGENET1K_V2", "imagenet_val", 288)[0] is None
