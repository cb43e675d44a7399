"""Benchmark registry: timm-shaped registration, lookups, variants and published sources."""

from __future__ import annotations

import pytest

from shiftlab.data import registry
from shiftlab.data.registry import get_benchmark, list_benchmarks, register_benchmark
from shiftlab.errors import UserError

KINDS = {
    "imagenet_train", "imagenet_val", "imagenet_v2", "imagenet_sketch", "imagenet_a", "imagenet_r",
    "imagenet_o", "imagenet_c", "imagenet_p", "imagenet_real", "cue_conflict", "transforms",
    "tiny_imagenet", "tiny_imagenet_c", "folder",
}  # fmt: skip


def test_every_config_kind_is_registered():
    assert set(list_benchmarks()) == KINDS
    assert list_benchmarks("tiny_*") == ["tiny_imagenet", "tiny_imagenet_c"]
    with pytest.raises(UserError, match="unknown benchmark kind 'imagenet_x'"):
        get_benchmark("imagenet_x")


def test_duplicate_registration_warns(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def folder() -> registry.Benchmark:
        return registry.Benchmark(
            name="folder", description="", reader="wnid_folders", classes="any"
        )

    with pytest.warns(UserWarning, match="registered twice"):
        register_benchmark(folder)


def test_protocols_and_sources():
    assert get_benchmark("imagenet_c").protocol.preprocess == "none"
    assert get_benchmark("imagenet_p").protocol.preprocess == "none"
    assert get_benchmark("imagenet_v2").protocol.preprocess == "resize_crop"
    assert {
        get_benchmark(k).protocol.masking for k in ("imagenet_a", "imagenet_r", "imagenet_o")
    } == {"imagenet_a", "imagenet_r", "imagenet_o"}
    v2 = get_benchmark("imagenet_v2").sources_for("threshold0.7")[0]
    assert (v2.size, v2.sha256[:8]) == (1249906176, "32142bfe")
    c = get_benchmark("imagenet_c")
    assert [s.filename for s in c.sources_for(None)] == [
        "noise.tar",
        "blur.tar",
        "weather.tar",
        "digital.tar",
    ]
    assert c.sources_for("fog/3")[0].filename == "weather.tar"
    assert c.sources_for("speckle_noise")[0].md5 == "d492dfba5fc162d8ec2c3cd8ee672984"
    for kind in ("imagenet_val", "imagenet_train", "imagenet_sketch"):
        assert not get_benchmark(kind).sources and get_benchmark(kind).manual
    with pytest.raises(UserError, match="allowed: matched-frequency, threshold0.7, top-images"):
        get_benchmark("imagenet_v2").check_variant("matched_frequency")
    with pytest.raises(UserError, match="takes no --variant"):
        get_benchmark("imagenet_a").check_variant("x")
