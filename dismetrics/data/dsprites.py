"""dSprites: the factor grid of Matthey et al. (2017), rendered procedurally, or read from the official file.

Factors (row-major in this order, the last fastest, as in the original file without its one-valued
`color` column):

=============  =====  ===========================================
factor         size   values
=============  =====  ===========================================
shape          3      square, ellipse, heart
scale          6      `linspace(0.5, 1, 6)`
orientation    40     `linspace(0, 2 pi, 40)` (index 0 and 39 are the same rotation)
posX           32     `linspace(0, 1, 32)`
posY           32     `linspace(0, 1, 32)`
=============  =====  ===========================================

737,280 binary 64 x 64 images. Observations are float32 in {0, 1}, shape `(64, 64, 1)` (channels last).

The procedural images are dSprites-*like*, not bit-identical: the original was drawn with another engine
and its sprite sizes are not published. The side of a sprite at scale 1 (`sprite_size`, a fraction of the
frame) and the margin that keeps sprite centres away from the border (`margin`) are parameters; a centre
moves over `[margin, 1 - margin]` of the frame, and sprites always stay inside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._kernels.render import render_sprites
from ._common import PackedBinaryImages, cache_dir, write_npy_atomic
from .base import GroundTruthSampler

__all__ = ["DSprites", "DSPRITES_FACTOR_NAMES", "DSPRITES_FACTOR_SIZES", "render_dsprites"]

DSPRITES_FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
DSPRITES_FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)
IMAGE_SIZE = 64
_CACHE_VERSION = 1
_CHUNK = 8192


def _check_geometry(sprite_size: float, margin: float) -> None:
    sprite_size, margin = float(sprite_size), float(margin)
    if not 0.0 < sprite_size < 1.0:
        raise ValueError(f"sprite_size must be in (0, 1) (a fraction of the frame); got {sprite_size}.")
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5); got {margin}.")
    # The farthest point of any sprite from its centre is half the square's diagonal.
    if sprite_size * np.sqrt(0.5) > margin + 1e-12:
        raise ValueError(
            f"sprites would leave the frame: a rotated square of side sprite_size={sprite_size} reaches "
            f"{sprite_size * np.sqrt(0.5):.4f} from its centre but margin={margin}; use margin >= sprite_size / sqrt(2)."
        )


def render_dsprites(
    shapes: np.ndarray,
    scales: np.ndarray,
    angles: np.ndarray,
    pos_x: np.ndarray,
    pos_y: np.ndarray,
    *,
    sprite_size: float = 0.28,
    margin: float = 0.2,
    image_size: int = IMAGE_SIZE,
) -> np.ndarray:
    """Render sprites from continuous values: shape index (0 square, 1 ellipse, 2 heart), scale, angle in
    radians (counter-clockwise), positions in [0, 1] (posX to the right, posY downwards). Returns uint8
    `(n, image_size, image_size)` with values 0/1."""
    _check_geometry(sprite_size, margin)
    shapes = np.ascontiguousarray(shapes, dtype=np.int64).ravel()
    n = shapes.size
    scales, angles, pos_x, pos_y = (np.broadcast_to(np.asarray(a, dtype=np.float64).ravel(), (n,)) for a in (scales, angles, pos_x, pos_y))
    if np.any((shapes < 0) | (shapes > 2)):
        raise ValueError("shape indices must be 0 (square), 1 (ellipse) or 2 (heart).")
    angles = np.mod(angles, 2.0 * np.pi)  # 2 pi -> exactly 0, so orientation 0 and 39 give the same image
    span = image_size * (1.0 - 2.0 * margin)
    cx = image_size * margin + pos_x * span
    cy = image_size * margin + pos_y * span
    sizes_px = np.ascontiguousarray(scales * sprite_size * image_size)
    out = np.empty((n, image_size, image_size), dtype=np.uint8)
    return render_sprites(shapes, sizes_px, np.ascontiguousarray(angles), np.ascontiguousarray(cx), np.ascontiguousarray(cy), out)


class DSprites(GroundTruthSampler):
    """dSprites sampler: procedural (default) or the official `dsprites_ndarray_...npz` (`path=`).

    Parameters
    ----------
    path
        The official npz (keys `imgs`, `latents_classes`); its images are streamed once into a
        packed-bit cache file (512 B per image) and memory-mapped from then on.
    sprite_size
        Side of the square at scale 1, as a fraction of the frame (procedural only).
    margin
        Sprite centres move over `[margin, 1 - margin]` of the frame (procedural only).
    cache
        `"auto"` (default) uses the on-disk cache if it exists and builds it on the first
        [`all_observations`][dismetrics.data.dsprites.DSprites.all_observations] call (the trainers' fast
        path); `True` builds it on first use by any method; `False` never touches the disk and renders every
        batch on the fly (procedural only: the official file is always converted once into the cache, as its
        npz cannot be memory-mapped).
    cache_dir
        Where the cache lives; default `$DISMETRICS_CACHE` or `~/.cache/dismetrics`.
    """

    name = "dsprites"
    factor_names = DSPRITES_FACTOR_NAMES
    factor_sizes = DSPRITES_FACTOR_SIZES
    observation_shape = (IMAGE_SIZE, IMAGE_SIZE, 1)

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        sprite_size: float = 0.28,
        margin: float = 0.2,
        cache: bool | str = "auto",
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        if cache not in (True, False, "auto"):
            raise ValueError(f"cache must be True, False or 'auto'; got {cache!r}.")
        self.path = None if path is None else Path(path)
        self.sprite_size = float(sprite_size)
        self.margin = float(margin)
        self.cache = cache
        self._cache_dir = cache_dir
        self._packed: np.ndarray | None = None
        if self.path is None:
            _check_geometry(self.sprite_size, self.margin)
        else:
            _check_official_file(self.path)

    # ---- description ---------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        if self.path is not None:
            return {"path": str(self.path)}
        return {"sprite_size": self.sprite_size, "margin": self.margin}

    @staticmethod
    def factor_values() -> dict[str, np.ndarray]:
        """The value of every factor index (shape: 1, 2, 3 as in the original's latents_values)."""
        return {"shape": np.array([1.0, 2.0, 3.0]), "scale": SCALES, "orientation": ORIENTATIONS, "posX": POSITIONS, "posY": POSITIONS}

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        """Row-major index of each factor vector in the grid (and in
        [`all_observations`][dismetrics.data.dsprites.DSprites.all_observations])."""
        factors = self._check_factors(factors)
        return np.ravel_multi_index(tuple(factors.T), self.factor_sizes)

    def _check_factors(self, factors: np.ndarray) -> np.ndarray:
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != 5:
            raise ValueError(f"factors must have shape (n, 5) (shape, scale, orientation, posX, posY); got {factors.shape}.")
        factors = factors.astype(np.int64)
        if np.any(factors < 0) or np.any(factors >= np.asarray(self.factor_sizes)):
            raise ValueError(f"factor indices out of range; the sizes are {list(self.factor_sizes)}.")
        return factors

    # ---- cache -----------------------------------------------------------------------------------
    def cache_path(self) -> Path:
        """The packed-bit cache file of this sampler (it may not exist yet)."""
        if self.path is not None:
            stat = self.path.stat()
            key = {"v": _CACHE_VERSION, "file": str(self.path.resolve()), "size": stat.st_size, "mtime": int(stat.st_mtime)}
            prefix = "dsprites_official"
        else:
            key = {"v": _CACHE_VERSION, "sprite_size": self.sprite_size, "margin": self.margin, "grid": list(self.factor_sizes)}
            prefix = "dsprites_procedural"
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return cache_dir(self._cache_dir) / f"{prefix}_{digest}.npy"

    def _load_or_build(self, build: bool) -> np.ndarray | None:
        if self._packed is not None:
            return self._packed
        if self.path is None and self.cache is False:
            return None
        path = self.cache_path()
        if not path.exists():
            if not build:
                return None
            n = int(np.prod(self.factor_sizes))
            shape = (n, IMAGE_SIZE, IMAGE_SIZE // 8)
            fill = self._fill_from_official if self.path is not None else self._fill_procedural
            write_npy_atomic(path, shape, np.uint8, fill)
        packed = np.load(path, mmap_mode="r")
        if packed.shape != (int(np.prod(self.factor_sizes)), IMAGE_SIZE, IMAGE_SIZE // 8):
            raise ValueError(f"the dSprites cache {path} has shape {packed.shape}; delete it to rebuild.")
        self._packed = packed
        return packed

    def build_cache(self) -> Path:
        """Render (or convert the official file) into the cache now; returns its path."""
        self._load_or_build(build=True)
        return self.cache_path()

    def _fill_procedural(self, out: np.ndarray) -> None:
        n = out.shape[0]
        for start in range(0, n, _CHUNK):
            index = np.arange(start, min(n, start + _CHUNK))
            images = self._render_indices(np.stack(np.unravel_index(index, self.factor_sizes), axis=1))
            out[start : start + len(index)] = np.packbits(images, axis=-1)

    def _fill_from_official(self, out: np.ndarray) -> None:
        start = 0
        for chunk in _stream_npz_rows(self.path, "imgs", _CHUNK):
            out[start : start + len(chunk)] = np.packbits(chunk != 0, axis=-1)
            start += len(chunk)

    # ---- observations ------------------------------------------------------------------------------
    def _render_indices(self, factors: np.ndarray) -> np.ndarray:
        return render_dsprites(
            factors[:, 0], SCALES[factors[:, 1]], ORIENTATIONS[factors[:, 2]], POSITIONS[factors[:, 3]], POSITIONS[factors[:, 4]],
            sprite_size=self.sprite_size, margin=self.margin,
        )

    def all_observations(self) -> PackedBinaryImages | None:
        """Every image in row-major factor order, as a lazy bool `(737280, 64, 64)` view of the memory-mapped
        packed cache (built on the first call; about 377 MB on disk). `None` when `cache=False`."""
        packed = self._load_or_build(build=True)
        return None if packed is None else PackedBinaryImages(packed, IMAGE_SIZE)

    def images_from_factors(self, factors: np.ndarray) -> np.ndarray:
        """Binary uint8 images `(n, 64, 64)` of the factor vectors (from the cache when there is one)."""
        factors = self._check_factors(factors)
        packed = self._load_or_build(build=self.path is not None or self.cache is True)
        if packed is None:
            return self._render_indices(factors)
        index = np.ravel_multi_index(tuple(factors.T), self.factor_sizes)
        return np.unpackbits(packed[index], axis=-1, count=IMAGE_SIZE)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.images_from_factors(factors)[..., None].astype(np.float32)


# ---- the official file ---------------------------------------------------------------------------------
def _check_official_file(path: Path) -> None:
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} does not exist or is not a file; give the official dsprites_ndarray_...npz.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not an .npz file; give the official dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz.")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "imgs.npy" not in names:
            raise ValueError(f"{str(path)!r} has no 'imgs' array (found {sorted(names)}); it is not the dSprites npz.")
        with zf.open("imgs.npy") as fp:
            shape, _, dtype = _read_npy_header(fp)
        if tuple(shape) != (737280, 64, 64):
            raise ValueError(f"{str(path)!r}: imgs has shape {shape}, expected (737280, 64, 64).")
        if "latents_classes.npy" in names:
            with zf.open("latents_classes.npy") as fp:
                classes = np.lib.format.read_array(fp)
            expected = np.stack(np.unravel_index(np.arange(737280), DSPRITES_FACTOR_SIZES), axis=1)
            if classes.shape != (737280, 6) or not np.array_equal(classes[:, 1:], expected):
                raise ValueError(f"{str(path)!r}: latents_classes is not the row-major (color, shape, scale, orientation, posX, posY) grid.")


def _read_npy_header(fp):
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    return np.lib.format.read_array_header_2_0(fp)


def _stream_npz_rows(path: Path, key: str, chunk: int):
    """Yield consecutive row blocks of array `key` of an npz, compressed or not, without loading it whole."""
    with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as fp:
        shape, fortran, dtype = _read_npy_header(fp)
        if fortran:
            raise ValueError(f"{str(path)!r}: {key} is stored in Fortran order; cannot stream it.")
        row_shape = tuple(shape[1:])
        row_bytes = int(np.prod(row_shape)) * dtype.itemsize
        remaining = int(shape[0])
        while remaining:
            rows = min(chunk, remaining)
            buf = fp.read(rows * row_bytes)
            if len(buf) != rows * row_bytes:
                raise ValueError(f"{str(path)!r}: {key} is truncated.")
            yield np.frombuffer(buf, dtype=dtype).reshape((rows, *row_shape))
            remaining -= rows
