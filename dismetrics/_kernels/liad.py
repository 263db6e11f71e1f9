"""Numba kernel for latte-metrics' smoothness: one pass per traversal instead of a chain of numpy passes.

Per traversal row (z, a) of I steps it forms the first-order latent-induced attribute differences
D1_k = (a_{k+1} - a_k) / (z_{k+1} - z_k), the midpoints m_k = 0.5 (z_k + z_{k+1}) and
D2_k = (D1_{k+1} - D1_k) / (m_{k+1} - m_k), elementwise exactly as numpy's `diff` does, and reduces them to
the numerator (Lehmer mean of |D2| of order p, or its maximum) and the range of D1. It also checks the two
conditions latte asserts on z: not constant along the row, and equal steps (`np.allclose` of the second
differences to 0, i.e. |.| <= 1e-8).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["smoothness_rows"]


@nb.njit(cache=True, nogil=True)
def smoothness_rows(z, a, lehmer, p, check_steps):
    """(num, ptp_d1, constant, unequal) per row of the (R, I) arrays `z`, `a` (I >= 3)."""
    rows, steps = z.shape
    num = np.empty(rows)
    spread = np.empty(rows)
    constant = np.zeros(rows, dtype=np.bool_)
    unequal = np.zeros(rows, dtype=np.bool_)
    d1 = np.empty(steps - 1)
    mid = np.empty(steps - 1)
    d2 = np.empty(steps - 2)
    for r in range(rows):
        same = True
        for k in range(1, steps):
            if z[r, k] != z[r, 0]:
                same = False
                break
        constant[r] = same
        if check_steps:
            for k in range(steps - 2):
                second = (z[r, k + 2] - z[r, k + 1]) - (z[r, k + 1] - z[r, k])
                if not abs(second) <= 1e-8:
                    unequal[r] = True
                    break
        for k in range(steps - 1):
            d1[k] = (a[r, k + 1] - a[r, k]) / (z[r, k + 1] - z[r, k])
            mid[k] = 0.5 * (z[r, k] + z[r, k + 1])
        low = d1[0]
        high = d1[0]
        for k in range(1, steps - 1):
            if d1[k] < low:
                low = d1[k]
            if d1[k] > high:
                high = d1[k]
        spread[r] = high - low
        for k in range(steps - 2):
            d2[k] = abs((d1[k + 1] - d1[k]) / (mid[k + 1] - mid[k]))
        if lehmer:
            flat = True
            for k in range(1, steps - 2):
                if d2[k] != d2[0]:
                    flat = False
                    break
            if flat:
                num[r] = d2[0]
            else:
                top = 0.0
                bottom = 0.0
                for k in range(steps - 2):
                    weight = d2[k] if p == 2.0 else d2[k] ** (p - 1.0)
                    top += d2[k] * weight
                    bottom += weight
                num[r] = top / bottom
        else:
            best = d2[0]
            for k in range(1, steps - 2):
                if d2[k] > best:
                    best = d2[k]
            num[r] = best
    return num, spread, constant, unequal
