"""Shared steps of latte-metrics' interpolatability scores (smoothness, monotonicity): traversal arrays and
latent-induced attribute differences (LIAD), as `latte.functional.interpolatability._utils`
(karnwatcharasupat/latte@623fae2, MIT licence) defines them."""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

from .._validation import as_real_array

__all__ = ["check_traversals", "forward_liads"]


def _array3(values, name: str) -> np.ndarray:
    arr = as_real_array(values, name=name, expected="a 3-D array (n_samples, n_attributes, n_interp)")
    if arr.ndim != 3:
        hint = " For one attribute use array[:, None, :]." if arr.ndim == 2 else ""
        raise ValueError(f"{name} must be 3-D (n_samples, n_attributes or n_dims, n_interp): one traversal per "
                         f"sample and attribute; got shape {arr.shape}.{hint}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


CONSTANT_MESSAGE = ("latents must not be constant along a traversal (axis 2): the differences divide by the steps "
                    "of the regularizing dim.")
UNEQUAL_MESSAGE = ("latents must change by equal steps along each traversal (latte supports no other spacing for "
                   "smoothness).")


def check_traversals(latents, attributes, reg_dim: Sequence[int] | None, *, min_size: int,
                     equal_steps: bool, check_z: bool = True) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(z, a, reg_dim) with z the regularizing dim's values along each attribute's traversal, (n, K, I).

    `latents` is (n, d, I) with d >= K: `latents[:, reg_dim[i], :]` holds the values of the code dim that
    regularizes attribute i along the traversal on which `attributes[:, i, :]` was measured (latte's `z`
    and `a`; reg_dim None: dim i, i.e. the first K dims). `check_z=False` leaves the checks of the steps
    (not constant; equal when `equal_steps`) to the caller.
    """
    z = _array3(latents, "latents")
    a = _array3(attributes, "attributes")
    n, k, steps = a.shape
    if z.shape[0] != n or z.shape[2] != steps:
        raise ValueError(f"latents {z.shape} and attributes {a.shape} must have the same number of samples (axis 0) "
                         "and of traversal steps (axis 2).")
    if k > z.shape[1]:
        raise ValueError(f"latents has {z.shape[1]} dims (axis 1) but attributes has {k} attributes; each attribute "
                         "needs the code dim that regularizes it.")
    if steps < min_size:
        raise ValueError(f"traversals need at least {min_size} steps (axis 2) for this score; got {steps}.")
    if reg_dim is None:
        dims = list(range(k))
    else:
        if isinstance(reg_dim, (str, bytes)) or not hasattr(reg_dim, "__len__") or len(reg_dim) != k:
            raise ValueError(f"reg_dim must give one code dim per attribute ({k}); got {reg_dim!r}.")
        dims = []
        for dim in reg_dim:
            if not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or not 0 <= int(dim) < z.shape[1]:
                raise ValueError(f"reg_dim entries must be dim indices in [0, {z.shape[1]}); got {list(reg_dim)}.")
            dims.append(int(dim))
    z = z[:, dims, :]
    if check_z and np.any(np.all(z == z[..., [0]], axis=-1)):
        raise ValueError(CONSTANT_MESSAGE)
    if check_z and equal_steps:
        second = np.diff(z, n=2, axis=-1)
        if not np.allclose(second, np.zeros_like(second)):
            raise ValueError(UNEQUAL_MESSAGE)
    return z, a, dims


def forward_liads(z: np.ndarray, a: np.ndarray, order: int) -> list[np.ndarray]:
    """[D1, ..., D_order]: forward differences of `a` over `z` along the last axis, each next order taken
    over the midpoints of the previous grid (latte's `_finite_diff`)."""
    out = []
    for _ in range(order):
        a = np.diff(a, n=1, axis=-1) / np.diff(z, n=1, axis=-1)
        z = 0.5 * (z[..., :-1] + z[..., 1:])
        out.append(a)
    return out
