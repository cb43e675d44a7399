"""Fixtures for the corruption tests: natural photos and the `imagecorruptions` package as a
test-only reference, shimmed for current libraries.

`imagecorruptions` 1.1.2 imports `pkg_resources` (gone from current setuptools), calls
scikit-image's `gaussian(..., multichannel=True)` (removed in 0.19+) and uses `np.float_`
(removed in numpy 2). The shims below touch only the reference module's namespace.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

import numpy as np
import pytest

REFERENCE_SIZE = 224


def _photo(name: str, size: int = REFERENCE_SIZE) -> np.ndarray:
    """A scikit-image sample photo, short side resized to `size`, centre-cropped."""
    from PIL import Image
    from skimage import data

    img = Image.fromarray(getattr(data, name)())
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)).convert("RGB")).copy()


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    return {name: _photo(name) for name in ("astronaut", "chelsea", "coffee")}


@pytest.fixture(scope="session")
def photo(photos) -> np.ndarray:
    return photos["chelsea"]


class _NumpyWithFloat:
    """numpy, plus the `np.float_` alias numpy 2 removed."""

    def __getattr__(self, name: str):
        return np.float64 if name == "float_" else getattr(np, name)


def _load_reference() -> types.ModuleType:
    if importlib.util.find_spec("imagecorruptions") is None:
        pytest.fail(
            "imagecorruptions (the test reference) is not installed: pip install -r envs/requirements.txt"
        )
    if "pkg_resources" not in sys.modules:
        fake = types.ModuleType("pkg_resources")

        def resource_filename(package: str, resource: str) -> str:
            spec = importlib.util.find_spec(package)
            return os.path.join(os.path.dirname(spec.origin), resource)

        fake.resource_filename = resource_filename
        sys.modules["pkg_resources"] = fake
    import imagecorruptions
    from imagecorruptions import corruptions
    from skimage.filters import gaussian

    def gaussian_compat(image, sigma=1.0, multichannel=None, **kwargs):
        if multichannel:
            kwargs["channel_axis"] = -1
        return gaussian(image, sigma=sigma, **kwargs)

    corruptions.gaussian = gaussian_compat
    corruptions.np = _NumpyWithFloat()
    return imagecorruptions


@pytest.fixture(scope="session")
def reference() -> types.ModuleType:
    """`imagecorruptions`, importable and working on current libraries."""
    return _load_reference()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
