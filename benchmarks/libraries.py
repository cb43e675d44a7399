"""Own code against the well-kept library that gives the same numbers, side by side.

shiftlab calls scipy/scikit-learn wherever the library is not on a hot path. Three small
functions stay written here because they run inside loops that a 1,000-class study repeats
hundreds of thousands of times; this script prints, for each, the library's time per call
over ours (a ratio > 1 means the library is slower) and the largest difference of the
values, so the choice can be re-checked on any machine:

- Clopper-Pearson bounds (`metrics.intervals.clopper_pearson`) vs
  `scipy.stats.binomtest(k, n).proportion_ci(method="exact")`: one per class x run x benchmark;
- AUROC and AUPR (`metrics.ood`) vs `sklearn.metrics.roc_auc_score` /
  `average_precision_score` at ImageNet-O size: each inside a 1,000-replicate bootstrap.

    .venv/bin/python benchmarks/libraries.py [--repeats 200] [--n 2000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def _per_call(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (imports, caches)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def _row(name: str, ours: float, library: float, diff: float) -> None:
    print(
        f"{name:<16} ours {ours * 1e6:9.1f} us  library {library * 1e6:9.1f} us  "
        f"library/ours {library / ours:6.1f}x  max |diff| {diff:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--n", type=int, default=2000, help="in- and out-of-distribution size")
    args = parser.parse_args()

    from scipy.stats import binomtest
    from sklearn.metrics import average_precision_score, roc_auc_score

    from shiftlab.metrics.intervals import clopper_pearson
    from shiftlab.metrics.ood import aupr, auroc

    ks = list(range(0, 51))
    diff = max(
        max(
            abs(a - b)
            for a, b in zip(clopper_pearson(k, 50), _exact(binomtest(k, 50)), strict=True)
        )
        for k in ks
    )
    ours = _per_call(lambda: clopper_pearson(37, 50), args.repeats)
    library = _per_call(lambda: _exact(binomtest(37, 50)), args.repeats)
    _row("clopper-pearson", ours, library, diff)

    rng = np.random.default_rng(0)
    s_in = rng.normal(size=args.n).round(2)
    s_out = rng.normal(0.5, size=args.n).round(2)
    y, s = np.r_[np.zeros(args.n), np.ones(args.n)], np.r_[s_in, s_out]
    for name, own, lib in (
        ("auroc", auroc, roc_auc_score),
        ("aupr", aupr, average_precision_score),
    ):
        diff = abs(own(s_in, s_out) - lib(y, s))
        ours = _per_call(lambda own=own: own(s_in, s_out), max(1, args.repeats // 10))
        library = _per_call(lambda lib=lib: lib(y, s), max(1, args.repeats // 10))
        _row(name, ours, library, diff)


def _exact(test) -> tuple[float, float]:
    ci = test.proportion_ci(confidence_level=0.95, method="exact")
    return ci.low, ci.high


if __name__ == "__main__":
    main()
