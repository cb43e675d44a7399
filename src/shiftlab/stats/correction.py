"""Multiple-comparison correction: a study runs hundreds of tests per transformation,
so raw p-values at alpha overstate how many classes are affected."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from shiftlab.errors import UserError

METHODS = ("holm", "bh", "none")


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control). NaNs stay NaN and are
    not counted in the family size (an undefined test is not a test).

    Written here because scipy has no Holm adjustment (`false_discovery_control` offers BH
    and BY only) and statsmodels would be a dependency for these ten lines; the tests check
    it against hand-computed values."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    scaled = (m - np.arange(m)) * q[order]
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    result = np.empty(m)
    result[order] = adjusted
    out[ok] = result
    return out


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate control), by
    `scipy.stats.false_discovery_control`; NaNs stay NaN and leave the family."""
    from scipy.stats import false_discovery_control

    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = false_discovery_control(p[ok], method="bh")
    return out


def adjust(pvalues: ArrayLike, method: str) -> np.ndarray:
    """Adjusted p-values by method name: 'holm', 'bh' or 'none'."""
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    if method == "none":
        return np.asarray(pvalues, dtype=float).copy()
    raise UserError(f"stats.correction: unknown method {method!r}; use one of {', '.join(METHODS)}")
