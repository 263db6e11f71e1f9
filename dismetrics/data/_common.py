"""Shared helpers of the data-set samplers: cache directory, atomic .npy writes, lazy row views."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV = "DISMETRICS_CACHE"


def cache_dir(override: str | os.PathLike | None = None, *, create: bool = True) -> Path:
    """`override`, else `$DISMETRICS_CACHE`, else `~/.cache/dismetrics` (created if missing, unless
    `create=False`: a lookup that must leave no trace)."""
    if override is not None:
        path = Path(override)
    elif os.environ.get(CACHE_ENV):
        path = Path(os.environ[CACHE_ENV])
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dismetrics"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def write_npy_atomic(path: Path, shape: tuple[int, ...], dtype, fill) -> None:
    """Create the .npy `path` by `fill(memmap)` into a temporary file renamed into place at the end,
    so that a crashed or concurrent writer never leaves a half-written cache behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
        fill(array)
        array.flush()
        del array
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def gather_rows(array: Any, index: np.ndarray) -> np.ndarray:
    """`array[index]` for numpy arrays, memmaps and h5py datasets (which need sorted unique indices)."""
    index = np.asarray(index, dtype=np.int64)
    if isinstance(array, np.ndarray):
        return array[index]
    unique, inverse = np.unique(index, return_inverse=True)
    return np.asarray(array[unique])[inverse.reshape(index.shape)]


class LazyRows:
    """A read-only view of an HDF5 dataset (or any row-indexable array) that accepts any integer index
    array, unsorted and with repeats (`view[index]` reads only those rows)."""

    def __init__(self, array: Any) -> None:
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (slice, int, np.integer)):
            return np.asarray(self.array[key])
        return gather_rows(self.array, np.asarray(key))

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.array[:])
        return out if dtype is None else out.astype(dtype)


class PackedBinaryImages:
    """A lazy, read-only view of `np.packbits`-packed binary images as a bool array `(n, H, W)`.

    Indexing (`view[i]`, `view[index_array]`, slices) unpacks only the rows asked for; `np.asarray(view)`
    unpacks everything (`n * H * W` bytes)."""

    dtype = np.dtype(bool)

    def __init__(self, packed: np.ndarray, width: int) -> None:
        self.packed = packed
        self.width = int(width)
        self.shape = (packed.shape[0], packed.shape[1], self.width)
        self.ndim = 3
        self.nbytes = int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        rows = self.packed[key]
        return np.unpackbits(rows, axis=-1, count=self.width).astype(bool)

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype)


def area_resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """`(n_out, n_in)` matrix `W` of area averaging: output pixel `j` is the mean of the input
    interval `[j, j + 1) * n_in / n_out` (exact 2x2 means for 128 -> 64)."""
    ratio = n_in / n_out
    weights = np.zeros((n_out, n_in))
    for j in range(n_out):
        lo, hi = j * ratio, (j + 1) * ratio
        for i in range(int(np.floor(lo)), min(n_in, int(np.ceil(hi)))):
            weights[j, i] = max(0.0, min(hi, i + 1) - max(lo, i))
    return weights / ratio


def resize_images(images: np.ndarray, size: int = 64) -> np.ndarray:
    """Area-resize `(n, H, W[, C])` images to `(n, size, size[, C])` float32 (same value range)."""
    images = np.asarray(images, dtype=np.float32)
    rows = area_resize_matrix(images.shape[1], size).astype(np.float32)
    cols = area_resize_matrix(images.shape[2], size).astype(np.float32)
    if images.ndim == 3:
        return np.einsum("ah,nhw,bw->nab", rows, images, cols, optimize=True)
    return np.einsum("ah,nhwc,bw->nabc", rows, images, cols, optimize=True)
