"""Benchmark registry: one entry per benchmark kind, with everything the pipeline must know.

An entry names its layout reader, class subset, expected counts, published download files
(with size and checksums where known), terms of use and evaluation protocol. Facts and their
sources: BENCHMARKS.md §2. Entries are registered with `@register_benchmark` (timm's shape:
a function returning the entry; a duplicate name warns and replaces).
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from shiftlab.errors import UserError


@dataclass(frozen=True)
class Source:
    """One published file of a benchmark; `extract` marks archives."""

    url: str
    filename: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    extract: bool = True
    note: str = ""


@dataclass(frozen=True)
class Protocol:
    """How the metrics must evaluate the benchmark.

    preprocess: `resize_crop` (the model's resize + centre crop) or `none` (images are already
    224 px and must not be resized: ImageNet-C/P). masking: the class subset whose logits the
    official code keeps (`imagenet_a`/`imagenet_r`/`imagenet_o`), `cue_conflict_16` for the
    16-category aggregation, or '' for the full label space.
    """

    preprocess: str = "resize_crop"
    masking: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    reader: str
    classes: str  # expected classes: imagenet1k | imagenet_a/r/o | cue_conflict_16 | tiny | any
    expected_count: int | None = None  # whole benchmark, or per variant cell when count_per_variant
    count_per_variant: bool = False
    expected_counts: dict[str, int] = field(default_factory=dict)  # variant -> count overrides
    variants: tuple[str, ...] = ()  # allowed variants ('' = free-form / none declared)
    variant_pattern: str = ""  # regex a variant must match when `variants` is empty
    top_dirs: tuple[str, ...] = ()  # archive top folders a root may contain ({variant} expands)
    sources: dict[str, tuple[Source, ...]] = field(default_factory=dict)  # fetch variant -> files
    manual: str = ""  # instructions when the files cannot be fetched automatically
    licence: str = ""
    protocol: Protocol = field(default_factory=Protocol)
    media: str = "image"  # image | video (ImageNet-P's MP4 sequences)
    extra: dict[str, object] = field(default_factory=dict)

    def expected_for(self, variant: str | None) -> int | None:
        if variant and variant in self.expected_counts:
            return self.expected_counts[variant]
        return self.expected_count

    def check_variant(self, variant: str | None) -> None:
        if not variant:
            return
        if self.variants and variant not in self.variants:
            raise UserError(
                f"{self.name} has no variant {variant!r}; allowed: {', '.join(self.variants)}"
            )
        if self.variant_pattern and not re.fullmatch(self.variant_pattern, variant):
            raise UserError(
                f"{self.name} variant {variant!r} does not match {self.variant_pattern!r} "
                f"({self.extra.get('variant_help', 'see shiftlab datasets list')})"
            )
        if not self.variants and not self.variant_pattern:
            raise UserError(f"{self.name} takes no --variant (got {variant!r})")

    def sources_for(self, variant: str | None) -> tuple[Source, ...]:
        """Files to fetch for a variant; C/P variants select the archive that holds them."""
        if not self.sources:
            return ()
        if not variant:
            return self.sources.get("", ())
        if variant in self.sources:
            return self.sources[variant]
        group = self.extra.get("variant_archive", {})
        head = variant.split("/")[0]
        if isinstance(group, dict) and head in group:
            return self.sources[group[head]]
        raise UserError(
            f"{self.name}: nothing to fetch for variant {variant!r}; "
            f"fetchable variants: {', '.join(k or '(default)' for k in self.sources)}"
        )


_REGISTRY: dict[str, Callable[[], Benchmark]] = {}


def register_benchmark(fn: Callable[[], Benchmark]) -> Callable[[], Benchmark]:
    """Register a benchmark entry function under its name."""
    name = fn.__name__
    if name in _REGISTRY:
        warnings.warn(f"benchmark {name!r} registered twice; the later entry wins", stacklevel=2)
    _REGISTRY[name] = fn
    return fn


def get_benchmark(name: str) -> Benchmark:
    try:
        entry = _REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown benchmark kind {name!r}; known: {', '.join(list_benchmarks())}"
        ) from None
    return entry()


def list_benchmarks(filter: str = "*") -> list[str]:
    """Registered kinds, sorted, optionally filtered by a wildcard pattern (`imagenet_*`)."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, filter))


# ---------------------------------------------------------------------------------------------
# Entries. Counts, URLs and checksums: BENCHMARKS.md §2 (section numbers in the comments).

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
            "softmax/argmax over those only (BENCHMARKS.md §2.6)",
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
        description="Your own ImageFolder: <wnid>/<file>, or <name>/<file> with a --class-map file",
        reader="wnid_folders",
        classes="any",
        manual="`folder` datasets are local: set `source: local` and `path:` in the config",
        licence="Yours",
    )
