"""Synthetic shifts of ImageNet: ImageNet-C corruptions, ImageNet-P sequences, transforms.

Facts and their sources: docs/benchmarks.md §2 (section numbers in the comments).
"""

from __future__ import annotations

from shiftlab.data.registry import Benchmark, Protocol, Source, register_benchmark

_C_ARCHIVES: dict[str, tuple[str, str]] = {
    # tar -> (md5 §2.7, corruptions inside)
    "noise": ("e80562d7f6c3f8834afb1ecf27252745", "gaussian_noise shot_noise impulse_noise"),
    "blur": ("2d8e81fdd8e07fef67b9334fa635e45c", "defocus_blur glass_blur motion_blur zoom_blur"),
    "weather": ("33ffea4db4d93fe4a428c40a6ce0c25d", "frost snow fog brightness"),
    "digital": (
        "89157860d7b10d5797849337ca2e5c03",
        "contrast elastic_transform pixelate jpeg_compression",
    ),
    "extra": ("d492dfba5fc162d8ec2c3cd8ee672984", "speckle_noise spatter gaussian_blur saturate"),
}
IMAGENET_C_CORRUPTIONS: tuple[str, ...] = tuple(
    c for _, names in _C_ARCHIVES.values() for c in names.split()
)


@register_benchmark
def imagenet_c() -> Benchmark:
    zen = "https://zenodo.org/record/2235448/files/"
    sources = {
        group: (Source(zen + f"{group}.tar", f"{group}.tar", md5=md5),)
        for group, (md5, _) in _C_ARCHIVES.items()
    }
    sources[""] = tuple(sources[g][0] for g in ("noise", "blur", "weather", "digital"))
    return Benchmark(
        name="imagenet_c",
        description="ImageNet-C: <corruption>/<severity 1-5>/<wnid>/ILSVRC2012_val_*.JPEG",
        reader="cells",
        classes="imagenet1k",
        expected_count=50_000,
        count_per_variant=True,
        variant_pattern=r"[a-z_]+(/[1-5])?",
        sources=sources,
        licence="Derived from ImageNet val: ImageNet terms of access apply; see Zenodo record 2235448",
        protocol=Protocol(
            preprocess="none",
            notes="224 px JPEGs (quality 85): no resize/crop, only ToTensor+Normalize (§2.7)",
        ),
        extra={
            "variant_help": "corruption/severity, e.g. gaussian_noise/3, or a corruption name",
            "variant_archive": {
                c: group for group, (_, names) in _C_ARCHIVES.items() for c in names.split()
            },
        },
    )


@register_benchmark
def imagenet_p() -> Benchmark:
    zen = "https://zenodo.org/record/3565846/files/"
    md5 = {  # §2.8: single third-party source, unverified
        "blur": "869b2d2fb1604d1baa4316b5ecc9fdea",
        "digital": "8c1f73e4912812788e2fdb637cd55372",
        "noise": "619b37b5139ce764f77ce3bed3aee837",
        "weather": "a597ff6db8c6fb0dbcd6eb12ed620002",
    }
    sources = {
        g: (Source(zen + f"{g}.tar", f"{g}.tar", md5=m, note="md5 from one third-party loader"),)
        for g, m in md5.items()
    }
    sources[""] = tuple(s[0] for s in sources.values())
    return Benchmark(
        name="imagenet_p",
        description="ImageNet-P: <perturbation>[_<difficulty>]/<wnid>/ILSVRC2012_val_*.mp4",
        reader="perturbation_folders",
        classes="imagenet1k",
        media="video",
        count_per_variant=True,
        variant_pattern=r"[a-z_]+(_[23])?",
        sources=sources,
        licence="Derived from ImageNet val: ImageNet terms of access apply; see Zenodo record 3565846",
        protocol=Protocol(
            preprocess="none",
            notes="224 px MP4 frames: no resize; noise sequences compare with frame 0, others "
            "with the previous frame (§3.3)",
        ),
        extra={"variant_help": "perturbation folder, e.g. gaussian_noise or gaussian_noise_2"},
    )


@register_benchmark
def transforms() -> Benchmark:
    return Benchmark(
        name="transforms",
        description="Sensitivity transforms (derived): <transform>/<wnid>/<file>",
        reader="perturbation_folders",
        classes="imagenet1k",
        count_per_variant=True,
        variant_pattern=r"[A-Za-z0-9_.+-]+",
        manual="transforms are materialized by `shiftlab corrupt --kind t`, not downloaded",
        licence="Derived from the source benchmark: its terms apply",
        protocol=Protocol(preprocess="none"),
    )
