"""Centre zoom as used by zoom blur and snow, as one affine resampling.

The reference crops the centre ``ceil(n / z)`` pixels, enlarges them with
``scipy.ndimage.zoom(order=1)`` (output ``round(ch * z)`` samples; sample j reads input
coordinate ``j * (ch - 1) / (out - 1)``) and trims the centre ``n`` back out. That chain is a
per-axis affine map, so one bilinear ``cv2.warpAffine`` reproduces it without the
intermediate arrays (OpenCV interpolates at 1/32-pixel positions: < 0.1 grey level here).
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def zoom_axis_map(n: int, zoom: float) -> tuple[float, float]:
    """(scale, offset) with source coordinate = scale * output index + offset, for one axis."""
    ch = int(math.ceil(n / float(zoom)))
    top = (n - ch) // 2
    out = int(round(ch * float(zoom)))
    trim = (out - n) // 2
    scale = (ch - 1) / (out - 1) if out > 1 else 0.0
    return scale, top + trim * scale


def clipped_zoom(image: np.ndarray, zoom: float) -> np.ndarray:
    """Zoom an HxW or HxWxC float32 image by ``zoom`` about its centre, keeping its size."""
    h, w = image.shape[:2]
    sy, oy = zoom_axis_map(h, zoom)
    sx, ox = zoom_axis_map(w, zoom)
    m = np.array([[sx, 0.0, ox], [0.0, sy, oy]], dtype=np.float64)
    out = cv2.warpAffine(
        image,
        m,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out.reshape(image.shape)
