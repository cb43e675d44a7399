"""Benchmark data: registry, layout readers, indexes, fingerprints, fetching and extraction.

Kept import-light (no pandas/torch at import) so CLI start-up stays fast.
"""

# Imported for its side effect: it registers the built-in entries, and every import of a
# shiftlab.data module runs this file first, so each lookup sees them.
from shiftlab.data import benchmarks  # noqa: F401
from shiftlab.data.registry import (
    Benchmark,
    Protocol,
    Source,
    get_benchmark,
    list_benchmarks,
    register_benchmark,
)


def read_index(path):  # noqa: ANN001, ANN201 - re-exported; see shiftlab.data.index.read_index
    """Read a dataset index -> (pandas.DataFrame, metadata dict)."""
    from shiftlab.data.index import read_index as _read_index

    return _read_index(path)


__all__ = [
    "Benchmark",
    "Protocol",
    "Source",
    "get_benchmark",
    "list_benchmarks",
    "read_index",
    "register_benchmark",
]
