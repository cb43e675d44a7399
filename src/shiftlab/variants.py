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
