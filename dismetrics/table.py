"""The representation table: every observation of a data set encoded at most once.

For a data set whose observations are a finite, indexed set (every built-in data set, a deterministic
[`FactorGrid`][dismetrics.data.synthetic.FactorGrid]), the code of an observation is a fixed function of its
index. A [`RepresentationTable`][dismetrics.table.RepresentationTable] holds the encoder's means (and
log-variances, when it gives them) of the observations, row `i` for observation `i`, filled lazily (only the
indices drawn, each encoded once) or eagerly (the whole data set in chunks). Every metric, every repeat and
every preset then looks codes up instead of encoding images again: `evaluate`, `beta_vae_score`,
`factor_vae_score`, `dismetrics score` and the quickstart read it.

Index versus factors
--------------------
A row is an *observation*, not a factor combination: SmallNORB has several images (instances, two
cameras' splits) per combination, and its observation of a factor vector is one of them drawn with the
metric's `rng`. The table draws the same index with the same `rng` calls the sampler makes, so a metric
consumes its random stream exactly as when it encodes images, and gives bit-identical values for an encoder
that maps each observation to its codes independently of the rest of the batch.

Storage
-------
Rows are stored in the narrowest float dtype that holds the encoder's outputs exactly (float32 for a torch
encoder, float64 for a numpy callable returning float64), so a lookup equals the encoder's output. A table
lives in memory, or on disk (`cache_dir=`) as one `.npy` array `(n, k, d)` (k = 2 with log-variances;
rows never encoded are NaN, which no encoder output can be) beside a JSON file naming the data set, the
encoder digest and the SHA-256 of the array. The files are written atomically (a temporary file renamed
into place), read with `allow_pickle=False` and memory-mapped copy-on-write, and never trusted when the data
set, the encoder digest, the shape or the checksum disagree: such a file is ignored and replaced.

An encoder has a digest when something identifies it: a torch module (class, architecture and every
`state_dict` tensor) or a model dir's encoder file. A plain numpy callable has none, so its table lives in
memory only, for one object's lifetime.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ._progress import progress_bar
from ._validation import check_choice, check_positive_int
from .representation import Representation, as_representation

__all__ = [
    "RepresentationTable",
    "IndexedData",
    "indexed_data",
    "tables_dir",
    "scoring_table",
    "planned_observations",
    "EAGER_ROWS",
    "Encoding",
    "resolve_encoding",
    "ENCODING_CHOICES",
    "MAX_TABLE_ROWS",
]

TABLE_FORMAT = 1
"""Version of the on-disk layout; a file of another version is ignored."""

MAX_TABLE_ROWS = 50_000_000
"""Largest data set (observations) a table is made for; larger ones are encoded directly (MPI3D has
1,036,800; a table of 50 million rows with d = 10 and log-variances takes 4 GB)."""

DEFAULT_FILL_CHUNK = 8192
"""Observations per encoder call when filling a table (each call gets `representation.batch_size` pieces)."""

ENCODING_CHOICES = ("auto", "table", "direct")
"""`encoding=` of the metrics that encode: `"auto"` (a table when the data set is indexed, else direct),
`"table"` (a table, or a `ValueError`), `"direct"` (encode the drawn observations, the path without a
table)."""


# ---- the index of a data set ------------------------------------------------------------------------------
class IndexedData:
    """A sampler seen as a finite, indexed set of observations.

    Parameters
    ----------
    n_observations : int
        Number of distinct observations (rows of a table).
    indices : callable
        `indices(factors, rng) -> int64 (n,)`: the observation index of each factor vector, consuming `rng`
        exactly as the sampler's `sample_observations_from_factors(factors, rng)` does.
    observations : callable
        `observations(index) -> (n, *observation_shape)`: the observations at these indices.
    identity : str or None
        A stable description of the data set (files, generator parameters), or None when nothing identifies
        it beyond this process (then a table of it lives in memory only).

    Notes
    -----
    A sampler of your own can declare the same three things as attributes: `num_observations`,
    `observation_indices(factors, rng)` and `observations_at(index)` (and optionally
    `dataset_identity() -> str`).
    """

    def __init__(self, n_observations: int, indices: Callable, observations: Callable, identity: str | None) -> None:
        self.n_observations = int(n_observations)
        self.indices = indices
        self.observations = observations
        self.identity = identity

    def __repr__(self) -> str:
        return f"IndexedData(n_observations={self.n_observations:,}, identity={self.identity!r})"


def _same_method(sampler, cls, *names: str) -> bool:
    """Whether `sampler`'s class inherits these methods from `cls` unchanged (a subclass that overrides how
    observations are made is not indexed the same way)."""
    return isinstance(sampler, cls) and all(getattr(type(sampler), n) is getattr(cls, n) for n in names)


def _stat(path: Path) -> list:
    stat = path.stat()
    return [str(path.resolve()), int(stat.st_size), int(stat.st_mtime)]


def _identity(kind: str, sampler, **extra: Any) -> str:
    from . import __version__

    return json.dumps({"dataset": kind, "factor_sizes": [int(s) for s in sampler.factor_sizes],
                       "dismetrics": __version__, **extra}, sort_keys=True)


def _grid_data(sampler, identity: str | None) -> IndexedData:
    """A grid whose observation is a function of its factor vector: index = row-major grid index."""
    sizes = tuple(int(s) for s in sampler.factor_sizes)

    def indices(factors, rng):
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != len(sizes):
            raise ValueError(f"factors must have shape (n, {len(sizes)}); got {factors.shape}.")
        factors = factors.astype(np.int64)
        if np.any(factors < 0) or np.any(factors >= np.asarray(sizes)):
            raise ValueError(f"factor indices out of range; the sizes are {list(sizes)}.")
        return np.ravel_multi_index(tuple(factors.T), sizes)

    def observations(index):
        factors = np.stack(np.unravel_index(np.asarray(index, dtype=np.int64), sizes), axis=1)
        return sampler.sample_observations_from_factors(factors, None)

    return IndexedData(int(np.prod(sizes, dtype=object)), indices, observations, identity)


def _smallnorb_data(sampler) -> IndexedData:
    """SmallNORB: one row per image (instance and split kept apart), in the sampler's sorted order; the
    instance of a factor vector is drawn with the `rng` exactly as the sampler draws it."""
    from .data._common import gather_rows, resize_images
    from .data.loaders import _check_factor_array

    sizes = tuple(sampler.factor_sizes)

    def indices(factors, rng):
        factors = _check_factor_array(factors, sizes, sampler.factor_names)
        rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        keys = np.ravel_multi_index(tuple(factors.T), sizes)
        lo, hi = sampler._starts[keys], sampler._starts[keys + 1]
        return lo + (rng.random(len(keys)) * (hi - lo)).astype(np.int64)

    def observations(index):
        index = np.asarray(index, dtype=np.int64)
        out = np.empty((len(index), 96, 96), dtype=np.uint8)
        for s, images in enumerate(sampler._splits):
            mask = sampler._split_id[index] == s
            if mask.any():
                out[mask] = gather_rows(images, sampler._row[index[mask]])[:, 0]
        return (resize_images(out, 64) * np.float32(1.0 / 255.0))[..., None]

    files = sorted(str(p) for p in Path(sampler.path).glob("smallnorb-*.mat"))
    identity = _identity("smallnorb", sampler, files=[_stat(Path(f)) for f in files])
    return IndexedData(len(sampler._keys), indices, observations, identity)


def indexed_data(sampler) -> IndexedData | None:
    """The [`IndexedData`][dismetrics.table.IndexedData] of a sampler, or None when its observations are not
    a finite indexed set (a sampler that draws noise into its observations, an unknown sampler without the
    protocol, or more than [`MAX_TABLE_ROWS`][dismetrics.table.MAX_TABLE_ROWS] observations).

    Parameters
    ----------
    sampler : GroundTruthSampler
        The data set.

    Returns
    -------
    IndexedData or None

    Examples
    --------
    >>> from dismetrics.data import DSprites, NoiseDims
    >>> indexed_data(DSprites(cache=False)).n_observations
    737280
    >>> indexed_data(NoiseDims([3, 4])) is None  # its observations carry fresh noise
    True
    """
    from .data.dsprites import DSprites
    from .data.loaders import SmallNORB, _GridArraySampler
    from .data.synthetic import FactorGrid, LinearMixing, Rotation

    data = None
    if all(hasattr(sampler, a) for a in ("num_observations", "observation_indices", "observations_at")):
        identity = sampler.dataset_identity() if hasattr(sampler, "dataset_identity") else None
        data = IndexedData(sampler.num_observations, sampler.observation_indices, sampler.observations_at,
                           None if identity is None else str(identity))
    elif _same_method(sampler, DSprites, "sample_observations_from_factors", "images_from_factors", "_render_indices"):
        if sampler.path is not None:
            identity = _identity("dsprites", sampler, file=_stat(sampler.path))
        else:
            identity = _identity("dsprites", sampler, sprite_size=sampler.sprite_size, margin=sampler.margin)
        data = _grid_data(sampler, identity)
    elif _same_method(sampler, _GridArraySampler, "sample_observations_from_factors"):
        source = getattr(sampler, "_cache_path", None) or sampler.path
        identity = _identity(type(sampler).__name__.lower(), sampler, file=_stat(Path(source)))
        data = _grid_data(sampler, identity)
    elif _same_method(sampler, SmallNORB, "sample_observations_from_factors"):
        data = _smallnorb_data(sampler)
    elif _same_method(sampler, FactorGrid, "sample_observations_from_factors", "_apply") and not sampler._observe_takes_rng:
        identity = None
        if sampler._observe is None:
            identity = _identity("factor_grid", sampler)
        elif type(sampler) in (LinearMixing, Rotation):
            identity = _identity("linear_mixing", sampler, matrix=hashlib.sha256(
                np.ascontiguousarray(sampler.matrix, dtype=np.float64).tobytes()).hexdigest(),
                shape=list(sampler.matrix.shape))
        data = _grid_data(sampler, identity)
    if data is None or not 0 < data.n_observations <= MAX_TABLE_ROWS:
        return None
    return data


# ---- the table ------------------------------------------------------------------------------------------
def tables_dir(override: str | os.PathLike | None = None, *, create: bool = True) -> Path:
    """Where tables on disk live: `override`, else `$DISMETRICS_CACHE/tables`, else
    `~/.cache/dismetrics/tables`."""
    from .data._common import cache_dir

    if override is not None:
        path = Path(override)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path
    path = cache_dir(create=create) / "tables"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            hasher.update(block)
    return hasher.hexdigest()


class RepresentationTable:
    """The codes of every observation of an indexed data set, each encoded at most once.

    Pass it wherever a representation goes, with its sampler: `evaluate(table, sampler)`,
    `beta_vae_score(table, sampler)`, `factor_vae_score(table, sampler)`; they draw indices and the table
    answers. Given a plain encoder, those functions build an in-memory table for the call by themselves
    (`encoding="auto"`); build one yourself to share it between calls or keep it on disk.

    Parameters
    ----------
    representation : callable, torch.nn.Module, path or Representation
        The encoder (see [`as_representation`][dismetrics.representation.as_representation]). Its mode
        (`"mean"` / `"sampled"`) and sampling seed are kept: the table stores means and log-variances, and
        the sampled codes draw their noise per use, as without a table.
    sampler : GroundTruthSampler
        An indexed data set ([`indexed_data`][dismetrics.table.indexed_data] is not None).
    fill : {"lazy", "eager"}, default "lazy"
        `"lazy"`: rows are encoded when first looked up. `"eager"`: the whole data set now, in chunks
        of `chunk_size`, with a progress bar and its time estimate.
    cache_dir : str, path or None, default None
        Keep the table on disk in this directory (see [`tables_dir`][dismetrics.table.tables_dir] for the
        usual place), reused by later runs with the same data set and encoder digest. Needs an encoder
        with a digest and a data set with an identity; otherwise a `ValueError`. None: memory only.
    chunk_size : int, default 8192
        Observations per call of the encoder while filling.
    progress : bool or None, default None
        Progress bar of the eager fill; None shows it when stderr is a terminal.

    Attributes
    ----------
    encoded : int
        Observations this object has encoded (0 when every lookup was answered from the table).
    looked_up : int
        Rows it has answered.
    path : pathlib.Path or None
        The `.npy` file on disk, or None.
    loaded_rows : int
        Rows that were already filled in the file it read (0 without one).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> sampler = FactorGrid([4, 5])
    >>> table = RepresentationTable(lambda x: 2.0 * x, sampler)
    >>> mean, logvar = table.encode_factors(np.array([[1, 2], [1, 2], [3, 0]]), np.random.default_rng(0))
    >>> mean.tolist(), logvar, table.encoded
    ([[2.0, 4.0], [2.0, 4.0], [6.0, 0.0]], None, 2)
    """

    def __init__(self, representation, sampler, *, fill: str = "lazy", cache_dir: str | os.PathLike | None = None,
                 chunk_size: int = DEFAULT_FILL_CHUNK, progress: bool | None = None) -> None:
        fill = check_choice(fill, name="fill", choices=("lazy", "eager"))
        self.representation: Representation = as_representation(representation)
        self.sampler = sampler
        data = indexed_data(sampler)
        if data is None:
            raise ValueError(
                f"{type(sampler).__name__} is not a finite indexed data set (its observations are drawn with noise, "
                f"it has more than {MAX_TABLE_ROWS:,} of them, or it does not say how they are indexed): a "
                "representation table needs one; encode directly (encoding='direct').")
        self.data = data
        self.chunk_size = check_positive_int(chunk_size, name="chunk_size")
        self.progress = progress
        self.encoded = 0
        self.looked_up = 0
        self.loaded_rows = 0
        self.path: Path | None = None
        self.notes: list[str] = []
        self._values: np.ndarray | None = None  # (n, k, d), NaN rows not yet encoded
        self._filled: np.ndarray | None = None  # (n,) bool
        self._dirty = False
        if cache_dir is not None:
            digest = self.representation.digest()
            if digest is None or data.identity is None:
                missing = "the encoder has no digest (a plain callable)" if digest is None else \
                    f"the data set ({type(sampler).__name__}) has no stable identity"
                raise ValueError(f"a representation table on disk needs an identified encoder and data set, but "
                                 f"{missing}; use cache_dir=None (a table in memory).")
            dataset_key = hashlib.sha256(data.identity.encode()).hexdigest()[:16]
            self.path = Path(tables_dir(cache_dir)) / f"table-{dataset_key}-{digest[:32]}.npy"
            self._load()
        if fill == "eager":
            self.fill()

    def __repr__(self) -> str:
        return (f"RepresentationTable({self.representation.name!r}, {self.data.n_observations:,} observations, "
                f"{self.n_filled:,} filled, path={None if self.path is None else str(self.path)!r})")

    # ---- state --------------------------------------------------------------------------------------
    @property
    def n_observations(self) -> int:
        return self.data.n_observations

    @property
    def n_filled(self) -> int:
        """Rows encoded so far (or read from disk)."""
        return 0 if self._filled is None else int(np.count_nonzero(self._filled))

    @property
    def has_logvar(self) -> bool | None:
        """Whether the encoder gives log-variances (None before the first row is encoded)."""
        return None if self._values is None else self._values.shape[1] == 2

    @property
    def mode(self) -> str:
        return self.representation.mode

    @property
    def _dismetrics_representation(self) -> Representation:
        """What [`as_representation`][dismetrics.representation.as_representation] makes of a table: its
        representation (a metric that knows no tables encodes directly)."""
        return self.representation

    def _meta(self, values: np.ndarray) -> dict[str, Any]:
        return {"format": TABLE_FORMAT, "dataset": self.data.identity, "encoder_digest": self.representation.digest(),
                "shape": list(values.shape), "dtype": values.dtype.str}

    def _load(self) -> None:
        """Read the file at `self.path` if it is this table's; otherwise note why it is ignored."""
        if self.path is None:  # kept in memory only
            return
        meta_path = self.path.with_suffix(".json")
        if not self.path.exists() and not meta_path.exists():
            return
        try:
            meta = json.loads(meta_path.read_text())
            values = np.load(self.path, mmap_mode="c", allow_pickle=False)
            expected = self._meta(values)
            stored = {key: meta.get(key) for key in expected}
            if stored != expected or values.ndim != 3 or values.shape[0] != self.n_observations \
                    or values.shape[1] not in (1, 2) or values.dtype.kind != "f":
                raise ValueError("it belongs to another data set or encoder, or has another shape")
            if meta.get("sha256") != _sha256_file(self.path):
                raise ValueError("its checksum does not match (a partial or altered file)")
        except (OSError, ValueError) as error:
            self.notes.append(f"representation table {self.path} ignored and replaced: {error}")
            return
        self._values = values
        self._filled = ~np.isnan(values[:, 0, 0])
        self.loaded_rows = int(np.count_nonzero(self._filled))

    def save(self) -> Path | None:
        """Write the table to its file (atomically), if it is kept on disk and has new rows; returns the path."""
        if self.path is None or self._values is None or not self._dirty:
            return self.path
        from .data._common import write_npy_atomic

        values, filled = self._values, self._filled
        assert filled is not None  # set together with the values

        def copy(out):
            step = 65536
            for start in range(0, values.shape[0], step):
                block = np.array(values[start:start + step])
                block[~filled[start:start + step]] = np.nan
                out[start:start + step] = block

        write_npy_atomic(self.path, values.shape, values.dtype, copy)
        meta = {**self._meta(values), "sha256": _sha256_file(self.path), "rows_filled": int(np.count_nonzero(filled)),
                "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.json.tmp")
        try:
            tmp.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
            os.replace(tmp, self.path.with_suffix(".json"))
        finally:
            if tmp.exists():
                tmp.unlink()
        self._dirty = False
        return self.path

    # ---- filling ------------------------------------------------------------------------------------
    def _store(self, index: np.ndarray, mean: np.ndarray, logvar: np.ndarray | None) -> None:
        k = 1 if logvar is None else 2
        dtype = self.representation.output_dtype or np.dtype(np.float64)
        if self._values is None:
            self._values = np.empty((self.n_observations, k, mean.shape[1]), dtype=dtype)
            self._filled = np.zeros(self.n_observations, dtype=bool)
        elif self._values.shape[1] != k or self._values.shape[2] != mean.shape[1]:
            raise ValueError(
                f"representation {self.representation.name!r} returned {'no ' if logvar is None else ''}log-variances "
                f"and {mean.shape[1]} dims, but its table holds {self._values.shape[2]} dims "
                f"{'with' if self._values.shape[1] == 2 else 'without'} log-variances; an encoder must always give "
                "the same outputs.")
        elif np.dtype(dtype).itemsize > self._values.dtype.itemsize:  # outputs no longer fit exactly: widen
            self._values = self._values.astype(dtype)
        assert self._values is not None and self._filled is not None  # allocated above
        self._values[index, 0] = mean
        if logvar is not None:
            self._values[index, 1] = logvar
        self._filled[index] = True
        self._dirty = True
        self.encoded += len(index)

    def _encode_rows(self, index: np.ndarray, bar=None) -> None:
        for start in range(0, index.size, self.chunk_size):
            part = index[start:start + self.chunk_size]
            mean, logvar = self.representation.encode(self.data.observations(part))
            self._store(part, mean, logvar)
            if bar is not None:
                bar.update(part.size)

    def fill(self) -> "RepresentationTable":
        """Encode every row not filled yet (in chunks, with a progress bar and time estimate); saves the table
        when it is kept on disk. Returns the table."""
        missing = np.arange(self.n_observations) if self._filled is None else np.flatnonzero(~self._filled)
        with progress_bar(total=int(missing.size), desc="encoding the data set", progress=self.progress) as bar:
            self._encode_rows(missing, bar)
        self.save()
        return self

    # ---- lookups ------------------------------------------------------------------------------------
    def lookup(self, index) -> tuple[np.ndarray, np.ndarray | None]:
        """`(mean, logvar)` (float64, logvar None without log-variances) of the observations at `index`,
        encoding the rows not filled yet."""
        index = np.asarray(index, dtype=np.int64)
        if index.ndim != 1 or index.size == 0:
            raise ValueError(f"index must be a non-empty 1-D array of observation indices; got shape {index.shape}.")
        if index.min() < 0 or index.max() >= self.n_observations:
            raise ValueError(f"observation indices must be in [0, {self.n_observations}); got "
                             f"[{index.min()}, {index.max()}].")
        missing = index if self._filled is None else index[~self._filled[index]]
        if missing.size:
            self._encode_rows(np.unique(missing))
        assert self._values is not None  # every index is filled now
        rows = np.asarray(self._values[index])  # a plain array, also when the table is memory-mapped
        self.looked_up += index.size
        mean = rows[:, 0].astype(np.float64)
        logvar = rows[:, 1].astype(np.float64) if rows.shape[1] == 2 else None
        return mean, logvar

    def encode_factors(self, factors, rng) -> tuple[np.ndarray, np.ndarray | None]:
        """`(mean, logvar)` of the observations of `factors`, drawn with `rng` exactly as the sampler draws
        them."""
        return self.lookup(self.data.indices(factors, rng))

    def summary(self) -> dict[str, Any]:
        """What the table did: `path` (str or None), `encoded`, `loaded_rows`, `looked_up`, `notes` (files
        ignored, and why) and `text`, one line saying all of it."""
        where = "in memory" if self.path is None else str(self.path)
        text = (f"representation table ({where}): {self.encoded:,} observations encoded, {self.loaded_rows:,} rows "
                f"read from disk, {self.looked_up:,} codes looked up")
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return {"path": None if self.path is None else str(self.path), "encoded": self.encoded,
                "loaded_rows": self.loaded_rows, "looked_up": self.looked_up, "notes": list(self.notes), "text": text}


# ---- how a metric gets its codes: the one chunked-encoding path ----------------------------------------
class Encoding:
    """How a metric turns drawn factor vectors into codes: through a table or by encoding the observations.

    `path` is `"table"` or `"direct"` (recorded in the results' params as `encoding`). Build it with
    [`resolve_encoding`][dismetrics.table.resolve_encoding].
    """

    def __init__(self, representation: Representation, sampler, table: RepresentationTable | None) -> None:
        self.representation = representation
        self.sampler = sampler
        self.table = table

    @property
    def path(self) -> str:
        return "direct" if self.table is None else "table"

    @property
    def mode(self) -> str:
        return self.representation.mode

    def __repr__(self) -> str:
        return f"Encoding({self.representation!r}, path={self.path!r})"

    @property
    def _dismetrics_representation(self) -> Representation:
        """What [`as_representation`][dismetrics.representation.as_representation] makes of this object: its
        representation, so that a metric of your own that takes a representation gets one."""
        return self.representation

    def encode(self, factors: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """`(mean, logvar)` of the observations of one chunk of factor vectors (drawn with `rng` as the sampler
        draws them). Takes factors, not observations: [`as_representation`][dismetrics.representation.as_representation]
        of an encoding gives its representation, whose `encode` takes observations."""
        if self.table is not None:
            return self.table.encode_factors(factors, rng)
        return self.representation.encode(self.sampler.sample_observations_from_factors(factors, rng))

    encode_factors = encode

    def chunks(self, factors: np.ndarray, rng: np.random.Generator, *, chunk_size: int, progress: bool | None = False,
               desc: str | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """`(mean, logvar)` of `factors` chunk by chunk (`chunk_size` rows each, in order)."""
        step = check_positive_int(chunk_size, name="chunk_size")
        starts = range(0, factors.shape[0], step)
        for start in progress_bar(starts, total=len(starts), desc=desc, progress=progress):
            yield self.encode_factors(factors[start:start + step], rng)

    def codes(self, factors: np.ndarray, rng: np.random.Generator, *, chunk_size: int, progress: bool | None = False,
              desc: str | None = None) -> Iterator[np.ndarray]:
        """The codes of the representation's mode, chunk by chunk (sampled codes draw their noise per chunk
        from the representation's own generator, as the representation does when called)."""
        for mean, logvar in self.chunks(factors, rng, chunk_size=chunk_size, progress=progress, desc=desc):
            yield self.representation.codes_from(mean, logvar)

    def encode_all(self, factors: np.ndarray, rng: np.random.Generator, *, chunk_size: int
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """`(mean, logvar)` of every factor vector (the chunks concatenated)."""
        means: list[np.ndarray] = []
        logvars: list[np.ndarray | None] = []
        for mean, logvar in self.chunks(factors, rng, chunk_size=chunk_size):
            means.append(mean)
            logvars.append(logvar)
        present = [lv for lv in logvars if lv is not None]
        return np.concatenate(means), (np.concatenate(present) if len(present) == len(logvars) else None)


def _same_data(a, b) -> bool:
    if a is b:
        return True
    da, db = indexed_data(a), indexed_data(b)
    return da is not None and db is not None and da.identity is not None and da.identity == db.identity


def resolve_encoding(representation, sampler, encoding: str = "auto") -> Encoding:
    """The [`Encoding`][dismetrics.table.Encoding] a metric uses.

    Parameters
    ----------
    representation : callable, torch.nn.Module, path, Representation, RepresentationTable or Encoding
        A table (or an encoding from `evaluate`) is used as is; anything else is wrapped by
        [`as_representation`][dismetrics.representation.as_representation].
    sampler : GroundTruthSampler
        The data set; a table must have been built for it.
    encoding : {"auto", "table", "direct"}, default "auto"
        `"auto"`: the given table, or a new in-memory table when the data set is indexed, else direct.
        `"table"`: the same, but a data set without an index is a `ValueError`. `"direct"`: encode the
        drawn observations every time (a given table's encoder is used without its rows).

    Returns
    -------
    Encoding
    """
    encoding = check_choice(encoding, name="encoding", choices=ENCODING_CHOICES)
    table = None
    if isinstance(representation, Encoding):
        rep, table = representation.representation, representation.table
        same = representation.sampler is sampler or _same_data(representation.sampler, sampler)
        if same and encoding == "auto":  # evaluate's choice, handed to its metrics, stands
            return representation
        if not same:
            table = None
    elif isinstance(representation, RepresentationTable):
        rep, table = representation.representation, representation
        if not _same_data(representation.sampler, sampler):
            raise ValueError("this representation table was built for another data set than the sampler given; "
                             "build one for this sampler (RepresentationTable(representation, sampler)).")
    else:
        rep = as_representation(representation)
    if encoding == "direct":
        return Encoding(rep, sampler, None)
    if table is None and indexed_data(sampler) is not None:
        table = RepresentationTable(rep, sampler)
    if table is None and encoding == "table":
        raise ValueError(f"encoding='table' needs a finite indexed data set; {type(sampler).__name__} is not one "
                         "(see dismetrics.table.indexed_data). Use encoding='auto' or 'direct'.")
    return Encoding(rep, sampler, table)


EAGER_ROWS = 50_000
"""`dismetrics score` fills a table on disk whole when the data set has at most this many observations
(SmallNORB, Cars3D: seconds), or when the run draws at least as many observations as the data set has."""


def planned_observations(metrics="all", exclude=(), *, n: int, n_test: int, repeats: int, metric_params=None,
                         preset: str = "disentanglement_lib") -> int:
    """How many observations an `evaluate` run with these settings draws (with repeats): `n` per repeat for
    the sample metrics and unsupervised scores (and `n_test` when one of them takes a test split), and the
    groups of the intervention metrics (beta-VAE score: points x 2 x batch; FactorVAE score: variance points
    + votes x batch).

    Examples
    --------
    >>> planned_observations(["mig", "beta_vae", "factor_vae"], n=10_000, n_test=5_000, repeats=1)
    2900000
    """
    from .evaluate import _select
    from .metrics.presets import preset_params
    from .metrics.registry import get_metric

    names = _select(metrics, exclude)
    metric_params = dict(metric_params or {})
    specs = [get_metric(name) for name in names]
    total = n if any(spec.kind != "intervention" for spec in specs) else 0
    total += n_test if any(spec.kind == "sample" and spec.takes_test for spec in specs) else 0
    sizes = {"beta_vae": ("batch_size", "n_train", "n_eval"),
             "factor_vae": ("batch_size", "n_train", "n_eval", "n_variance")}
    for name in names:
        if name not in sizes:
            continue
        given = metric_params.get(name) or {}
        p = preset_params(preset, name, **{key: given.get(key) for key in sizes[name]})
        points = int(p["n_train"]) + int(p["n_eval"])
        total += points * 2 * int(p["batch_size"]) if name == "beta_vae" else \
            int(p["n_variance"]) + points * int(p["batch_size"])
    return int(total) * int(repeats)


def scoring_table(representation, sampler, *, planned: int | None = None) -> RepresentationTable | None:
    """The on-disk table `dismetrics score` reads and extends, in [`tables_dir`][dismetrics.table.tables_dir]
    (one file per encoder digest and data set, shared by every run and every settings key), or None when the
    encoder has no digest, the data set no identity, or the cache directory cannot be made (then
    `evaluate` builds a table in memory, as for any call).

    A table on disk is filled whole (once; later runs, whatever their metrics and seeds, encode nothing): it is
    used when the data set has at most [`EAGER_ROWS`][dismetrics.table.EAGER_ROWS] observations or the run will
    draw at least as many (`planned`, see [`planned_observations`][dismetrics.table.planned_observations]; None
    counts as that many), or when an earlier run left a file. A smaller run on a large data set gets None
    (a table in memory for the run, filled lazily: writing a mostly empty file of the whole data set's size
    for it would cost more than it saves)."""
    rep = as_representation(representation)
    data = indexed_data(sampler)
    if data is None or data.identity is None or rep.digest() is None:
        return None
    whole = data.n_observations <= EAGER_ROWS or planned is None or planned >= data.n_observations
    try:
        table = RepresentationTable(rep, sampler, cache_dir=tables_dir(), progress=False)  # as scoring: no bars
    except OSError:
        return None
    if table.loaded_rows == 0 and not whole:
        return None
    table.fill()
    return table
