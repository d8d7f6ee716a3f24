"""WCAG 2 contrast of text measured on a rendered PNG.

For a text's box on the picture, the background is the box's most common colour and
the text colour is the pixel of the box that contrasts most with it. Anti-aliasing
only ever blends the text colour towards the background, so the measure can only
come out lower than the true contrast of the colours used, never higher — unless
something other than the text sits in the box, which is why the boxes are the
text's own extent (the wall's ``Drawn.rect``, a kiosk label's geometry).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

AA = 4.5     # WCAG 2 AA, normal text


def _linear(channel: np.ndarray) -> np.ndarray:
    c = channel / 255.0
    return np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance of an (..., 3) array of 8-bit sRGB colours."""
    lin = _linear(rgb.astype(float))
    return lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722


def ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = (float(luminance(np.array(c))) for c in (a, b))
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def measure(image: Image.Image, box: tuple[float, float, float, float]
            ) -> tuple[float, tuple[int, ...], tuple[int, ...]]:
    """(contrast, background, text colour) of the text in ``box`` (x, y, w, h)."""
    x, y, w, h = box
    left, top = max(0, int(x) - 1), max(0, int(y) - 1)
    right = min(image.width, int(x + w) + 2)
    bottom = min(image.height, int(y + h) + 2)
    pixels = np.asarray(image.convert("RGB").crop((left, top, right, bottom))).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    bg = colours[counts.argmax()]
    lum, lbg = luminance(colours), float(luminance(bg))
    contrast = (np.maximum(lum, lbg) + 0.05) / (np.minimum(lum, lbg) + 0.05)
    best = int(contrast.argmax())
    return float(contrast[best]), tuple(int(v) for v in bg), \
        tuple(int(v) for v in colours[best])
