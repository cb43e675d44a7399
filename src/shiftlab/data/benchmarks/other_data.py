"""Benchmarks on other data than ImageNet-1k: Tiny ImageNet, Tiny-ImageNet-C, your own folder.

Facts and their sources: docs/benchmarks.md §2 (section numbers in the comments).
"""

from __future__ import annotations

from shiftlab.data.registry import Benchmark, Protocol, Source, register_benchmark


@register_benchmark
def tiny_imagenet() -> Benchmark:
    return Benchmark(
        name="tiny_imagenet",
        description="Tiny ImageNet: train/<wnid>/images/*.JPEG; val/images + val_annotations.txt",
        reader="tiny_imagenet",
        classes="tiny",
        expected_count=10_000,
        expected_counts={"train": 100_000, "val": 10_000},
        variants=("train", "val"),
        top_dirs=("tiny-imagenet-200/{variant}", "{variant}"),
        sources={
            "": (
                Source(
                    "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
                    "tiny-imagenet-200.zip",
                    248_100_043,
                    md5="90528d7ca1a48142e341f4ef8d21d0de",
                    note="md5 and size from third-party loaders",
                ),
            )
        },
        licence="Stanford CS231n; images from ImageNet: ImageNet terms of access apply",
    )


@register_benchmark
def tiny_imagenet_c() -> Benchmark:
    return Benchmark(
        name="tiny_imagenet_c",
        description="Tiny-ImageNet-C: <corruption>/<severity>/<wnid>/*.JPEG (64 px)",
        reader="cells",
        classes="tiny",
        expected_count=10_000,
        count_per_variant=True,
        variant_pattern=r"[a-z_]+(/[1-5])?",
        top_dirs=("Tiny-ImageNet-C",),
        sources={
            "": (
                Source(
                    "https://zenodo.org/record/8206060/files/Tiny-ImageNet-C.tar",
                    "Tiny-ImageNet-C.tar",
                    md5="f9c9a9dbdc11469f0b850190f7ad8be1",
                    note="md5 from one third-party loader (torch-uncertainty)",
                ),
            )
        },
        licence="Derived from Tiny ImageNet: ImageNet terms of access apply",
        protocol=Protocol(preprocess="none"),
        extra={"variant_help": "corruption/severity, e.g. fog/2"},
    )


@register_benchmark
def folder() -> Benchmark:
    return Benchmark(
        name="folder",
        description="Your own ImageFolder: <class>/<file> (class names or wnids of the label space), <class>/<group>/<file> with groups",
        reader="wnid_folders",
        classes="any",
        manual="`folder` datasets are local: set `source: local` and `path:` in the config",
        licence="Yours",
    )
