"""ImageNet-1k and its natural-shift test sets: V2, Sketch, A, R, O, ReaL, cue-conflict.

Facts and their sources: docs/benchmarks.md §2 (section numbers in the comments).
"""

from __future__ import annotations

from shiftlab.data.registry import Benchmark, Protocol, Source, register_benchmark

IMAGENET_TERMS = (
    "ImageNet terms of access: non-commercial research and educational use only "
    "(https://image-net.org/download)"
)
_HENDRYCKS = "https://people.eecs.berkeley.edu/~hendrycks/"
_V2_HF = "https://huggingface.co/datasets/vaishaal/ImageNetV2/resolve/main/"

_IMAGENET_MANUAL = (
    "ImageNet cannot be downloaded automatically: register at https://image-net.org, download "
    "{files}, and either extract it to {where} or point a `source: local` benchmark at an "
    "existing copy (see `shiftlab datasets check`)"
)


@register_benchmark
def imagenet_train() -> Benchmark:
    return Benchmark(
        name="imagenet_train",
        description="ImageNet-1k train: <wnid>/<file>.JPEG",
        reader="wnid_folders",
        classes="imagenet1k",
        expected_count=1_281_167,
        manual=_IMAGENET_MANUAL.format(
            files="ILSVRC2012_img_train.tar (138 GB; one inner tar per wnid)",
            where="<dest>/<wnid>/*.JPEG (untar each inner <wnid>.tar into a folder of that name)",
        ),
        licence=IMAGENET_TERMS,
    )


@register_benchmark
def imagenet_val() -> Benchmark:
    # §2.11. The flat form (ILSVRC2012_val_XXXXXXXX.JPEG in one folder) needs ground truth:
    # the devkit's ILSVRC2012_validation_ground_truth.txt + data/meta.mat, or Kaggle's
    # LOC_val_solution.csv.
    return Benchmark(
        name="imagenet_val",
        description="ImageNet-1k val: <wnid>/<file>.JPEG, or flat files + devkit/Kaggle ground truth",
        reader="imagenet_val",
        classes="imagenet1k",
        expected_count=50_000,
        manual=_IMAGENET_MANUAL.format(
            files="ILSVRC2012_img_val.tar (6744924160 bytes, sha256 "
            "c7e06a6c0baccf06d8dbeb6577d71efff84673a5dbdd50633ab44f8ea0456ae0) and "
            "ILSVRC2012_devkit_t12.tar.gz (md5 fa75699e90414af021442c21a62c3abf)",
            where="<dest>/ (flat ILSVRC2012_val_*.JPEG next to ILSVRC2012_devkit_t12.tar.gz, or "
            "sorted into <wnid>/ folders)",
        ),
        licence=IMAGENET_TERMS,
    )


@register_benchmark
def imagenet_v2() -> Benchmark:
    # §2.1: folders are the decimal ImageNet class index (0..999, not zero-padded).
    def src(name: str, size: int, sha: str) -> tuple[Source, ...]:
        return (
            Source(_V2_HF + f"imagenetv2-{name}.tar.gz", f"imagenetv2-{name}.tar.gz", size, sha),
        )

    return Benchmark(
        name="imagenet_v2",
        description="ImageNetV2: imagenetv2-<variant>-format-val/<class index>/<hash>.jpeg",
        reader="v2_folders",
        classes="imagenet1k",
        expected_count=10_000,
        variants=("matched-frequency", "threshold0.7", "top-images"),
        top_dirs=("imagenetv2-{variant}-format-val",),
        sources={
            "": src(
                "matched-frequency",
                1264079360,
                "f0c37fdf925916b19ea1323cd9a2208cdb6959ba2c32eef2a7fc393835c9ca7c",
            ),
            "matched-frequency": src(
                "matched-frequency",
                1264079360,
                "f0c37fdf925916b19ea1323cd9a2208cdb6959ba2c32eef2a7fc393835c9ca7c",
            ),
            "threshold0.7": src(
                "threshold0.7",
                1249906176,
                "32142bfe998f9cfa4141be691f6a80eeb1e27b24bd532a668eb08c26d98897a2",
            ),
            "top-images": src(
                "top-images",
                1245927936,
                "85e4ace30f3f0d660152062254b8759dda66267b27f7ec0fd8d5768f1073a04b",
            ),
        },  # fmt: skip
        licence="Images collected from Flickr like ImageNet's; research use under ImageNet's terms "
        "(see modestyachts/ImageNetV2)",
    )


@register_benchmark
def imagenet_sketch() -> Benchmark:
    # §2.2: 50,889 images (the README's 50,000 is nominal).
    return Benchmark(
        name="imagenet_sketch",
        description="ImageNet-Sketch: sketch/<wnid>/<file>.JPEG",
        reader="wnid_folders",
        classes="imagenet1k",
        expected_count=50_889,
        top_dirs=("sketch",),
        manual=(
            "ImageNet-Sketch is hosted on Google Drive / Kaggle, which need an interactive login: "
            "download ImageNet-Sketch.zip (7593573012 bytes, sha256 "
            "4d3ce6b82a7c48aabf14aeac105eb533e75707f152cc858f55bfc022031a72ed) from "
            "https://drive.google.com/open?id=1Mj0i5HBthqH1p_yeXzsg22gZduvgoNeA or Kaggle "
            "wanghaohan/imagenetsketch, then run `shiftlab fetch imagenet_sketch --dest <dest> "
            "--url file:///path/to/ImageNet-Sketch.zip --sha256 4d3ce6b8...72ed` (or unzip it so "
            "that <dest>/sketch/<wnid>/*.JPEG exists)"
        ),
        licence="See HaohanWang/ImageNet-Sketch (images gathered from Google Image search; research use)",
    )


def _subset_entry(
    kind: str, label: str, count: int, source: Source, extra_note: str = ""
) -> Benchmark:
    top = kind.replace("_", "-")
    return Benchmark(
        name=kind,
        description=f"{label}: {top}/<wnid>/<file> for 200 wnids ({extra_note or 'class subset'})",
        reader="wnid_folders",
        classes=kind,
        expected_count=count,
        top_dirs=(top,),
        sources={"": (source,)},
        licence="See the hendrycks repository README (MIT-licensed code; web images, research use)",
        protocol=Protocol(
            masking=kind,
            notes="logits masked to the 200 subset classes (ascending ImageNet index), "
            "softmax/argmax over those only (docs/benchmarks.md §2.6)",
        ),
    )


@register_benchmark
def imagenet_a() -> Benchmark:
    # §2.3: README.txt at the top level is not a class.
    return _subset_entry(
        "imagenet_a",
        "ImageNet-A",
        7_500,
        Source(
            _HENDRYCKS + "imagenet-a.tar",
            "imagenet-a.tar",
            687552512,
            "3bb3632277e6ba6392ea64c02ddbf4dd2266c9caffd6bc09c9656d28f012589e",
            "c3e55429088dc681f30d81f4726b6595",
        ),
    )


@register_benchmark
def imagenet_r() -> Benchmark:
    return _subset_entry(
        "imagenet_r",
        "ImageNet-R",
        30_000,
        Source(
            _HENDRYCKS + "imagenet-r.tar",
            "imagenet-r.tar",
            2191079936,
            "18c6bf493b39a0d975d48e587437f562caab9c52ae6327dcfa9dd8eb54aa1b52",
            "a61312130a589d0ca1a8fca1f2bd3337",
        ),
    )


@register_benchmark
def imagenet_o() -> Benchmark:
    # §2.4/§3.4: OOD set; its folder wnids define the in-distribution val subset. Size and count
    # are unverified (2,000 per the paper).
    entry = _subset_entry(
        "imagenet_o",
        "ImageNet-O",
        2_000,
        Source(
            _HENDRYCKS + "imagenet-o.tar",
            "imagenet-o.tar",
            md5="86bd7a50c1c4074fb18fc5f219d6d50b",
            note="md5 from third-party loaders; size unpublished",
        ),
        "out-of-distribution; target -1 unless the label space holds the wnid",
    )
    return entry


@register_benchmark
def imagenet_real() -> Benchmark:
    # §2.9: 50,000 label lists over val (by file name), 3,163 of them empty.
    return Benchmark(
        name="imagenet_real",
        description="ImageNet ReaL: real.json label sets over ImageNet val, matched by file name",
        reader="real",
        classes="imagenet1k",
        expected_count=50_000,
        sources={
            "": (
                Source(
                    "https://raw.githubusercontent.com/google-research/reassessed-imagenet/master/real.json",
                    "real.json",
                    388_478,
                    "d83e9bff374c631aae8439eb064c7019acc56e1b3bc3f56b8380c2a710b0220b",
                    "c03b536b209b127cb61430fd1ce950d5",
                    extract=False,
                ),
            )
        },
        licence="Apache-2.0 (google-research/reassessed-imagenet); images: ImageNet terms",
        protocol=Protocol(
            notes="correct@k if any top-k prediction is in the label set; empty sets are "
            "excluded from numerator and denominator (§3.5)"
        ),
        extra={"empty_lists": 3_163, "scored": 46_837},
    )


@register_benchmark
def cue_conflict() -> Benchmark:
    return Benchmark(
        name="cue_conflict",
        description="model-vs-human cue-conflict: <shape category>/<shape>N-<texture>M.png",
        reader="cue_conflict",
        classes="cue_conflict_16",
        expected_count=1_280,
        top_dirs=("cue-conflict",),
        sources={
            "": (
                Source(
                    "https://github.com/bethgelab/model-vs-human/releases/download/v0.1/cue-conflict.tar.gz",
                    "cue-conflict.tar.gz",
                    note="no published checksum",
                ),
            )
        },
        licence="See bethgelab/model-vs-human (stimuli derived from ImageNet images)",
        protocol=Protocol(
            masking="cue_conflict_16",
            notes="mean softmax probability per category, argmax over 16; rows with shape == "
            "texture are dropped from shape bias (§2.10)",
        ),
    )
