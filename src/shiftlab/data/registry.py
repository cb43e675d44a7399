"""Benchmark registry: one entry per benchmark kind, with everything the pipeline must know.

An entry names its layout reader, class subset, expected counts, published download files
(with size and checksums where known), terms of use and evaluation protocol. Facts and their
sources: docs/benchmarks.md §2. Entries are registered with `@register_benchmark` (timm's shape:
a function returning the entry; a duplicate name warns and replaces); the built-in ones live
in `shiftlab.data.benchmarks`.
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from shiftlab.errors import UserError
from shiftlab.variants import corruption_of


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
        head = corruption_of(variant)
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
