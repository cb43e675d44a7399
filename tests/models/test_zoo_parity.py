"""Model input equals the zoo's own eval transform on real photographs.

The reference is the zoo's code itself: timm's `resolve_data_config` + `create_transform`
(as its validate.py builds them) and torchvision's `weights.transforms()`, applied to
scikit-image's photographs (square and non-square). shiftlab's loaders (per image, and
uint8 batches normalised as on a GPU) must give the same tensor within 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shiftlab.evaluate.loaders import EncodedRows, ImageRows, Normalizer, decode_on_device
from shiftlab.models import data_config
from shiftlab.models.preprocess import timm_data_config

skimage_data = pytest.importorskip("skimage.data")
timm_data = pytest.importorskip("timm.data")

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera")  # rocket/coffee/chelsea: not square
# Families x crop modes x test sizes: several tags publish a larger `test_input_size`
# (resnet50.a1_in1k, convnext, efficientnet_b*.ra*, regnet) and several `squash` or `border`.
TAGS = (
    "resnet50.a1_in1k",
    "resnet18.tv_in1k",
    "convnext_tiny.fb_in1k",
    "convnext_atto.d2_in1k",
    "convnext_base.clip_laion2b_augreg_ft_in12k_in1k_384",
    "efficientnet_b0.ra_in1k",
    "tf_efficientnet_b3.ns_jft_in1k",
    "mobilenetv3_large_100.ra_in1k",
    "regnety_040.ra3_in1k",
    "vit_base_patch16_224.augreg2_in21k_ft_in1k",
    "vit_so400m_patch14_siglip_378.webli_ft_in1k",
    "deit_small_patch16_224.fb_in1k",
    "swin_tiny_patch4_window7_224.ms_in1k",
    "beit_base_patch16_224.in22k_ft_in22k_in1k",
    "eva02_base_patch14_448.mim_in22k_ft_in22k_in1k",
    "coatnet_rmlp_2_rw_384.sw_in12k_ft_in1k",
    "coat_lite_medium_384.in1k",
    "maxvit_tiny_tf_224.in1k",
    "levit_128.fb_dist_in1k",
    "densenet121.tv_in1k",
    "inception_v3.tv_in1k",
    "mixer_b16_224.goog_in21k_ft_in1k",
    "caformer_s18.sail_in1k",
    "edgenext_small.usi_in1k",
    "rexnet_100.nav_in1k",
    "deepseek_vit_412m.deepseek_v4_1_flash",
)
TOL = 1e-5


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, list[str]]:
    """The photographs as lossless PNG files, as a benchmark folder would hold them."""
    root = tmp_path_factory.mktemp("photos")
    names = []
    for name in PHOTOS:
        pixels = getattr(skimage_data, name)()
        if pixels.ndim == 2:  # the cameraman is greyscale: a non-RGB file to convert
            pixels = np.asarray(pixels)
        Image.fromarray(pixels).save(root / f"{name}.png")
        names.append(f"{name}.png")
    return root, names


def _zoo(transform, root: Path, names: list[str]) -> list[torch.Tensor]:
    return [transform(Image.open(root / n).convert("RGB")) for n in names]


def _ours(cfg: dict, root: Path, names: list[str]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-image loader output, and the uint8 rows normalised as a batch (the CUDA path)."""
    one = ImageRows(str(root), names, cfg, resize=True)
    raw = ImageRows(str(root), names, cfg, resize=True, raw=True)
    norm = Normalizer(cfg)
    # the CUDA path normalises uint8 batches on the device; on a CPU-only machine, on the CPU
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return [one[i][0] for i in range(len(names))], [
        norm.batch(raw[i][0][None].to(dev))[0].cpu() for i in range(len(names))
    ]


def _assert_same(zoo: list[torch.Tensor], ours: list[torch.Tensor], what: str) -> None:
    for z, o, n in zip(zoo, ours, PHOTOS, strict=True):
        assert z.shape == o.shape, (what, n, z.shape, o.shape)
        diff = float((z - o).abs().max())
        assert diff <= TOL, (what, n, diff)


def _timm_reference(pcfg: dict, size: str | int) -> object:
    args = {"input_size": (3, size, size)} if isinstance(size, int) else {}
    cfg = timm_data.resolve_data_config(args, pretrained_cfg=pcfg, use_test_size=size != "train")
    return timm_data.create_transform(**cfg, is_training=False)


def test_tags_cover_families_modes_and_test_sizes() -> None:
    from timm.models import get_pretrained_cfg

    cfgs = [get_pretrained_cfg(t) for t in TAGS]
    assert len({t.split("_")[0].split(".")[0] for t in TAGS}) >= 20
    assert {c.crop_mode for c in cfgs} == {"center", "squash", "border"}
    assert sum(c.test_input_size is not None for c in cfgs) >= 4


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("size", ["test", "train"])
def test_timm_tag_own_geometry(photos, tag: str, size: str) -> None:
    from timm.models import get_pretrained_cfg

    root, names = photos
    cfg = data_config(tag, input_size=size)
    assert cfg["size"] == size and cfg["zoo"] == "timm"
    zoo = _zoo(_timm_reference(get_pretrained_cfg(tag).to_dict(), size), root, names)
    one, batched = _ours(cfg, root, names)
    _assert_same(zoo, one, f"{tag} {size}")
    _assert_same(zoo, batched, f"{tag} {size} batched")


@pytest.mark.parametrize("tag", TAGS[:20])
@pytest.mark.parametrize("mode", ["center", "squash", "border"])
@pytest.mark.parametrize("size", ["test", "train", 160])
def test_timm_every_crop_mode(photos, tag: str, mode: str, size: str | int) -> None:
    """Each tag's config with each crop mode forced, at test, train and a pixel size."""
    from timm.models import get_pretrained_cfg

    root, names = photos
    pcfg = get_pretrained_cfg(tag).to_dict() | {"crop_mode": mode}
    cfg = timm_data_config(pcfg, size)
    assert cfg["crop_mode"] == mode
    one, batched = _ours(cfg, root, names)
    zoo = _zoo(_timm_reference(pcfg, size), root, names)
    _assert_same(zoo, one, f"{tag} {mode} {size}")
    _assert_same(zoo, batched, f"{tag} {mode} {size} batched")


def _tv_weights() -> list[tuple[str, object]]:
    import torchvision

    out = []
    for arch in torchvision.models.list_models(module=torchvision.models):
        try:
            enum = torchvision.models.get_model_weights(arch)
        except ValueError:
            continue
        out += [(f"tv:{arch}.{w.name}", w) for w in enum]
    return out


def test_every_torchvision_weights_enum(photos) -> None:
    root, names = photos
    weights = _tv_weights()
    assert len(weights) > 100
    for name, w in weights:
        cfg = data_config(name)
        assert cfg["zoo"] == "torchvision"
        zoo = _zoo(w.transforms(), root, names)
        one, batched = _ours(cfg, root, names)
        _assert_same(zoo, one, name)
        _assert_same(zoo, batched, f"{name} batched")


def test_files_read_without_resize_decode_as_the_zoo_reads_them(tmp_path, photos) -> None:
    """The GPU-decode path's batch (decode_on_device, here on the CPU) normalises a JPEG
    exactly as the zoo's tensor tail does on the same file's PIL decode."""
    root, names = photos
    cfg = data_config("resnet50.a1_in1k")
    crop = ImageRows(str(root), names, cfg, resize=True, raw=True)
    jpegs = []
    for i, n in enumerate(names):
        Image.fromarray(crop[i][0].numpy()).save(tmp_path / f"{n}.jpg", quality=85)
        jpegs.append(f"{n}.jpg")
    items = [EncodedRows(str(tmp_path), jpegs)[i] for i in range(len(jpegs))]
    decoded = dict(
        (row, img) for img, row in decode_on_device(items, tmp_path, jpegs, torch.device("cpu"))
    )
    tail = timm_data.create_transform(**timm_data.resolve_data_config({}, pretrained_cfg={
        **cfg, "crop_pct": 1.0}), is_training=False).transforms[-2:]  # fmt: skip
    norm = Normalizer(cfg)
    for row, n in enumerate(jpegs):
        ref = Image.open(tmp_path / n).convert("RGB")
        for t in tail:
            ref = t(ref)
        ours = norm.batch(decoded[row].permute(1, 2, 0)[None])[0]
        assert float((ours - ref).abs().max()) <= TOL, n
