"""Numba kernel that rasterises dSprites-like sprites (square, ellipse, heart) into binary images."""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["render_sprites"]


@numba.njit(cache=True, nogil=True)
def _inside(shape: int, u: float, v: float) -> bool:
    """Is the point (u, v) (sprite frame, y up, sprite spans about [-0.5, 0.5]^2) inside the shape?"""
    if shape == 0:  # square, side 1
        return abs(u) <= 0.5 and abs(v) <= 0.5
    if shape == 1:  # ellipse, semi-axes 0.5 and 0.25
        return (u * u) / 0.25 + (v * v) / 0.0625 <= 1.0
    # heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, which spans x in [-1.14, 1.14], y in [-1, 1.25]
    x = u * 2.28
    y = v * 2.28 + 0.125
    r = x * x + y * y - 1.0
    return r * r * r - x * x * y * y * y <= 0.0


@numba.njit(cache=True, nogil=True)
def render_sprites(shapes, sizes_px, angles, cx, cy, out):
    """Draw sprite `i` (shape index, side length in pixels, angle in radians counter-clockwise,
    centre (cx, cy) in pixels from the top-left corner, x to the right, y down) into `out[i]`
    (uint8, (n, H, W), zeroed here). A pixel is on when its centre lies inside the shape."""
    n, height, width = out.shape
    for i in range(n):
        out[i, :, :] = 0
        s = sizes_px[i]
        c = math.cos(angles[i])
        sn = math.sin(angles[i])
        radius = 0.7072 * s + 1.0
        y0 = max(0, int(math.floor(cy[i] - radius)))
        y1 = min(height, int(math.ceil(cy[i] + radius)) + 1)
        x0 = max(0, int(math.floor(cx[i] - radius)))
        x1 = min(width, int(math.ceil(cx[i] + radius)) + 1)
        for y in range(y0, y1):
            dy_up = cy[i] - (y + 0.5)
            for x in range(x0, x1):
                dx = (x + 0.5) - cx[i]
                u = (c * dx + sn * dy_up) / s
                v = (-sn * dx + c * dy_up) / s
                if _inside(shapes[i], u, v):
                    out[i, y, x] = 1
    return out
