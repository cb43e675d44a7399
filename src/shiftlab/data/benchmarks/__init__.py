"""The built-in benchmark entries, registered with `shiftlab.data.registry` on import.

Counts, URLs and checksums: docs/benchmarks.md §2 (section numbers in the comments). One module
per family: ImageNet and its re-collected and re-labelled test sets (`imagenet`), the
synthetic corruptions of ImageNet (`synthetic`), and benchmarks on other data
(`other_data`). `shiftlab.data` imports this package, so every lookup sees all entries.
"""

from shiftlab.data.benchmarks import imagenet, other_data, synthetic

__all__ = ["imagenet", "other_data", "synthetic"]
