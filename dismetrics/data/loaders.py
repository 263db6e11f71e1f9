"""Loaders for the publishers' files of Shapes3D, MPI3D, SmallNORB and Cars3D.

Every loader reads lazily: the large image arrays are memory-mapped (or read from HDF5 on demand), never
loaded whole. Observations are float32 in [0, 1], channels last: `(64, 64, 3)` for Shapes3D, MPI3D and
Cars3D, `(64, 64, 1)` for SmallNORB. Factors are integer indices, row-major in the order listed.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._common import LazyRows, cache_dir, gather_rows, resize_images, write_npy_atomic
from .base import GroundTruthSampler
from .dsprites import _read_npy_header, _stream_npz_rows

__all__ = ["Shapes3D", "MPI3D", "SmallNORB", "Cars3D"]


class _GridArraySampler(GroundTruthSampler):
    """A grid whose images are the rows of one array in row-major factor order."""

    name = "grid"
    _images: Any

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        factors = _check_factor_array(factors, self.factor_sizes, self.factor_names)
        return np.ravel_multi_index(tuple(factors.T), tuple(self.factor_sizes))

    def all_observations(self):
        """Every image (uint8, channels last) in row-major factor order; lazy (memory-mapped / HDF5)."""
        return self._images

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        index = self.factors_to_index(factors)
        return np.asarray(self._images[index]).astype(np.float32) * np.float32(1.0 / 255.0)

    def params(self) -> dict[str, Any]:
        return {"path": str(self.path)}


def _check_factor_array(factors, sizes, names) -> np.ndarray:
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(sizes):
        raise ValueError(f"factors must have shape (n, {len(sizes)}) ({', '.join(names)}); got {factors.shape}.")
    factors = factors.astype(np.int64)
    if np.any(factors < 0) or np.any(factors >= np.asarray(sizes)):
        raise ValueError(f"factor indices out of range; the sizes are {list(sizes)}.")
    return factors


def _require_file(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: {str(path)!r} does not exist or is not a file.")
    return path


# ---- Shapes3D -----------------------------------------------------------------------------------------
class Shapes3D(_GridArraySampler):
    """Shapes3D (Burgess & Kim 2018), the public `3dshapes.h5`: `images` (480000, 64, 64, 3) uint8 and
    `labels` (480000, 6) float64. Factors (row-major): floor_hue 10, wall_hue 10, object_hue 10, scale 8,
    shape 4, orientation 15; the factor indices come from the row index, not from the float labels.
    Needs `h5py`."""

    name = "shapes3d"
    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    factor_sizes = (10, 10, 10, 8, 4, 15)
    observation_shape = (64, 64, 3)

    def __init__(self, path: str | os.PathLike, *, _factor_sizes: Sequence[int] | None = None) -> None:
        self.path = _require_file(path, "Shapes3D")
        if _factor_sizes is not None:  # tests only: a smaller grid in the same format
            self.factor_sizes = tuple(int(s) for s in _factor_sizes)
        try:
            import h5py
        except ImportError:
            raise ImportError("reading Shapes3D needs h5py: pip install h5py") from None
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as err:
            raise ValueError(f"{str(self.path)!r} is not an HDF5 file; Shapes3D is the public 3dshapes.h5 ({err}).") from None
        if "images" not in self._file:
            raise ValueError(f"{str(self.path)!r} has no 'images' dataset (found {sorted(self._file.keys())}); it is not 3dshapes.h5.")
        images = self._file["images"]
        n = int(np.prod(self.factor_sizes))
        if images.shape != (n, 64, 64, 3) or images.dtype != np.uint8:
            raise ValueError(f"{str(self.path)!r}: images has shape {images.shape} {images.dtype}; expected ({n}, 64, 64, 3) uint8.")
        self._images = LazyRows(images)  # any index order, read on demand


# ---- MPI3D ---------------------------------------------------------------------------------------------
class MPI3D(_GridArraySampler):
    """MPI3D (Gondal et al. 2019): the `mpi3d_toy.npz` / `mpi3d_realistic.npz` / `mpi3d_real.npz` files
    (key `images`, (1036800, 64, 64, 3) uint8). Factors (row-major): object_color 6, object_shape 6,
    object_size 2, camera_height 3, background_color 3, horizontal_axis 40, vertical_axis 40.

    An uncompressed npz is memory-mapped in place; a compressed one is streamed once into an uncompressed
    cache file (under `cache_dir`) and memory-mapped from there."""

    name = "mpi3d"
    factor_names = ("object_color", "object_shape", "object_size", "camera_height", "background_color", "horizontal_axis", "vertical_axis")
    factor_sizes = (6, 6, 2, 3, 3, 40, 40)
    observation_shape = (64, 64, 3)

    def __init__(self, path: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None, _factor_sizes: Sequence[int] | None = None) -> None:
        self.path = _require_file(path, "MPI3D")
        if _factor_sizes is not None:  # tests only
            self.factor_sizes = tuple(int(s) for s in _factor_sizes)
        n = int(np.prod(self.factor_sizes))
        self._images = npz_member_memmap(self.path, "images", cache_dir, what="MPI3D")
        if self._images.shape != (n, 64, 64, 3) or self._images.dtype != np.uint8:
            raise ValueError(
                f"{str(self.path)!r}: images has shape {self._images.shape} {self._images.dtype}; expected ({n}, 64, 64, 3) uint8 "
                f"(the toy/realistic/real MPI3D files have 1,036,800 images, factor sizes {list(self.factor_sizes)})."
            )


def npz_member_memmap(path: Path, key: str, cache_directory=None, what: str = "npz") -> np.ndarray:
    """Memory-map array `key` of an npz: in place when stored uncompressed, else via a one-off cache copy."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not an .npz file; {what} needs the publisher's npz.")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        if f"{key}.npy" not in names:
            raise ValueError(f"{str(path)!r} has no {key!r} array (found {[n[:-4] for n in names]}); it is not the {what} file.")
        info = zf.getinfo(f"{key}.npy")
    if info.compress_type == zipfile.ZIP_STORED:
        with open(path, "rb") as fp:
            fp.seek(info.header_offset)
            local = fp.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            fp.seek(start)
            shape, fortran, dtype = _read_npy_header(fp)
            offset = fp.tell()
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
    stat = path.stat()
    digest = hashlib.sha256(json.dumps([str(path.resolve()), stat.st_size, int(stat.st_mtime), key]).encode()).hexdigest()[:16]
    target = cache_dir(cache_directory) / f"{path.stem}_{key}_{digest}.npy"
    if not target.exists():
        with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as fp:
            shape, _, dtype = _read_npy_header(fp)

        def fill(out):
            start = 0
            for chunk in _stream_npz_rows(path, key, 4096):
                out[start : start + len(chunk)] = chunk
                start += len(chunk)

        write_npy_atomic(target, tuple(shape), dtype, fill)
    return np.load(target, mmap_mode="r")


# ---- SmallNORB -----------------------------------------------------------------------------------------
_NORB_DTYPES = {0x1E3D4C51: np.float32, 0x1E3D4C53: np.float64, 0x1E3D4C54: np.int32, 0x1E3D4C55: np.uint8, 0x1E3D4C56: np.int16}


def read_norb_matrix(path: Path) -> np.ndarray:
    """Memory-map a file in the NORB binary-matrix format (little-endian magic, int32 ndim, max(3, ndim)
    int32 dims, then the data)."""
    path = Path(path)
    with open(path, "rb") as fp:
        head = fp.read(8)
        if len(head) < 8:
            raise ValueError(f"{str(path)!r} is too short to be a NORB binary-matrix file.")
        magic, ndim = struct.unpack("<ii", head)
        if magic not in _NORB_DTYPES or not 1 <= ndim <= 16:
            raise ValueError(f"{str(path)!r} is not a NORB binary-matrix file (magic {magic:#x}, ndim {ndim}).")
        dims = struct.unpack(f"<{max(3, ndim)}i", fp.read(4 * max(3, ndim)))[:ndim]
        offset = fp.tell()
    dtype = np.dtype(_NORB_DTYPES[magic]).newbyteorder("<")
    expected = offset + int(np.prod(dims)) * dtype.itemsize
    if path.stat().st_size < expected:
        raise ValueError(f"{str(path)!r} is truncated: header says {dims} but the file has {path.stat().st_size} bytes.")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(dims))


class SmallNORB(GroundTruthSampler):
    """SmallNORB (LeCun et al. 2004) from the publisher's binary-matrix `.mat` files in a directory
    (`smallnorb-5x46789x9x18x6x2x96x96-{training,testing}-{dat,cat,info}.mat`; either split or both).

    Factors (row-major): category 5, elevation 9, azimuth 18 (the file's 0, 2, .., 34 divided by 2),
    lighting 6. The `instance` is a nuisance, not a factor: an observation of a factor vector is one of its
    instances drawn with the `rng`. Images are the first (left) camera, area-resized from 96 x 96 to 64 x 64,
    float32 in [0, 1], shape `(64, 64, 1)`. No `all_observations` fast path (the instance is random)."""

    name = "smallnorb"
    factor_names = ("category", "elevation", "azimuth", "lighting")
    factor_sizes = (5, 9, 18, 6)
    observation_shape = (64, 64, 1)

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise ValueError(f"SmallNORB: {str(path)!r} is not a directory; give the directory holding the smallnorb-*-dat/cat/info.mat files.")
        images, factors = [], []
        for split in ("training", "testing"):
            found = {kind: sorted(glob.glob(str(self.path / f"smallnorb-*-{split}-{kind}.mat"))) for kind in ("dat", "cat", "info")}
            if not any(found.values()):
                continue
            if not all(found.values()):
                raise ValueError(f"SmallNORB: the {split} split in {str(path)!r} lacks one of its dat/cat/info files (found {found}).")
            dat, cat, info = (read_norb_matrix(Path(found[k][0])) for k in ("dat", "cat", "info"))
            n = dat.shape[0]
            if dat.ndim != 4 or dat.shape[1:] != (2, 96, 96) or cat.shape[0] != n or info.shape != (n, 4):
                raise ValueError(f"SmallNORB {split}: shapes dat {dat.shape}, cat {cat.shape}, info {info.shape}; expected (N, 2, 96, 96), (N,), (N, 4).")
            info = np.asarray(info, dtype=np.int64)
            fac = np.stack([np.asarray(cat, dtype=np.int64).ravel(), info[:, 1], info[:, 2] // 2, info[:, 3]], axis=1)
            if np.any(fac < 0) or np.any(fac >= np.asarray(self.factor_sizes)) or np.any(info[:, 2] % 2):
                raise ValueError(f"SmallNORB {split}: category/elevation/azimuth/lighting values outside the published ranges.")
            images.append(dat)
            factors.append(fac)
        if not images:
            raise ValueError(f"SmallNORB: no smallnorb-*-training-dat.mat / testing-dat.mat files in {str(path)!r}.")
        self._splits = images
        split_id = np.concatenate([np.full(len(f), i) for i, f in enumerate(factors)])
        row = np.concatenate([np.arange(len(f)) for f in factors])
        keys = np.ravel_multi_index(tuple(np.concatenate(factors).T), self.factor_sizes)
        order = np.argsort(keys, kind="stable")
        self._keys, self._split_id, self._row = keys[order], split_id[order], row[order]
        grid = int(np.prod(self.factor_sizes))
        self._starts = np.searchsorted(self._keys, np.arange(grid + 1))
        missing = np.flatnonzero(np.diff(self._starts) == 0)
        if missing.size:
            example = np.unravel_index(missing[0], self.factor_sizes)
            raise ValueError(f"SmallNORB: {missing.size} factor combinations have no image (e.g. {tuple(int(e) for e in example)}); the files are incomplete.")

    def params(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        factors = _check_factor_array(factors, self.factor_sizes, self.factor_names)
        rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        keys = np.ravel_multi_index(tuple(factors.T), self.factor_sizes)
        lo, hi = self._starts[keys], self._starts[keys + 1]
        pick = lo + (rng.random(len(keys)) * (hi - lo)).astype(np.int64)
        out = np.empty((len(keys), 96, 96), dtype=np.uint8)
        for s, images in enumerate(self._splits):
            mask = self._split_id[pick] == s
            if mask.any():
                out[mask] = gather_rows(images, self._row[pick[mask]])[:, 0]
        return (resize_images(out, 64) * np.float32(1.0 / 255.0))[..., None]


# ---- Cars3D --------------------------------------------------------------------------------------------
class Cars3D(_GridArraySampler):
    """Cars3D (Reed et al. 2015): a directory of `car_XXX_mesh.mat` files, each with `im` of shape
    (128, 128, 3, 24, 4) (azimuth 24, elevation 4). Factors (row-major): elevation 4, azimuth 24, object
    (one per file, files in sorted name order; 183 in the published set). Images are area-resized to
    64 x 64 and stored once in a uint8 cache (under `cache_dir`), memory-mapped from then on.
    Fewer car files than 183 are accepted (the object factor then has that many values)."""

    name = "cars3d"
    factor_names = ("elevation", "azimuth", "object")
    observation_shape = (64, 64, 3)

    def __init__(self, path: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise ValueError(f"Cars3D: {str(path)!r} is not a directory; give the directory holding the car_XXX_mesh.mat files.")
        self.files = sorted(glob.glob(str(self.path / "car_*_mesh.mat")))
        if len(self.files) < 2:
            raise ValueError(f"Cars3D: found {len(self.files)} car_*_mesh.mat files in {str(path)!r}; need at least 2 (183 published).")
        self.factor_sizes = (4, 24, len(self.files))
        stats = [(Path(f).name, os.stat(f).st_size, int(os.stat(f).st_mtime)) for f in self.files]
        digest = hashlib.sha256(json.dumps([str(self.path.resolve()), stats]).encode()).hexdigest()[:16]
        self._cache_path = globals()["cache_dir"](cache_dir) / f"cars3d_{digest}.npy"
        if not self._cache_path.exists():
            write_npy_atomic(self._cache_path, (int(np.prod(self.factor_sizes)), 64, 64, 3), np.uint8, self._fill)
        self._images = np.load(self._cache_path, mmap_mode="r")

    def _fill(self, out: np.ndarray) -> None:
        from scipy.io import loadmat

        n_obj = len(self.files)
        grid = out.reshape(4, 24, n_obj, 64, 64, 3)
        for obj, file in enumerate(self.files):
            try:
                im = loadmat(file)["im"]
            except Exception as err:  # noqa: BLE001 - scipy raises several types for a bad file
                raise ValueError(f"Cars3D: cannot read 'im' from {file!r} ({type(err).__name__}: {err}).") from None
            if im.shape != (128, 128, 3, 24, 4):
                raise ValueError(f"Cars3D: {file!r} has im of shape {im.shape}; expected (128, 128, 3, 24, 4).")
            views = np.transpose(im, (4, 3, 0, 1, 2)).reshape(96, 128, 128, 3)  # (elevation, azimuth, H, W, C)
            small = resize_images(views, 64)
            if im.dtype != np.uint8:  # float images in [0, 1]
                small = small * 255.0
            grid[:, :, obj] = np.clip(np.rint(small), 0, 255).astype(np.uint8).reshape(4, 24, 64, 64, 3)
