"""Checks at the public edge.

Every public metric runs its inputs through these functions first, so a user sees a
``ValueError`` that names the argument and the fix, never a numba traceback.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

__all__ = [
    "as_real_array",
    "check_codes",
    "check_factors",
    "check_codes_and_factors",
    "check_random_state",
    "check_positive_int",
    "check_choice",
]


def as_real_array(values, *, name: str, expected: str) -> np.ndarray:
    """``values`` as a numpy array of a real (or boolean) dtype; a ValueError naming ``name`` otherwise."""
    if isinstance(values, (str, bytes)) or values is None:
        raise ValueError(f"{name} must be {expected}; got {type(values).__name__}.")
    arr = np.asarray(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued; got dtype {arr.dtype}.")
    return arr


def check_codes(codes, *, name: str = "codes", min_dims: int = 1, min_samples: int = 2) -> np.ndarray:
    """Return ``codes`` as a C-contiguous float array of shape (n, d).

    float32 input stays float32 (the reference binning computes its edges in the input's
    precision); every other real dtype becomes float64.
    """
    arr = as_real_array(codes, name=name, expected="a 2-D array of shape (n_samples, n_dims)")
    if arr.ndim != 2:
        hint = " Use codes[:, None] for a single dimension." if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_dims); got an array with shape {arr.shape}.{hint}")
    n, d = arr.shape
    if n < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples (rows); got {n}.")
    if d < min_dims:
        raise ValueError(
            f"{name} needs at least {min_dims} dimension(s) (columns); got {d}."
            + (" A gap between the best and second-best dimension needs two." if min_dims == 2 else "")
        )
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        bad_rows = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or infinite values (in {bad_rows.size} row(s), first at row {bad_rows[0]}); "
            "remove or fix those samples first."
        )
    return arr


def check_factors(factors, *, n_samples: int | None = None, name: str = "factors") -> np.ndarray:
    """Return ``factors`` as an int64 array of shape (n, K), each column with >= 2 distinct values.

    Float arrays are accepted when every value is integral (e.g. ``3.0``); anything else must be
    discretized by the caller.
    """
    if isinstance(factors, (str, bytes)) or factors is None:
        raise ValueError(f"{name} must be a 2-D integer array of shape (n_samples, n_factors).")
    arr = np.asarray(factors)
    if arr.ndim != 2:
        hint = " Use factors[:, None] for a single factor." if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_factors); got an array with shape {arr.shape}.{hint}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows but codes has {n_samples}; each row of {name} must give the "
            "factors of the same sample as the corresponding row of codes."
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} needs at least one factor (column); got shape {arr.shape}.")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        out = np.ascontiguousarray(arr, dtype=np.int64)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(
                f"{name} must hold integer factor indices; got non-integer floats. Discretize continuous "
                "factors first, e.g. np.unique(column, return_inverse=True)[1] for a few distinct values, "
                "or np.digitize(column, np.histogram_bin_edges(column, 20)[:-1]) for equal-width bins."
            )
        out = np.ascontiguousarray(arr, dtype=np.int64)
    else:
        raise ValueError(f"{name} must be an integer array; got dtype {arr.dtype}.")
    for k in range(out.shape[1]):
        column = out[:, k]
        if column.min() == column.max():
            raise ValueError(
                f"{name}[:, {k}] takes a single value ({column[0]}) in this sample; a factor needs at least two "
                "values to be measured. Drop that column or sample more points."
            )
    return out


def check_codes_and_factors(codes, factors, *, min_dims: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (codes, factors) pair of a sample metric."""
    codes = check_codes(codes, min_dims=min_dims)
    factors = check_factors(factors, n_samples=codes.shape[0])
    return codes, factors


def check_random_state(random_state) -> np.random.Generator:
    """An int, ``None`` or a numpy ``Generator`` -> a ``Generator``.

    A ``Generator`` is used as is (and advanced); an int always gives the same stream.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, None or a numpy Generator; got {random_state}.")
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be an int, None or a numpy Generator; got {type(random_state).__name__}."
    )


def check_positive_int(value, *, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def check_choice(value, *, name: str, choices: Sequence) -> object:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}.")
    return value
