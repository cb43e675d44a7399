"""The one codec of the ImageNet-C variant string, ``"<corruption>/<severity>"``.

Predictions, folder listings, fetch archives, metrics and statistics all name a C cell by
this string (it is also the cell's folder path in the official layout), so it is built and
taken apart here only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shiftlab.errors import UserError

if TYPE_CHECKING:
    import numpy as np

SEPARATOR = "/"


def c_variant(corruption: str, severity: int | str) -> str:
    """``("fog", 3)`` -> ``"fog/3"``."""
    return f"{corruption}{SEPARATOR}{severity}"


def split_c_variant(variant: str) -> tuple[str, int]:
    """``"fog/3"`` -> ``("fog", 3)``; anything else is a user error naming the form."""
    name, sep, severity = variant.rpartition(SEPARATOR)
    if not sep or not name or not severity.isdigit():
        raise UserError(f"ImageNet-C variant {variant!r} must look like <corruption>/<severity>")
    return name, int(severity)


def split_c_selector(variant: str | None) -> tuple[str | None, str | None]:
    """A selector that may name a corruption only: ``"fog"`` -> ``("fog", None)``,
    ``"fog/3"`` -> ``("fog", "3")``, empty -> ``(None, None)``."""
    if not variant:
        return None, None
    name, _, severity = variant.partition(SEPARATOR)
    return name, severity or None


def corruption_of(variant: str) -> str:
    """``"fog/3"`` -> ``"fog"`` (a bare name is its own corruption)."""
    return variant.partition(SEPARATOR)[0]


def in_corruption(variants: np.ndarray, corruption: str) -> np.ndarray:
    """Boolean mask of the variants that belong to `corruption` (any severity)."""
    import numpy as np

    return np.char.startswith(variants.astype(str), corruption + SEPARATOR)


class VariantMasks:
    """Row masks by variant and by corruption from integer codes of a variant column.

    `variants == v` and `in_corruption` on a 4.75 M-row ImageNet-C column make a Python
    str (or a fixed-width unicode copy) per row for each mask; factorizing once and
    comparing codes gives the same masks at a fraction of the time and memory."""

    def __init__(self, variants: object) -> None:
        import pandas as pd

        codes, uniques = pd.factorize(pd.Series(variants, dtype=str), sort=True)
        self.codes = codes
        self.distinct: list[str] = [str(v) for v in uniques]

    def variant(self, variant: str) -> np.ndarray:
        """Mask of the rows of one variant (`variants == variant`)."""
        import numpy as np

        if variant not in self.distinct:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == self.distinct.index(variant)

    def corruption(self, corruption: str) -> np.ndarray:
        """Mask of the rows of any severity of `corruption` (`in_corruption`)."""
        import numpy as np

        prefix = corruption + SEPARATOR
        members = [i for i, v in enumerate(self.distinct) if v.startswith(prefix)]
        return np.isin(self.codes, members)
