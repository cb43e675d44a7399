"""The built-in ImageNet-C operators; importing this package registers them."""

from shiftlab.corrupt.ops import blur, digital, noise, weather

__all__ = ["blur", "digital", "noise", "weather"]
